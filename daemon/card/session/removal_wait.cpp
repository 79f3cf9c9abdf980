#include "card/session/removal_wait.hpp"

#include <condition_variable>
#include <mutex>

#include "pcsc/reader_monitor.hpp"

namespace tk::card {

bool waitForCardRemoval(const std::string& reader, std::chrono::milliseconds timeout) {
    std::mutex mutex;
    std::condition_variable changed;
    bool removed = false;
    bool serviceGone = false;
    pcsc::ReaderMonitor monitor(
        [&](const pcsc::ReaderEvent& event) {
            using Type = pcsc::ReaderEvent::Type;
            const bool gone =
                (event.type == Type::CardRemoved || event.type == Type::ReaderRemoved) &&
                event.reader == reader;
            const bool down = event.type == Type::ServiceUnavailable;
            if (gone || down) {
                {
                    std::lock_guard lock(mutex);
                    removed = removed || gone;
                    serviceGone = serviceGone || down;
                }
                changed.notify_all();
            }
        },
        [&reader](std::string_view name) { return name == reader; });
    monitor.start();
    std::unique_lock lock(mutex);
    changed.wait_for(lock, timeout, [&] { return removed || serviceGone; });
    const bool result = removed;
    lock.unlock();
    monitor.stop();
    return result;
}

}  // namespace tk::card
