#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "fakes/service_fixture.hpp"
#include "service/base64.hpp"
#include "support/test_keys.hpp"

namespace tk::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr std::uint8_t kInsGeneralAuthenticate = 0x87;

// A gate the test opens: operations wait in front of it.
class Gate {
  public:
    void wait() {
        std::unique_lock lock(mutex_);
        ++waiting_;
        changed_.notify_all();
        changed_.wait(lock, [this] { return open_; });
        --waiting_;
    }
    void open() {
        {
            std::lock_guard lock(mutex_);
            open_ = true;
        }
        changed_.notify_all();
    }
    // Waits until `n` operations are held.
    bool holding(int n, std::chrono::milliseconds timeout = 5s) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] { return waiting_ >= n; });
    }

  private:
    std::mutex mutex_;
    std::condition_variable changed_;
    bool open_ = false;
    int waiting_ = 0;
};

class ApiTiming : public ServiceFixture {
  protected:
    void SetUp() override {
        options.limits.operationTimeout = 60s;
        options.limits.pinpadTimeout = 120s;
        startService();
        addReaderWithCard(kReader, std::make_unique<StandardCard>());
        cardId = cardIdIn(kReader);
        identification = backend->transactions(kReader);
    }

    // Transactions on the card since it was identified.
    int cardUses() { return backend->transactions(kReader) - identification; }

    void TearDown() override {
        gate.open();
        ServiceFixture::TearDown();
    }

    // A context whose request arrived `age` ago.
    service::CallContext aged(std::chrono::milliseconds age,
                              std::uint64_t connection = kConnection) {
        service::CallContext c = context();
        c.connectionId = connection;
        c.received = std::chrono::steady_clock::now() - age;
        return c;
    }

    json signParams() const {
        return {{"certificateId", cardId + ":9c"},
                {"pin", "123456"},
                {"digest",
                 service::encodeBase64(opensslDigest(card::HashAlgorithm::Sha256, bytesOf("x")))}};
    }

    Gate gate;
    std::string cardId;
    int identification = 0;
};

TEST_F(ApiTiming, QueuedOperationWhoseDeadlinePassedIsDroppedNeverRunLate) {
    backend->setBeforeOperation(kReader, [this] { gate.wait(); });
    PendingCall first = callAsync("pin.status", {{"cardId", cardId}}, context());
    ASSERT_TRUE(gate.holding(1));
    // Arrived 59.7 s ago: its 60 s run out while it waits behind the first.
    PendingCall late = callAsync("sign", signParams(), aged(59700ms));
    const Answer timeout = late.wait();
    EXPECT_EQ(timeout.reason(), "TIMEOUT");
    EXPECT_EQ(timeout.data(), (json{{"outcome", "none"}}));
    gate.open();
    EXPECT_TRUE(first.wait().result.has_value());
    ASSERT_TRUE(service->cards().waitUntilSettled(5s));
    for (int i = 0; i < 100 && service->cards().jobsInFlight() > 0; ++i) {
        std::this_thread::sleep_for(10ms);
    }
    EXPECT_EQ(service->cards().jobsInFlight(), 0u);
    EXPECT_EQ(cardUses(), 1) << "the late operation ran";
    EXPECT_EQ(late.completions(), 1);
    EXPECT_EQ(backend->card(kReader).card.pinRetries(), 3);
}

TEST_F(ApiTiming, DeadlineAlreadyPassedOnArrivalIsTimeoutWithoutTouchingTheCard) {
    const Answer answer = callAsync("pin.status", {{"cardId", cardId}}, aged(61s)).wait();
    EXPECT_EQ(answer.reason(), "TIMEOUT");
    EXPECT_EQ(answer.data(), (json{{"outcome", "none"}}));
    EXPECT_EQ(cardUses(), 0);
}

TEST_F(ApiTiming, OperationThatReachedTheCardTimesOutWithUnknownOutcome) {
    backend->card(kReader).card.interceptor = [this](std::size_t,
                                                     ByteView apdu) -> std::optional<Bytes> {
        if (apdu[1] == kInsGeneralAuthenticate) {
            gate.wait();
        }
        return std::nullopt;
    };
    const auto started = std::chrono::steady_clock::now();
    PendingCall call = callAsync("sign", signParams(), aged(59600ms));
    const Answer answer = call.wait();
    EXPECT_EQ(answer.reason(), "TIMEOUT");
    EXPECT_EQ(answer.data(), (json{{"outcome", "unknown"}}));
    // Answered at the deadline, while the card was still busy.
    EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
    EXPECT_TRUE(gate.holding(1, 0ms));
    gate.open();
    ASSERT_TRUE(service->cards().waitUntilSettled(5s));
    for (int i = 0; i < 200 && service->cards().jobsInFlight() > 0; ++i) {
        std::this_thread::sleep_for(10ms);
    }
    EXPECT_EQ(call.completions(), 1) << "the late result must be thrown away";
    EXPECT_FALSE(backend->card(kReader).card.pinVerified());
}

TEST_F(ApiTiming, PinpadEntryGetsThePinpadTimeout) {
    auto pinpadCard = std::make_unique<StandardCard>();
    pinpadCard->card.setFeature(0x06, 0x42330006);  // FEATURE_VERIFY_PIN_DIRECT
    pinpadCard->card.setFeature(0x07, 0x42330007);
    pinpadCard->card.setPinpadEntries({"123456"});
    pinpadCard->card.setChuid(std::nullopt, hex("303132333435363738393a3b3c3d3e3f"));
    backend->addReader(kReader2);
    backend->insert(kReader2, std::move(pinpadCard));
    settle();
    const std::string id = cardIdIn(kReader2);
    const json readers = *call("readers.list", json::object()).result;
    EXPECT_EQ(readers["readers"][1]["pinpad"], true);

    // 61 s old: past the operation timeout, within the pinpad one. Without a PIN the pinpad
    // is used, so it runs.
    const Answer pinpad = callAsync("pin.verify", {{"cardId", id}}, aged(61s)).wait();
    ASSERT_TRUE(pinpad.result) << pinpad.reason();
    // With a PIN typed in the page the operation timeout applies.
    const Answer typed =
        callAsync("pin.verify", {{"cardId", id}, {"pin", "123456"}}, aged(61s)).wait();
    EXPECT_EQ(typed.reason(), "TIMEOUT");
    const Answer tooOld = callAsync("pin.verify", {{"cardId", id}}, aged(121s)).wait();
    EXPECT_EQ(tooOld.reason(), "TIMEOUT");

    // What the reader says about the entry itself.
    backend->card(kReader2).card.setPinpadOutcome(0x6401);
    EXPECT_EQ(call("pin.verify", {{"cardId", id}}).reason(), "PINPAD_CANCELLED");
    backend->card(kReader2).card.setPinpadOutcome(0x6400);
    EXPECT_EQ(call("sign", {{"certificateId", id + ":9c"},
                            {"digest", service::encodeBase64(opensslDigest(
                                           card::HashAlgorithm::Sha256, bytesOf("x")))}})
                  .reason(),
              "PINPAD_TIMEOUT");
}

TEST_F(ApiTiming, ClosingAConnectionCancelsItsQueuedOperations) {
    backend->setBeforeOperation(kReader, [this] { gate.wait(); });
    service->connectionOpened(2, [](const json&) {});
    PendingCall running = callAsync("pin.status", {{"cardId", cardId}}, aged(0ms, 2));
    ASSERT_TRUE(gate.holding(1));
    PendingCall queued = callAsync("sign", signParams(), aged(0ms, 2));
    PendingCall otherConnection = callAsync("pin.status", {{"cardId", cardId}}, aged(0ms));
    service->connectionClosed(2);
    const Answer cancelled = queued.wait(1s);
    EXPECT_EQ(cancelled.reason(), "TIMEOUT");
    EXPECT_EQ(cancelled.data(), (json{{"outcome", "none"}}));
    EXPECT_FALSE(otherConnection.ready());
    gate.open();
    EXPECT_TRUE(running.wait().result.has_value()) << "a running operation finishes";
    EXPECT_TRUE(otherConnection.wait().result.has_value());
    for (int i = 0; i < 100 && service->cards().jobsInFlight() > 0; ++i) {
        std::this_thread::sleep_for(10ms);
    }
    EXPECT_EQ(cardUses(), 2) << "the cancelled operation ran";
    EXPECT_EQ(backend->card(kReader).card.pinRetries(), 3);
}

TEST_F(ApiTiming, OperationsOnOneCardAreSerialisedAndDifferentCardsRunInParallel) {
    backend->addReader(kReader2);
    auto secondCard = std::make_unique<StandardCard>();
    secondCard->card.setChuid(std::nullopt, hex("202122232425262728292a2b2c2d2e2f"));
    backend->insert(kReader2, std::move(secondCard));
    settle();
    // Reader 1 is held; reader 2 still answers.
    backend->setBeforeOperation(kReader, [this] { gate.wait(); });
    std::vector<PendingCall> onFirst;
    onFirst.reserve(4);
    for (int i = 0; i < 4; ++i) {
        onFirst.push_back(callAsync("sign", signParams(), context()));
    }
    ASSERT_TRUE(gate.holding(1));
    const std::string id2 = cardIdIn(kReader2);
    const Answer second = call("pin.status", {{"cardId", id2}});
    ASSERT_TRUE(second.result) << second.reason();
    EXPECT_FALSE(onFirst[0].ready());
    gate.open();
    for (PendingCall& c : onFirst) {
        const Answer a = c.wait();
        EXPECT_TRUE(a.result.has_value()) << a.reason();
    }
    EXPECT_EQ(backend->maxConcurrentPerReader(), 1);
    EXPECT_EQ(backend->maxConcurrentOverall(), 2);
}

TEST_F(ApiTiming, CardRemovedWhileQueuedIsCardRemovedWithoutOutcome) {
    backend->setBeforeOperation(kReader, [this] { gate.wait(); });
    PendingCall first = callAsync("pin.status", {{"cardId", cardId}}, context());
    ASSERT_TRUE(gate.holding(1));
    PendingCall queued = callAsync("sign", signParams(), context());
    backend->remove(kReader);
    settle();
    gate.open();
    first.wait();
    const Answer answer = queued.wait();
    EXPECT_EQ(answer.reason(), "CARD_REMOVED");
    EXPECT_EQ(answer.data(), (json{{"outcome", "none"}}));
}

TEST_F(ApiTiming, StopAnswersQueuedWorkAndWaitsForTheRunningOperation) {
    backend->setBeforeOperation(kReader, [this] { gate.wait(); });
    PendingCall running = callAsync("pin.status", {{"cardId", cardId}}, context());
    ASSERT_TRUE(gate.holding(1));
    PendingCall queued = callAsync("pin.status", {{"cardId", cardId}}, context());
    std::thread opener([this] {
        std::this_thread::sleep_for(200ms);
        gate.open();
    });
    service->stop(5s);
    opener.join();
    EXPECT_EQ(queued.wait(0ms).reason(), "TIMEOUT");
    EXPECT_TRUE(running.wait(0ms).result.has_value());
}

}  // namespace
}  // namespace tk::test
