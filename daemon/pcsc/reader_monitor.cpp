#include "pcsc/reader_monitor.hpp"

#include <algorithm>
#include <optional>
#include <set>
#include <vector>

#include "pcsc/card_presence.hpp"
#include "pcsc/detail/native.hpp"
#include "pcsc/detail/scard.hpp"

namespace tk::pcsc {
namespace {

// Compared case-insensitively by pcsc-lite; the Windows spelling works there too.
constexpr const char* kPnpNotification = "\\\\?PnP?\\Notification";

// How often stop() repeats SCardCancel until the thread has left its wait (see stop()).
constexpr std::chrono::milliseconds kCancelRepeat{20};

using Type = ReaderEvent::Type;

ReaderEvent event(Type type, std::string reader = {}, Bytes atr = {}, std::string detail = {}) {
    return ReaderEvent{type, std::move(reader), std::move(atr), std::move(detail)};
}

}  // namespace

ReaderMonitor::ReaderMonitor(EventHandler onEvent, ReaderFilter filter, ServiceBackoff backoff)
    : onEvent_(std::move(onEvent)), filter_(std::move(filter)), backoff_(backoff) {}

ReaderMonitor::~ReaderMonitor() {
    stop();
}

void ReaderMonitor::start() {
    std::lock_guard lock(mutex_);
    if (thread_.joinable()) {
        return;
    }
    stopping_ = false;
    finished_ = false;
    thread_ = std::thread([this] {
        run();
        {
            std::lock_guard done(mutex_);
            finished_ = true;
        }
        changed_.notify_all();
    });
}

void ReaderMonitor::stop() {
    std::unique_lock lock(mutex_);
    if (!thread_.joinable()) {
        return;
    }
    stopping_ = true;
    changed_.notify_all();
    // pcsc-lite's SCardCancel only reaches a call that is already waiting; one that arrives
    // while the thread is between two waits is dropped. So the cancel is repeated until the
    // thread confirms it has left; usually the first one is enough.
    while (!finished_) {
        if (active_ != nullptr) {
            try {
                active_->cancel();
            } catch (const Error&) {
                // The service is gone: the thread's wait ends by itself with that error, and
                // stopping_ keeps it from starting another.
            }
        }
        changed_.wait_for(lock, kCancelRepeat, [this] { return finished_; });
    }
    lock.unlock();
    thread_.join();
}

void ReaderMonitor::run() {
    Readers readers;
    auto delay = backoff_.first;
    bool unavailableReported = false;
    bool noReadersReported = false;  // stoppedMeansNoReaders: the stopped service reported
    // Reports a service that cannot be reached, once until it is back.
    const auto serviceGone = [&](const Error& e) {
        if (backoff_.stoppedMeansNoReaders && dynamic_cast<const ServiceNotRunning*>(&e)) {
            if (!noReadersReported) {
                emit(event(Type::ServiceAvailable));
                noReadersReported = true;
            }
            unavailableReported = false;
        } else if (!unavailableReported) {
            emit(event(Type::ServiceUnavailable, {}, {}, e.what()));
            unavailableReported = true;
            noReadersReported = false;
        }
    };
    while (!stopRequested()) {
        std::optional<Context> context;
        try {
            context.emplace();
        } catch (const Error& e) {
            serviceGone(e);
            if (waitForStop(delay)) {
                return;
            }
            delay = std::min(delay * 2, backoff_.max);
            continue;
        }
        if (!attach(*context)) {
            return;
        }
        unavailableReported = false;
        noReadersReported = false;
        emit(event(Type::ServiceAvailable));

        std::optional<ServiceNotRunning> stopped;
        std::string failure;
        bool progressed = false;
        try {
            watch(*context, readers, progressed);
        } catch (const ServiceNotRunning& e) {
            stopped = e;
        } catch (const Error& e) {
            failure = e.what();
        }
        detach();
        if (failure.empty() && !stopped) {
            return;  // stopped
        }
        forgetReaders(readers);
        if (stopped) {
            serviceGone(*stopped);
        } else {
            emit(event(Type::ServiceUnavailable, {}, {}, failure));
            unavailableReported = true;
        }
        // A context that failed straight away must not turn into a tight loop of events.
        delay = progressed ? backoff_.first : std::min(delay * 2, backoff_.max);
        if (waitForStop(delay)) {
            return;
        }
    }
}

void ReaderMonitor::watch(const Context& context, Readers& readers, bool& progressed) {
    std::uint32_t pnpState = SCARD_STATE_UNAWARE;
    std::vector<detail::ReaderState> states;
    while (!stopRequested()) {
        // Listing again after every wake-up keeps the view right even where the PnP entry
        // misses a change: pcsc-lite 1.9 only compares reader counts within one call, so a
        // reader that comes or goes between two calls shows up at the next wake-up (newer
        // pcsc-lite carries a reader-event counter in the PnP entry's upper 16 bits, which the
        // state fed back below passes on).
        syncReaders(context, readers);

        states.clear();
        for (const auto& [name, state] : readers) {
            states.push_back({.reader = name, .currentState = state, .eventState = 0, .atr = {}});
        }
        states.push_back(
            {.reader = kPnpNotification, .currentState = pnpState, .eventState = 0, .atr = {}});

        try {
            detail::waitStatusChange(context.handle(), states);
        } catch (const Cancelled&) {
            continue;  // by stop(): the loop condition ends the watch
        } catch (const UnknownReader&) {
            continue;  // a reader left between listing and waiting: list again
        }
        progressed = true;

        std::size_t i = 0;
        for (auto& [name, state] : readers) {
            const detail::ReaderState& seen = states[i++];
            if ((seen.eventState & SCARD_STATE_CHANGED) == 0) {
                continue;
            }
            const auto now = static_cast<std::uint32_t>(seen.eventState & ~SCARD_STATE_CHANGED);
            const CardPresenceChange change = cardPresenceChange(state, now);
            state = now;
            if (change.removed) {
                emit(event(Type::CardRemoved, name));
            }
            if (change.inserted) {
                emit(event(Type::CardInserted, name, seen.atr));
            }
        }
        pnpState = static_cast<std::uint32_t>(states[i].eventState & ~SCARD_STATE_CHANGED);
    }
}

void ReaderMonitor::syncReaders(const Context& context, Readers& readers) {
    std::vector<std::string> listed = context.listReaders();
    if (filter_) {
        std::erase_if(listed, [this](const std::string& name) { return !filter_(name); });
    }
    const std::set<std::string> present(listed.begin(), listed.end());
    for (auto it = readers.begin(); it != readers.end();) {
        if (present.contains(it->first)) {
            ++it;
            continue;
        }
        if (cardPresent(it->second)) {
            emit(event(Type::CardRemoved, it->first));
        }
        emit(event(Type::ReaderRemoved, it->first));
        it = readers.erase(it);
    }
    for (const std::string& name : listed) {
        if (readers.emplace(name, SCARD_STATE_UNAWARE).second) {
            emit(event(Type::ReaderAdded, name));
        }
    }
}

void ReaderMonitor::forgetReaders(Readers& readers) {
    for (const auto& [name, state] : readers) {
        if (cardPresent(state)) {
            emit(event(Type::CardRemoved, name));
        }
        emit(event(Type::ReaderRemoved, name));
    }
    readers.clear();
}

void ReaderMonitor::emit(const ReaderEvent& happened) {
    onEvent_(happened);
}

bool ReaderMonitor::attach(const Context& context) {
    std::lock_guard lock(mutex_);
    if (stopping_) {
        return false;
    }
    active_ = &context;
    return true;
}

void ReaderMonitor::detach() {
    std::lock_guard lock(mutex_);
    active_ = nullptr;
}

bool ReaderMonitor::stopRequested() {
    std::lock_guard lock(mutex_);
    return stopping_;
}

bool ReaderMonitor::waitForStop(std::chrono::milliseconds delay) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, delay, [this] { return stopping_; });
}

}  // namespace tk::pcsc
