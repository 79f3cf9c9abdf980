#include "card_runner.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace tk::vcard {

namespace {
constexpr std::chrono::milliseconds kInitialRetry{100};
constexpr std::chrono::milliseconds kReconnectRetry{500};
constexpr std::chrono::milliseconds kMaxDelay{600000};
}  // namespace

CardRunner::CardRunner(PivCard& card, RunnerOptions options)
    : card_(card), options_(std::move(options)) {
    if (!options_.apdu_log_path.empty()) {
        log_ = ApduLog(options_.apdu_log_path);
    }
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0) {
        throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
    }
    if (!options_.control_path.empty()) {
        control_ = std::make_unique<ControlServer>(
            options_.control_path,
            [this](const std::string& line) { return handle_command(line); });
    }
}

CardRunner::~CardRunner() {
    ::close(wake_fd_);
}

void CardRunner::request_stop() {
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

bool CardRunner::try_connect() {
    std::optional<VpcdLink> link =
        VpcdLink::connect(options_.host, options_.port, last_connect_error_);
    if (!link) {
        return false;
    }
    link_ = std::move(link);
    initial_deadline_.reset();
    log_.event("inserted");
    return true;
}

void CardRunner::remove_card(const std::string& why) {
    want_inserted_ = false;
    delayed_.reset();
    if (link_) {
        link_.reset();  // closing the socket is what vpcd sees as removal
        card_.power_off();
        powered_ = false;
        log_.event("removed (" + why + ")");
    }
}

bool CardRunner::insert_card() {
    want_inserted_ = true;
    if (link_) {
        return true;
    }
    if (try_connect()) {
        return true;
    }
    next_attempt_ = Clock::now() + kReconnectRetry;
    return false;
}

void CardRunner::lost_connection(const std::string& why) {
    link_.reset();
    delayed_.reset();
    card_.power_off();
    powered_ = false;
    log_.event("vpcd-closed (" + why + ")");
    next_attempt_ = Clock::now() + kReconnectRetry;
}

void CardRunner::send(ByteView payload) {
    try {
        link_->send(payload);
    } catch (const std::runtime_error& e) {
        lost_connection(e.what());
    }
}

void CardRunner::answer(const Bytes& command) {
    ++apdus_;
    if (const std::optional<Bytes> instead = fault_answer(options_.fault, command)) {
        log_.apdu(command, *instead, "fault=" + options_.fault.describe());
        send(*instead);
        return;
    }
    Bytes response = card_.transmit(command);
    if (options_.fault.kind == Fault::Kind::Garbage ||
        options_.fault.kind == Fault::Kind::Truncate) {
        log_.apdu(command, response, "fault=" + options_.fault.describe());
        response = apply_fault(options_.fault, response);
    } else {
        log_.apdu(command, response);
    }
    send(response);
    wipe(response);
}

void CardRunner::handle_frame(Bytes payload) {
    if (payload.size() == 1) {
        switch (payload[0]) {
            case vpcd::kPowerOff:
                card_.power_off();
                powered_ = false;
                log_.event("power-off");
                return;
            case vpcd::kPowerOn:
                card_.power_on();
                powered_ = true;
                log_.event("power-on");
                return;
            case vpcd::kReset:
                card_.reset();
                powered_ = true;
                log_.event("reset");
                return;
            case vpcd::kGetAtr: {
                const ByteView atr = PivCard::atr();
                send(atr);
                return;
            }
            default: {
                char buf[32];
                std::snprintf(buf, sizeof buf, "unknown-control %02x", payload[0]);
                log_.event(buf);
                return;
            }
        }
    }
    if (payload.empty()) {
        return;
    }
    if (options_.fault.kind == Fault::Kind::RemoveOnIns && payload.size() >= 2 &&
        payload[1] == options_.fault.ins) {
        ++apdus_;
        log_.apdu(payload, {}, "fault=" + options_.fault.describe());
        const std::string why = "fault " + options_.fault.describe();
        options_.fault = Fault{};
        wipe(payload);
        remove_card(why);
        return;
    }
    if (options_.delay.count() > 0) {
        delayed_ = DelayedApdu{std::move(payload), Clock::now() + options_.delay};
        return;
    }
    answer(payload);
    wipe(payload);
}

void CardRunner::drain_frames() {
    while (link_ && !delayed_) {
        std::optional<Bytes> frame = link_->next_frame();
        if (!frame) {
            return;
        }
        handle_frame(std::move(*frame));
    }
}

void CardRunner::on_signal() {
    signalfd_siginfo info{};
    while (::read(options_.signal_fd, &info, sizeof info) == sizeof info) {
        switch (info.ssi_signo) {
            case SIGUSR1:
                remove_card("SIGUSR1");
                break;
            case SIGUSR2:
                insert_card();
                break;
            default:
                stop_ = true;
                break;
        }
    }
}

std::string CardRunner::status() const {
    const CardState& s = card_.state();
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "ok inserted=%d connected=%d powered=%d selected=%d pin_verified=%d "
                  "fault=%s delay=%lld apdus=%llu pin_tries=%d puk_tries=%d",
                  want_inserted_ ? 1 : 0, link_ ? 1 : 0, powered_ ? 1 : 0,
                  card_.application_selected() ? 1 : 0, card_.pin_verified() ? 1 : 0,
                  options_.fault.describe().c_str(), static_cast<long long>(options_.delay.count()),
                  static_cast<unsigned long long>(apdus_), s.pin_tries_left, s.puk_tries_left);
    return buf;
}

std::string CardRunner::handle_command(const std::string& line) {
    const std::size_t space = line.find(' ');
    const std::string verb = line.substr(0, space);
    const std::string arg = space == std::string::npos ? "" : line.substr(space + 1);
    if (verb == "remove" && arg.empty()) {
        remove_card("control");
        return "ok";
    }
    if (verb == "insert" && arg.empty()) {
        return insert_card() ? "ok"
                             : "error vpcd not reachable (" + last_connect_error_ + "), retrying";
    }
    if (verb == "fault") {
        const std::optional<Fault> f = Fault::parse(arg);
        if (!f) {
            return "error usage: fault none|garbage|truncate|more-data-forever|remove-on-ins "
                   "XX|wrong-le-on-ins XX";
        }
        options_.fault = *f;
        log_.event("fault " + f->describe());
        return "ok";
    }
    if (verb == "delay") {
        try {
            std::size_t used = 0;
            const long long ms = std::stoll(arg, &used);
            if (used == arg.size() && ms >= 0 && ms <= kMaxDelay.count()) {
                options_.delay = std::chrono::milliseconds(ms);
                log_.event("delay " + std::to_string(ms));
                return "ok";
            }
        } catch (const std::exception&) {
        }
        return "error usage: delay MS (0.." + std::to_string(kMaxDelay.count()) + ")";
    }
    if (verb == "status" && arg.empty()) {
        return status();
    }
    return "error unknown command (remove, insert, fault, delay, status)";
}

int CardRunner::run() {
    want_inserted_ = true;
    initial_deadline_ = Clock::now() + options_.connect_timeout;
    next_attempt_ = Clock::now();
    std::vector<pollfd> fds;
    while (!stop_) {
        auto now = Clock::now();
        if (want_inserted_ && !link_ && now >= next_attempt_ && !try_connect()) {
            if (initial_deadline_ && now >= *initial_deadline_) {
                std::fprintf(stderr,
                             "tenderkey-vcard: vpcd not reachable at %s:%u after %lld ms (%s); "
                             "is pcscd running with the vpcd reader?\n",
                             options_.host.c_str(), options_.port,
                             static_cast<long long>(options_.connect_timeout.count()),
                             last_connect_error_.c_str());
                return 1;
            }
            next_attempt_ = now + (initial_deadline_ ? kInitialRetry : kReconnectRetry);
        }

        fds.clear();
        fds.push_back(pollfd{wake_fd_, POLLIN, 0});
        fds.push_back(pollfd{options_.signal_fd, POLLIN, 0});  // fd -1 is ignored by poll
        fds.push_back(pollfd{link_ && !delayed_ ? link_->fd() : -1, POLLIN, 0});
        if (control_) {
            control_->add_poll_fds(fds);
        }
        std::optional<Clock::time_point> wake_at;
        if (delayed_) {
            wake_at = delayed_->due;
        }
        if (want_inserted_ && !link_) {
            wake_at = wake_at ? std::min(*wake_at, next_attempt_) : next_attempt_;
        }
        int timeout = -1;
        if (wake_at) {
            const auto ms =
                std::chrono::ceil<std::chrono::milliseconds>(*wake_at - Clock::now()).count();
            timeout = static_cast<int>(std::clamp<long long>(ms, 0, 60000));
        }
        if (::poll(fds.data(), fds.size(), timeout) < 0) {
            if (errno == EINTR) {
                continue;
            }
            std::fprintf(stderr, "tenderkey-vcard: poll: %s\n", std::strerror(errno));
            return 1;
        }

        if (fds[0].revents != 0) {
            std::uint64_t count = 0;
            [[maybe_unused]] const ssize_t n = ::read(wake_fd_, &count, sizeof count);
            stop_ = true;
        }
        if (fds[1].revents != 0) {
            on_signal();
        }
        if (stop_) {
            break;
        }
        if (delayed_ && Clock::now() >= delayed_->due && link_) {
            DelayedApdu due = std::move(*delayed_);
            delayed_.reset();
            answer(due.command);
            wipe(due.command);
        }
        if (link_ && fds[2].fd == link_->fd() && fds[2].revents != 0 && !link_->read_available()) {
            lost_connection("connection closed by vpcd");
        }
        drain_frames();
        for (std::size_t i = 3; i < fds.size(); ++i) {
            control_->on_ready(fds[i]);
        }
    }
    if (link_) {
        link_.reset();  // the card leaves the reader with the process
        log_.event("stopped");
    }
    return 0;
}

}  // namespace tk::vcard
