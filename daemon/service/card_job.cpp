#include "service/card_job.hpp"

#include <utility>

#include "service/reasons.hpp"

namespace tk::service {
namespace {

ApiError timeoutError(bool reachedCard) {
    return makeError(Reason::Timeout, {}, {{"outcome", reachedCard ? "unknown" : "none"}});
}

void call(const Completion& done, std::optional<nlohmann::json> result,
          std::optional<ApiError> error) {
    if (done) {
        done(std::move(result), std::move(error));
    }
}

}  // namespace

CardJob::CardJob(Spec spec) : spec_(std::move(spec)) {}

CardJob::~CardJob() = default;

Completion CardJob::takeCompletion() {
    state_ = State::Answered;
    return std::exchange(spec_.done, nullptr);
}

bool CardJob::begin() {
    Completion done;
    {
        std::lock_guard lock(mutex_);
        if (state_ != State::Queued) {
            return false;
        }
        if (Clock::now() < spec_.deadline) {
            state_ = State::Running;
            return true;
        }
        done = takeCompletion();
    }
    call(done, std::nullopt, timeoutError(false));
    return false;
}

bool CardJob::enterCard() {
    std::lock_guard lock(mutex_);
    if (state_ != State::Running) {
        return false;
    }
    reachedCard_ = true;
    return true;
}

bool CardJob::reachedCard() const {
    std::lock_guard lock(mutex_);
    return reachedCard_;
}

bool CardJob::answered() const {
    std::lock_guard lock(mutex_);
    return state_ == State::Answered;
}

void CardJob::succeed(nlohmann::json result) {
    Completion done;
    {
        std::lock_guard lock(mutex_);
        if (state_ == State::Answered) {
            return;
        }
        done = takeCompletion();
    }
    call(done, std::move(result), std::nullopt);
}

void CardJob::fail(ApiError error) {
    Completion done;
    {
        std::lock_guard lock(mutex_);
        if (state_ == State::Answered) {
            return;
        }
        done = takeCompletion();
    }
    call(done, std::nullopt, std::move(error));
}

void CardJob::expire() {
    Completion done;
    bool reached = false;
    {
        std::lock_guard lock(mutex_);
        if (state_ == State::Answered) {
            return;
        }
        reached = reachedCard_;
        done = takeCompletion();
    }
    call(done, std::nullopt, timeoutError(reached));
}

bool CardJob::cancel() {
    Completion done;
    {
        std::lock_guard lock(mutex_);
        if (state_ != State::Queued) {
            return false;
        }
        done = takeCompletion();
    }
    // Nobody reads this answer (the connection is gone); it says what happened for the log.
    call(done, std::nullopt,
         makeError(Reason::Timeout, "cancelled: the connection closed before its turn",
                   {{"outcome", "none"}}));
    return true;
}

}  // namespace tk::service
