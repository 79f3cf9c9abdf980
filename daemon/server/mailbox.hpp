#pragma once

#include <deque>
#include <functional>
#include <mutex>

struct lws_context;

namespace tk::server {

// Work handed to the network thread from any thread (completions, events, reloads). post()
// queues the task and wakes the libwebsockets event loop with lws_cancel_service(); the
// network thread runs what take() returns when LWS_CALLBACK_EVENT_WAIT_CANCELLED arrives.
// Shared by the server and every completion it gave out, so a completion that arrives after
// the server stopped finds a closed mailbox instead of a destroyed context.
class Mailbox {
  public:
    void open(lws_context* context);
    // Drops queued tasks and refuses new ones; lws_cancel_service is never called again.
    void close();

    // False when the mailbox is closed (the task is dropped).
    bool post(std::function<void()> task);
    std::deque<std::function<void()>> take();

  private:
    std::mutex mutex_;
    lws_context* context_ = nullptr;
    std::deque<std::function<void()>> tasks_;
};

}  // namespace tk::server
