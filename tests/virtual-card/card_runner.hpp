#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "apdu_log.hpp"
#include "control_server.hpp"
#include "fault.hpp"
#include "piv_card.hpp"
#include "vpcd_link.hpp"

namespace tk::vcard {

struct RunnerOptions {
    std::string host = "127.0.0.1";
    std::uint16_t port = vpcd::kDefaultPort;
    std::chrono::milliseconds connect_timeout{10000};
    std::chrono::milliseconds delay{0};
    Fault fault;
    std::filesystem::path control_path;   // empty: no control socket
    std::filesystem::path apdu_log_path;  // empty: no APDU log
    int signal_fd = -1;  // signalfd for SIGTERM/SIGINT (stop), SIGUSR1 (remove), SIGUSR2 (insert)
};

// Plugs the card into vpcd and serves it: one thread, one poll loop over the vpcd socket,
// the control socket, the signal fd and a wake-up fd.
class CardRunner {
  public:
    CardRunner(PivCard& card, RunnerOptions options);  // throws std::runtime_error
    CardRunner(const CardRunner&) = delete;
    CardRunner& operator=(const CardRunner&) = delete;
    CardRunner(CardRunner&&) = delete;
    CardRunner& operator=(CardRunner&&) = delete;
    ~CardRunner();

    // Returns the exit status: 0 after a stop request or signal, 1 when vpcd could not be
    // reached within the connect timeout.
    int run();
    // Safe from any thread or a signal handler.
    void request_stop();

    // One control-protocol command ("remove", "insert", "fault ...", "delay MS", "status").
    std::string handle_command(const std::string& line);

  private:
    using Clock = std::chrono::steady_clock;
    struct DelayedApdu {
        Bytes command;
        Clock::time_point due;
    };

    bool try_connect();
    void remove_card(const std::string& why);
    bool insert_card();
    void lost_connection(const std::string& why);
    void on_signal();
    void drain_frames();
    void handle_frame(Bytes payload);
    void answer(const Bytes& command);
    void send(ByteView payload);
    std::string status() const;

    PivCard& card_;
    RunnerOptions options_;
    ApduLog log_;
    std::unique_ptr<ControlServer> control_;
    int wake_fd_ = -1;

    bool stop_ = false;
    bool want_inserted_ = true;
    bool powered_ = false;
    std::optional<VpcdLink> link_;
    std::optional<Clock::time_point> initial_deadline_;
    Clock::time_point next_attempt_{};
    std::string last_connect_error_;
    std::optional<DelayedApdu> delayed_;
    std::uint64_t apdus_ = 0;
};

}  // namespace tk::vcard
