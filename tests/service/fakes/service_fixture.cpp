#include "fakes/service_fixture.hpp"

#include <spdlog/spdlog.h>

namespace tk::test {

PendingCall::PendingCall() : state_(std::make_shared<State>()) {}

service::Completion PendingCall::completion() {
    return [state = state_](std::optional<nlohmann::json> result,
                            std::optional<service::ApiError> error) {
        {
            std::lock_guard lock(state->mutex);
            ++state->completions;
            if (!state->answer) {
                state->answer = Answer{std::move(result), std::move(error)};
            }
        }
        state->changed.notify_all();
    };
}

Answer PendingCall::wait(std::chrono::milliseconds timeout) {
    std::unique_lock lock(state_->mutex);
    if (!state_->changed.wait_for(lock, timeout, [this] { return state_->answer.has_value(); })) {
        ADD_FAILURE() << "no answer within " << timeout.count() << " ms";
        return {};
    }
    return *state_->answer;
}

bool PendingCall::ready() const {
    std::lock_guard lock(state_->mutex);
    return state_->answer.has_value();
}

int PendingCall::completions() const {
    std::lock_guard lock(state_->mutex);
    return state_->completions;
}

void ServiceFixture::startService() {
    // Card events and refusals are logged at info; the tests only want to see problems.
    spdlog::set_level(spdlog::level::warn);
    auto fake = std::make_unique<FakeCardBackend>();
    backend = fake.get();
    if (options.version.empty()) {
        options.version = "0.1.0";
    }
    if (!options.cardStates) {
        options.cardStates = std::make_shared<service::state::CardStates>();  // in memory
    }
    managerOptions.startupWait = std::chrono::milliseconds(0);
    service = std::make_unique<service::ApiService>(
        options, std::make_unique<service::CardManager>(managerOptions, std::move(fake)));
    service->start();
    service->connectionOpened(kConnection, [this](const nlohmann::json& event) {
        std::lock_guard lock(eventsMutex);
        events.push_back(event);
    });
    backend->serviceAvailable();
    settle();
}

void ServiceFixture::TearDown() {
    if (service) {
        service->stop(std::chrono::milliseconds(2000));
    }
}

void ServiceFixture::settle() {
    ASSERT_TRUE(service->cards().waitUntilSettled(std::chrono::seconds(10)));
}

void ServiceFixture::addReaderWithCard(const std::string& reader,
                                       std::unique_ptr<StandardCard> card) {
    backend->addReader(reader);
    if (card) {
        backend->insert(reader, std::move(card));
    }
    settle();
}

service::CallContext ServiceFixture::context(service::Capabilities capabilities) const {
    service::CallContext c;
    c.connectionId = kConnection;
    c.origin = "https://web.pcc.gov.tw";
    c.capabilities = capabilities;
    c.received = std::chrono::steady_clock::now();
    return c;
}

Answer ServiceFixture::call(const std::string& method, nlohmann::json& params,
                            service::Capabilities capabilities) {
    PendingCall pending;
    service->call(context(capabilities), method, params, pending.completion());
    Answer answer = pending.wait();
    EXPECT_EQ(pending.completions(), 1) << method << " must be answered exactly once";
    return answer;
}

Answer ServiceFixture::call(const std::string& method, nlohmann::json&& params,
                            service::Capabilities capabilities) {
    nlohmann::json copy = std::move(params);
    return call(method, copy, capabilities);
}

PendingCall ServiceFixture::callAsync(const std::string& method, nlohmann::json&& params,
                                      const service::CallContext& callContext) {
    PendingCall pending;
    service->call(callContext, method, params, pending.completion());
    return pending;
}

std::string ServiceFixture::cardIdIn(const std::string& reader) {
    const Answer answer = call("readers.list", nlohmann::json::object());
    if (!answer.result) {
        ADD_FAILURE() << "readers.list failed: " << answer.reason();
        return {};
    }
    for (const auto& r : (*answer.result)["readers"]) {
        if (r["name"] == reader && r["card"].is_object()) {
            return r["card"]["id"].get<std::string>();
        }
    }
    ADD_FAILURE() << "no identified card in " << reader;
    return {};
}

}  // namespace tk::test
