#include <gtest/gtest.h>

#include "service/card_job.hpp"
#include "service/reasons.hpp"

namespace tk::service {
namespace {

using namespace std::chrono_literals;

struct Recorder {
    int calls = 0;
    std::optional<nlohmann::json> result;
    std::optional<ApiError> error;

    Completion completion() {
        return [this](std::optional<nlohmann::json> r, std::optional<ApiError> e) {
            ++calls;
            result = std::move(r);
            error = std::move(e);
        };
    }
};

std::shared_ptr<CardJob> job(Recorder& recorder, CardJob::Clock::duration untilDeadline = 60s) {
    CardJob::Spec spec;
    spec.method = "sign";
    spec.deadline = CardJob::Clock::now() + untilDeadline;
    spec.done = recorder.completion();
    return std::make_shared<CardJob>(std::move(spec));
}

TEST(CardJob, AnsweredOnceWithItsResult) {
    Recorder r;
    auto j = job(r);
    ASSERT_TRUE(j->begin());
    ASSERT_TRUE(j->enterCard());
    j->succeed({{"verified", true}});
    j->expire();
    j->fail(makeError(Reason::CardError));
    EXPECT_EQ(r.calls, 1);
    EXPECT_EQ(r.result, (nlohmann::json{{"verified", true}}));
    EXPECT_FALSE(r.error.has_value());
}

TEST(CardJob, ExpiredWhileQueuedIsTimeoutWithoutOutcomeAndNeverBegins) {
    Recorder r;
    auto j = job(r);
    j->expire();
    EXPECT_FALSE(j->begin());
    ASSERT_EQ(r.calls, 1);
    EXPECT_EQ(r.error->reason, "TIMEOUT");
    EXPECT_EQ(r.error->data, (nlohmann::json{{"outcome", "none"}}));
}

TEST(CardJob, DeadlinePassedAtItsTurnIsDropped) {
    Recorder r;
    auto j = job(r, -1ms);
    EXPECT_FALSE(j->begin());
    ASSERT_EQ(r.calls, 1);
    EXPECT_EQ(r.error->data, (nlohmann::json{{"outcome", "none"}}));
}

TEST(CardJob, ExpiredAfterReachingTheCardHasUnknownOutcomeAndStopsTheOperation) {
    Recorder r;
    auto j = job(r);
    ASSERT_TRUE(j->begin());
    ASSERT_TRUE(j->enterCard());
    j->expire();
    EXPECT_EQ(r.error->data, (nlohmann::json{{"outcome", "unknown"}}));
    EXPECT_FALSE(j->enterCard()) << "an abandoned job must not go on to the card";
    j->succeed(nlohmann::json::object());
    EXPECT_EQ(r.calls, 1);
    EXPECT_EQ(r.error->reason, "TIMEOUT");
}

TEST(CardJob, ExpiredWhileRunningBeforeTheCardHasNoOutcome) {
    Recorder r;
    auto j = job(r);
    ASSERT_TRUE(j->begin());
    j->expire();
    EXPECT_EQ(r.error->data, (nlohmann::json{{"outcome", "none"}}));
    EXPECT_FALSE(j->enterCard());
}

TEST(CardJob, CancelOnlyStopsAQueuedJob) {
    Recorder queued;
    auto q = job(queued);
    EXPECT_TRUE(q->cancel());
    EXPECT_FALSE(q->begin());
    EXPECT_EQ(queued.calls, 1);
    EXPECT_EQ(queued.error->data, (nlohmann::json{{"outcome", "none"}}));

    Recorder running;
    auto r = job(running);
    ASSERT_TRUE(r->begin());
    EXPECT_FALSE(r->cancel());
    EXPECT_EQ(running.calls, 0);
    r->succeed(nlohmann::json::object());
    EXPECT_EQ(running.calls, 1);
}

}  // namespace
}  // namespace tk::service
