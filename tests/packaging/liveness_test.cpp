// The checks behind the daemon's WATCHDOG=1: an answered GET /health, and card work that
// settles.
#include "main/liveness.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "server/server.hpp"
#include "service/api.hpp"

namespace {

using namespace std::chrono_literals;

// A TCP listener on loopback that accepts (the kernel's backlog) but never answers: a network
// thread that hangs looks like this from outside.
class SilentListener {
  public:
    SilentListener() {
        fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
        listen(fd_, 8);
        socklen_t length = sizeof(address);
        getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
        port_ = ntohs(address.sin_port);
    }
    ~SilentListener() { close(fd_); }
    std::uint16_t port() const { return port_; }

  private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
};

// The smallest service the server needs: no readers, every call answered at once.
class IdleApi : public tk::service::Api {
  public:
    void call(const tk::service::CallContext&, std::string_view, const nlohmann::json&,
              tk::service::Completion done) override {
        done(nlohmann::json::object(), std::nullopt);
    }
    void connectionOpened(std::uint64_t, tk::service::EventSink) override {}
    void connectionClosed(std::uint64_t) override {}
    int readerCount() const override { return 0; }
};

TEST(Liveness, ProbeHealth_ServingServer_IsHealthy) {
    std::uint16_t port = 0;
    {
        SilentListener probe;  // a port that was free a moment ago
        port = probe.port();
    }
    IdleApi api;
    tk::server::ServerSettings settings;
    settings.listeners.front().port = port;
    settings.version = "0.0.0";
    tk::server::Server server(
        api, settings, [](std::string_view) { return std::optional<tk::service::Capabilities>(); });
    server.start();
    EXPECT_TRUE(tk::daemon::probeHealth(server.endpoints().front(), 2s));
    server.stop(0ms);
}

TEST(Liveness, ProbeHealth_ListenerThatNeverAnswers_FailsWithinTimeout) {
    SilentListener listener;
    tk::server::Endpoint endpoint{"127.0.0.1", listener.port(), std::nullopt, std::nullopt};
    const auto before = std::chrono::steady_clock::now();
    EXPECT_FALSE(tk::daemon::probeHealth(endpoint, 300ms));
    const auto took = std::chrono::steady_clock::now() - before;
    EXPECT_GE(took, 250ms);
    EXPECT_LT(took, 2s);
}

TEST(Liveness, ProbeHealth_NothingListening_Fails) {
    std::uint16_t port = 0;
    {
        SilentListener listener;
        port = listener.port();
    }
    tk::server::Endpoint endpoint{"127.0.0.1", port, std::nullopt, std::nullopt};
    EXPECT_FALSE(tk::daemon::probeHealth(endpoint, 500ms));
}

TEST(Liveness, CardProgress_UnsettledLongerThanTolerance_IsUnhealthy) {
    tk::daemon::CardProgress progress(200ms);
    EXPECT_TRUE(progress.check(true));
    EXPECT_TRUE(progress.check(false));  // busy for a moment: fine
    std::this_thread::sleep_for(300ms);
    EXPECT_FALSE(progress.check(false));  // busy for longer than the tolerance
    EXPECT_TRUE(progress.check(true));    // settled again
}

}  // namespace
