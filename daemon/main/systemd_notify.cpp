#include "main/systemd_notify.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <string>

#if defined(TK_HAVE_SYSTEMD)
#include <systemd/sd-daemon.h>
#endif

namespace tk::daemon {

namespace {

#if defined(TK_HAVE_SYSTEMD)
// CLOCK_MONOTONIC in microseconds, as RELOADING=1 wants it (MONOTONIC_USEC=).
unsigned long long monotonicMicroseconds() {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<unsigned long long>(now.tv_sec) * 1000000ULL +
           static_cast<unsigned long long>(now.tv_nsec) / 1000ULL;
}
#endif

}  // namespace

SystemdNotifier::SystemdNotifier() {
#if defined(TK_HAVE_SYSTEMD)
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
        interval_ = std::chrono::microseconds(usec);
    }
#endif
}

SystemdNotifier::~SystemdNotifier() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    if (watchdog_.joinable()) {
        watchdog_.join();
    }
}

void SystemdNotifier::send([[maybe_unused]] const std::string& state) {
#if defined(TK_HAVE_SYSTEMD)
    const int result = sd_notify(0, state.c_str());
    if (result < 0) {
        spdlog::warn("cannot notify systemd ({}): error {}", state.substr(0, state.find('\n')),
                     -result);
    }
#endif
}

void SystemdNotifier::ready(const std::string& status) {
    send("READY=1\nSTATUS=" + status);
}

void SystemdNotifier::reloading() {
#if defined(TK_HAVE_SYSTEMD)
    send("RELOADING=1\nSTATUS=reloading the configuration\nMONOTONIC_USEC=" +
         std::to_string(monotonicMicroseconds()));
#endif
}

void SystemdNotifier::reloaded(const std::string& status) {
    send("READY=1\nSTATUS=" + status);
}

void SystemdNotifier::stopping() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
    if (watchdog_.joinable()) {
        watchdog_.join();
    }
    send("STOPPING=1\nSTATUS=stopping");
}

void SystemdNotifier::startWatchdog(std::function<bool(std::chrono::milliseconds)> healthy) {
    if (interval_.count() == 0 || watchdog_.joinable()) {
        return;
    }
    watchdog_ = std::thread([this, healthy = std::move(healthy)] { watchdogLoop(healthy); });
}

void SystemdNotifier::watchdogLoop(std::function<bool(std::chrono::milliseconds)> healthy) {
    using namespace std::chrono;
    const auto period = duration_cast<milliseconds>(interval_) / 3;
    const auto checkTimeout = std::clamp(duration_cast<milliseconds>(interval_) / 4,
                                         milliseconds(50), milliseconds(2000));
    bool wasHealthy = true;
    std::unique_lock lock(mutex_);
    while (!stop_) {
        lock.unlock();
        const bool ok = healthy(checkTimeout);
        if (ok) {
            send("WATCHDOG=1");
        }
        if (ok != wasHealthy) {
            if (ok) {
                spdlog::info("liveness check passes again; watchdog pings resumed");
            } else {
                spdlog::error(
                    "liveness check failed: watchdog pings withheld (systemd restarts the "
                    "service when this lasts {} ms)",
                    duration_cast<milliseconds>(interval_).count());
            }
            wasHealthy = ok;
        }
        lock.lock();
        wake_.wait_for(lock, period, [this] { return stop_; });
    }
}

}  // namespace tk::daemon
