#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "pcsc/context.hpp"
#include "pcsc/reader_event.hpp"

namespace tk::pcsc {

// Windows stops its Smart Card service when the last reader is removed and starts it when a
// reader arrives, so there "the service is not running" (SCARD_E_NO_SERVICE,
// SCARD_E_SERVICE_STOPPED) is the normal state of a machine without a reader. pcscd stays up
// without readers: there it means a failure.
#if defined(_WIN32)
inline constexpr bool kServiceStopsWithLastReader = true;
#else
inline constexpr bool kServiceStopsWithLastReader = false;
#endif

// Delays between attempts to reach pcscd again after it went away.
struct ServiceBackoff {
    std::chrono::milliseconds first{100};
    std::chrono::milliseconds max{1000};
    // A service that is not running is reported as an available service without readers
    // (ServiceAvailable, every reader removed) instead of ServiceUnavailable; the context is
    // still established again with the same back-off, so a reader that starts the service is
    // picked up.
    bool stoppedMeansNoReaders = kServiceStopsWithLastReader;
};

// Watches readers and cards on a thread of its own and reports every change as a ReaderEvent.
//
// The thread blocks in SCardGetStatusChange with an infinite timeout on every watched reader
// plus the PnP pseudo-reader `\\?PnP?\Notification` (reader hotplug). It does not poll: it
// wakes only when pcscd reports a change or when stop() cancels the wait (SCardCancel). A card
// pulled out and put back between two wake-ups is still seen, through pcscd's per-reader
// event counter (see card_presence.hpp).
//
// When pcscd goes away (stopped, crashed, restarted) the monitor reports ServiceUnavailable and
// then tries to open a new context with a back-off (first delay doubling up to max). This is
// the monitor's only retry loop, and it has to be one: without a context there is nothing to
// block on, and pcscd gives no signal when it is back. stop() interrupts the back-off at once.
// Once a context opens again the monitor reports ServiceAvailable and the readers and cards
// present then.
//
// The handler runs on the monitor thread, one event at a time, in order. It must return
// quickly (post the event to the consumer's own executor), must not throw (an exception ends
// the program), and must not call stop().
class ReaderMonitor {
  public:
    using EventHandler = std::function<void(const ReaderEvent&)>;
    // True for the readers to watch; readers it rejects are never reported. Empty: all.
    using ReaderFilter = std::function<bool(std::string_view readerName)>;

    explicit ReaderMonitor(EventHandler onEvent, ReaderFilter filter = {},
                           ServiceBackoff backoff = {});
    // Stops the thread if it runs.
    ~ReaderMonitor();
    ReaderMonitor(const ReaderMonitor&) = delete;
    ReaderMonitor& operator=(const ReaderMonitor&) = delete;
    ReaderMonitor(ReaderMonitor&&) = delete;
    ReaderMonitor& operator=(ReaderMonitor&&) = delete;

    // Starts the thread. Its first events describe the state found: ServiceAvailable, then
    // ReaderAdded and CardInserted for what is there (or ServiceUnavailable).
    void start();

    // Cancels the wait and joins the thread. No event is emitted after stop() returns.
    void stop();

  private:
    // Reader name -> its dwEventState from the last wake-up; 0 (unaware) before the first.
    using Readers = std::map<std::string, std::uint32_t>;

    void run();
    void watch(const Context& context, Readers& readers, bool& progressed);
    void syncReaders(const Context& context, Readers& readers);
    void forgetReaders(Readers& readers);
    void emit(const ReaderEvent& happened);

    bool attach(const Context& context);
    void detach();
    bool stopRequested();
    // Waits up to `delay`; true when stop() was called meanwhile.
    bool waitForStop(std::chrono::milliseconds delay);

    EventHandler onEvent_;
    ReaderFilter filter_;
    ServiceBackoff backoff_;

    std::mutex mutex_;
    std::condition_variable changed_;
    bool stopping_ = false;
    bool finished_ = false;
    const Context* active_ = nullptr;  // the context the thread may be blocked on
    std::thread thread_;
};

}  // namespace tk::pcsc
