#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace tk::daemon {

// The daemon's side of systemd's service notification protocol (sd_notify(3)) for a
// Type=notify unit: READY=1 once it accepts connections, RELOADING=1 / READY=1 around a
// SIGHUP reload, STOPPING=1 on the way out, and WATCHDOG=1 while a liveness check passes.
//
// Without NOTIFY_SOCKET (not started by systemd) every call does nothing; in a build without
// libsystemd (TK_HAVE_SYSTEMD unset) the class is compiled to nothing at all.
class SystemdNotifier {
  public:
    SystemdNotifier();
    // Stops the watchdog thread.
    ~SystemdNotifier();
    SystemdNotifier(const SystemdNotifier&) = delete;
    SystemdNotifier& operator=(const SystemdNotifier&) = delete;

    void ready(const std::string& status);
    void reloading();
    void reloaded(const std::string& status);
    void stopping();

    // When the unit sets WatchdogSec= (WATCHDOG_USEC for this process), starts a thread that
    // runs `healthy(timeout)` every third of the interval and sends WATCHDOG=1 only when it
    // returns true; a daemon whose threads hang thus stops pinging and systemd restarts it.
    // `timeout` is how long one check may take (a quarter of the interval, at most 2 s).
    void startWatchdog(std::function<bool(std::chrono::milliseconds timeout)> healthy);

    // The interval systemd asked for; zero when there is no watchdog.
    std::chrono::microseconds watchdogInterval() const { return interval_; }

  private:
    void send(const std::string& state);
    void watchdogLoop(std::function<bool(std::chrono::milliseconds)> healthy);

    std::chrono::microseconds interval_{0};
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stop_ = false;
    std::thread watchdog_;
};

}  // namespace tk::daemon
