#include "server/mailbox.hpp"

#include <libwebsockets.h>

namespace tk::server {

void Mailbox::open(lws_context* context) {
    std::lock_guard lock(mutex_);
    context_ = context;
}

void Mailbox::close() {
    std::deque<std::function<void()>> dropped;
    {
        std::lock_guard lock(mutex_);
        context_ = nullptr;
        dropped.swap(tasks_);
    }
    // Destroyed outside the lock: a task's captures may post again.
}

bool Mailbox::post(std::function<void()> task) {
    std::lock_guard lock(mutex_);
    if (context_ == nullptr) {
        return false;
    }
    tasks_.push_back(std::move(task));
    // Under the lock, so close() cannot destroy the context between the check and the call.
    lws_cancel_service(context_);
    return true;
}

std::deque<std::function<void()>> Mailbox::take() {
    std::lock_guard lock(mutex_);
    std::deque<std::function<void()>> tasks;
    tasks.swap(tasks_);
    return tasks;
}

}  // namespace tk::server
