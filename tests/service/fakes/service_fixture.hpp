#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "fakes/fake_card_backend.hpp"
#include "service/api_service.hpp"

namespace tk::test {

// What a call answered.
struct Answer {
    std::optional<nlohmann::json> result;
    std::optional<service::ApiError> error;

    std::string reason() const { return error ? error->reason : std::string("(success)"); }
    const nlohmann::json& data() const { return error->data; }
};

// A pending call: its answer once the completion ran.
class PendingCall {
  public:
    PendingCall();
    service::Completion completion();
    // Waits for the answer; fails the test (and returns an empty Answer) on timeout.
    Answer wait(std::chrono::milliseconds timeout = std::chrono::seconds(10));
    bool ready() const;
    int completions() const;

  private:
    struct State {
        mutable std::mutex mutex;
        std::condition_variable changed;
        std::optional<Answer> answer;
        int completions = 0;
    };
    std::shared_ptr<State> state_;
};

// An ApiService over a FakeCardBackend with readers and cards put in by the test.
class ServiceFixture : public ::testing::Test {
  protected:
    static constexpr const char* kReader = "Test Reader 00 00";
    static constexpr const char* kReader2 = "Test Reader 01 00";
    static constexpr std::uint64_t kConnection = 1;

    // Builds and starts the service (called by the tests, after adjusting `options`).
    void startService();
    void TearDown() override;

    // A reader with a standard card, identified.
    void addReaderWithCard(const std::string& reader, std::unique_ptr<StandardCard> card);
    void settle();

    service::CallContext context(
        service::Capabilities capabilities = service::Capabilities::all()) const;
    // Calls and waits for the answer. `params` is taken by reference: the service wipes its
    // secrets, which the tests check.
    Answer call(const std::string& method, nlohmann::json& params,
                service::Capabilities capabilities = service::Capabilities::all());
    Answer call(const std::string& method, nlohmann::json&& params,
                service::Capabilities capabilities = service::Capabilities::all());
    // `params` is handed over: the service wipes the secrets in it.
    PendingCall callAsync(const std::string& method, nlohmann::json&& params,
                          const service::CallContext& context);

    // The card id of the card in `reader`, from readers.list.
    std::string cardIdIn(const std::string& reader);

    service::ServiceOptions options;
    service::CardManagerOptions managerOptions;
    FakeCardBackend* backend = nullptr;  // owned by the service
    std::unique_ptr<service::ApiService> service;
    std::mutex eventsMutex;
    std::vector<nlohmann::json> events;  // what connection kConnection received
};

}  // namespace tk::test
