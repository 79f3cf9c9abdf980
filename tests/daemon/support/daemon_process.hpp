#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace tk::test {

// The daemon (or any program) run as a child process for a test; its stdout and stderr go to
// a log file the test can read. Killed (SIGKILL) when the object goes while it still runs.
class ChildProcess {
  public:
    ChildProcess(const std::string& binary, const std::vector<std::string>& args,
                 std::string logPath);
    ~ChildProcess();
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    // True once the log holds `needle` (false on timeout or when the process ended first).
    bool waitForLog(const std::string& needle, std::chrono::milliseconds timeout);
    std::string log() const;
    void signal(int number);
    // The exit status (128 + signal for a signal), or nullopt when it still runs at timeout.
    std::optional<int> waitExit(std::chrono::milliseconds timeout);
    pid_t pid() const { return pid_; }

  private:
    pid_t pid_ = -1;
    std::string logPath_;
    std::optional<int> status_;
};

}  // namespace tk::test
