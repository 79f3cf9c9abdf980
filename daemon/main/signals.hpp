#pragma once

namespace tk::daemon {

// SIGTERM, SIGINT and SIGHUP as events read from a signalfd, so that no code runs in a signal
// handler. Construct it first in main, before any thread starts: the signals are blocked in
// the constructing thread and every thread started after it inherits that mask.
class SignalWaiter {
  public:
    SignalWaiter();
    ~SignalWaiter();
    SignalWaiter(const SignalWaiter&) = delete;
    SignalWaiter& operator=(const SignalWaiter&) = delete;

    // Blocks until one of the signals arrives; returns its number.
    int wait();

  private:
    int fd_ = -1;
};

}  // namespace tk::daemon
