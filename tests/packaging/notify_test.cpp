// tenderkeyd as systemd runs a Type=notify service with WatchdogSec=: the test owns the
// notification socket (NOTIFY_SOCKET) and checks the messages the daemon sends on it.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/daemon_process.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kWatchdog = 900ms;

std::uint16_t freePort() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    socklen_t length = sizeof(address);
    getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    close(fd);
    return ntohs(address.sin_port);
}

// The service manager's end: a unix datagram socket, one message per datagram.
class NotifySocket {
  public:
    NotifySocket() {
        dir_ = std::filesystem::temp_directory_path() /
               ("tk-notify-" + std::to_string(getpid()) + "-" + std::to_string(counter_++));
        std::filesystem::create_directories(dir_);
        path_ = (dir_ / "notify").string();
        fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, path_.c_str(), sizeof(address.sun_path) - 1);
        if (bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
            throw std::runtime_error("cannot bind " + path_);
        }
    }
    ~NotifySocket() {
        close(fd_);
        std::filesystem::remove_all(dir_);
    }
    const std::string& path() const { return path_; }

    // The next message, or nullopt when none comes within `timeout`.
    std::optional<std::string> next(std::chrono::milliseconds timeout) {
        pollfd entry{fd_, POLLIN, 0};
        if (poll(&entry, 1, static_cast<int>(timeout.count())) <= 0) {
            return std::nullopt;
        }
        char buffer[4096];
        const ssize_t n = recv(fd_, buffer, sizeof(buffer), 0);
        if (n < 0) {
            return std::nullopt;
        }
        return std::string(buffer, static_cast<std::size_t>(n));
    }

    // Waits for a message holding `line` (one of its newline-separated assignments); every
    // message read on the way is kept in `seen`.
    bool waitFor(const std::string& line, std::chrono::milliseconds timeout,
                 std::vector<std::string>* seen = nullptr) {
        const auto deadline = Clock::now() + timeout;
        while (Clock::now() < deadline) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            const auto message = next(left);
            if (!message) {
                return false;
            }
            if (seen != nullptr) {
                seen->push_back(*message);
            }
            if (("\n" + *message + "\n").find("\n" + line + "\n") != std::string::npos) {
                return true;
            }
        }
        return false;
    }

  private:
    static inline int counter_ = 0;
    std::filesystem::path dir_;
    std::string path_;
    int fd_ = -1;
};

class SystemdNotify : public ::testing::Test {
  protected:
    void start(bool watchdog) {
        port_ = freePort();
        setenv("NOTIFY_SOCKET", socket_.path().c_str(), 1);
        // Its own state directory, never the machine's /var/lib/tenderkey.
        setenv("STATE_DIRECTORY", (socket_.path() + "-state").c_str(), 1);
        if (watchdog) {
            setenv("WATCHDOG_USEC",
                   std::to_string(std::chrono::microseconds(kWatchdog).count()).c_str(), 1);
        }
        log_ = socket_.path() + ".log";
        daemon_ = std::make_unique<tk::test::ChildProcess>(
            TK_DAEMON_BINARY,
            std::vector<std::string>{"--config", "/dev/null", "--port", std::to_string(port_)},
            log_);
        unsetenv("NOTIFY_SOCKET");
        unsetenv("STATE_DIRECTORY");
        unsetenv("WATCHDOG_USEC");
    }

    std::string log() const { return daemon_ ? daemon_->log() : std::string(); }

    NotifySocket socket_;
    std::unique_ptr<tk::test::ChildProcess> daemon_;
    std::uint16_t port_ = 0;
    std::string log_;
};

TEST_F(SystemdNotify, Start_SendsReadyWithStatusOnceListening) {
    start(false);
    std::vector<std::string> seen;
    ASSERT_TRUE(socket_.waitFor("READY=1", 15s, &seen)) << log();
    EXPECT_NE(seen.back().find("STATUS=listening on ws://127.0.0.1:" + std::to_string(port_)),
              std::string::npos)
        << seen.back();
    EXPECT_NE(log().find("listening on"), std::string::npos) << log();
}

TEST_F(SystemdNotify, Watchdog_PingsWithinTheIntervalWhileHealthy) {
    start(true);
    ASSERT_TRUE(socket_.waitFor("READY=1", 15s)) << log();
    // Several pings in a row, each well inside WATCHDOG_USEC.
    for (int i = 0; i < 4; ++i) {
        const auto before = Clock::now();
        ASSERT_TRUE(socket_.waitFor("WATCHDOG=1", kWatchdog)) << "ping " << i << "\n" << log();
        EXPECT_LT(Clock::now() - before, kWatchdog);
    }
}

TEST_F(SystemdNotify, NoWatchdogRequested_SendsNoPings) {
    start(false);
    ASSERT_TRUE(socket_.waitFor("READY=1", 15s)) << log();
    EXPECT_FALSE(socket_.waitFor("WATCHDOG=1", 1500ms)) << log();
}

TEST_F(SystemdNotify, Sighup_SendsReloadingThenReadyAgain) {
    start(false);
    ASSERT_TRUE(socket_.waitFor("READY=1", 15s)) << log();
    daemon_->signal(SIGHUP);
    std::vector<std::string> seen;
    ASSERT_TRUE(socket_.waitFor("RELOADING=1", 5s, &seen)) << log();
    EXPECT_NE(seen.back().find("MONOTONIC_USEC="), std::string::npos) << seen.back();
    ASSERT_TRUE(socket_.waitFor("READY=1", 5s)) << log();
    EXPECT_TRUE(daemon_->waitForLog("configuration reloaded", 5s)) << log();
}

TEST_F(SystemdNotify, Sigterm_SendsStoppingAndExitsZero) {
    start(true);
    ASSERT_TRUE(socket_.waitFor("READY=1", 15s)) << log();
    daemon_->signal(SIGTERM);
    ASSERT_TRUE(socket_.waitFor("STOPPING=1", 5s)) << log();
    EXPECT_EQ(daemon_->waitExit(10s), 0) << log();
    // No ping after STOPPING=1: the watchdog thread ended first.
    EXPECT_FALSE(socket_.next(100ms).has_value());
}

}  // namespace
