#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "service/api.hpp"
#include "service/card_manager.hpp"
#include "service/config.hpp"
#include "service/state/card_states.hpp"

namespace tk::service {

struct ServiceOptions {
    std::string version;  // the daemon's x.y.z
    Limits limits;
    bool allowNoPinKeys = false;
    // The last known PUK counters (PIV cards cannot report theirs); null: kept in memory only.
    std::shared_ptr<state::CardStates> cardStates;
};

// The methods of PROTOCOL.md §4 over a CardManager.
//
// call() checks, in the order PROTOCOL.md fixes: method (METHOD_NOT_FOUND), capability
// (NOT_PERMITTED), parameters (INVALID_PARAMS, PAYLOAD_TOO_LARGE), then the method's own checks
// against the manager's view — PC/SC service, reader, card or certificate, key usage, algorithm,
// PIN/PUK format (PIN_FORMAT, the card untouched), PIN_REQUIRED — and only then queues the card
// work on the card's strand with its deadline. The one check outside that order: a raw
// signature with a key that both signs and registers needs the sign-raw capability, which can
// only be judged once the parameters (format) and the key are known.
//
// lastAttempt is honoured only for origins with manage; for any other origin it counts as
// false, so a card with one try left answers PIN_LAST_ATTEMPT and is not sent the PIN. The PUK
// of a PIV card is sent only when its last known counter (state::CardStates) leaves more than
// one try, or with an honoured lastAttempt. Methods that need no card access
// (system.info, readers.list, events.subscribe, certificates.list) answer at once from the view.
//
// PIN and PUK strings are taken out of the request's params and wiped before anything else
// (takeSecrets), so a request refused for any reason leaves no copy in the JSON.
class ApiService final : public Api {
  public:
    ApiService(ServiceOptions options, std::unique_ptr<CardManager> cards);
    ~ApiService() override;
    ApiService(const ApiService&) = delete;
    ApiService& operator=(const ApiService&) = delete;
    ApiService(ApiService&&) = delete;
    ApiService& operator=(ApiService&&) = delete;

    // Starts the card manager (readers, monitor, worker threads).
    void start();
    // Answers queued work, gives running work up to `grace`, stops the threads.
    void stop(std::chrono::milliseconds grace = std::chrono::milliseconds{5000});

    void call(const CallContext& context, std::string_view method, const nlohmann::json& params,
              Completion done) override;
    void connectionOpened(std::uint64_t connectionId, EventSink sink) override;
    void connectionClosed(std::uint64_t connectionId) override;
    int readerCount() const override;

    CardManager& cards() noexcept { return *cards_; }

  private:
    struct Request;
    struct Connection {
        EventSink sink;
        bool subscribed = false;
    };

    std::optional<nlohmann::json> dispatch(Request& request);

    nlohmann::json systemInfo(Request& request);
    nlohmann::json readersList(Request& request);
    nlohmann::json eventsSubscribe(Request& request);
    nlohmann::json certificatesList(Request& request);
    void pinStatus(Request& request);
    void pinVerify(Request& request);
    void referenceDataChange(Request& request);
    void sign(Request& request);
    void decrypt(Request& request);
    void registerKey(Request& request);

    void publish(const nlohmann::json& event);

    ServiceOptions options_;
    std::unique_ptr<CardManager> cards_;

    mutable std::mutex mutex_;
    std::map<std::uint64_t, Connection> connections_;
};

// The service main runs: PC/SC backend (Virtual PCD readers only in development mode), two card
// worker threads, options from `config`, the card states of the state directory. Not started
// yet. Throws state::StateError when the state directory cannot be used.
std::unique_ptr<ApiService> makeService(const Config& config, std::string version);

}  // namespace tk::service
