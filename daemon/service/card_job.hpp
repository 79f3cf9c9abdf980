#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "card/session/card_session.hpp"
#include "card/token.hpp"
#include "service/api.hpp"

namespace tk::service {

// One card operation of one request, from the moment it is queued on its card's strand until it
// is answered. It is answered exactly once, by whichever comes first:
// - the operation's own result or error;
// - its deadline (TIMEOUT; data.outcome "none" while it has not reached the card, "unknown"
//   once it has: its effect, a PIN change for example, may have happened);
// - the closing of its connection while it is still queued (it then never runs).
// A job whose deadline passed or whose connection closed before its turn is dropped, never run
// late. A job abandoned at its deadline while running finishes its card work (PC/SC calls
// cannot be cut short) but its result is thrown away.
class CardJob {
  public:
    using Clock = std::chrono::steady_clock;
    // Runs inside the PC/SC transaction; returns the method's result object or throws.
    using Work = std::function<nlohmann::json(card::Token&)>;

    struct Spec {
        std::uint64_t connectionId = 0;
        std::string method;  // for logs
        std::string cardId;  // the card the request names: checked on the card before the work
        std::uint64_t insertion = 0;  // the card's insertion the request saw
        Clock::time_point deadline;
        card::AfterReset afterReset = card::AfterReset::Report;
        Work work;
        Completion done;
    };

    explicit CardJob(Spec spec);
    ~CardJob();
    CardJob(const CardJob&) = delete;
    CardJob& operator=(const CardJob&) = delete;
    CardJob(CardJob&&) = delete;
    CardJob& operator=(CardJob&&) = delete;

    const Spec& spec() const noexcept { return spec_; }

    // Its turn came on the strand. False when it must not run: already answered (cancelled,
    // timed out) or its deadline passed just now (answered TIMEOUT, outcome "none").
    bool begin();
    // Inside the transaction, right before the token is used. False when the job was abandoned
    // meanwhile: the operation must stop without sending anything more.
    bool enterCard();
    bool reachedCard() const;

    void succeed(nlohmann::json result);
    void fail(ApiError error);
    // The deadline timer fired.
    void expire();
    // The connection closed. True when the job was still queued (it is answered now and will
    // not run).
    bool cancel();

    bool answered() const;

  private:
    enum class State { Queued, Running, Answered };

    // Hands the completion out exactly once.
    Completion takeCompletion();

    Spec spec_;
    mutable std::mutex mutex_;
    State state_ = State::Queued;
    bool reachedCard_ = false;
};

}  // namespace tk::service
