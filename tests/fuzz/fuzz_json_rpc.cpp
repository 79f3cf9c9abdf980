// A WebSocket text message through what the server and the service do with it: JSON-RPC
// envelope (daemon/server/json_rpc), the method table, then the service's parameter checks and
// methods (daemon/service/api_service, params) over a card backend in memory with one standard
// test card (tests/service/fakes). Every call must be answered exactly once, within the time
// limit, and every answer must serialise to JSON that reads back.
#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "fakes/fake_card_backend.hpp"
#include "server/json_rpc.hpp"
#include "service/api_service.hpp"
#include "service/capabilities.hpp"

namespace {

constexpr const char* kReader = "Fuzz Reader 00 00";
constexpr std::uint64_t kConnection = 1;

// A broken expectation: says which one, then aborts (libFuzzer keeps the input as a crash).
void check(bool ok, int line = __builtin_LINE()) {
    if (!ok) {
        std::fprintf(stderr, "%s:%d: expectation failed\n", __FILE__, line);
        std::abort();
    }
}

void checkJson(const std::string& message) {
    check(nlohmann::json::accept(message));
}

struct Service {
    tk::test::FakeCardBackend* backend = nullptr;
    std::unique_ptr<tk::service::ApiService> api;

    Service() {
        spdlog::set_level(spdlog::level::off);
        auto fake = std::make_unique<tk::test::FakeCardBackend>();
        backend = fake.get();
        tk::service::ServiceOptions options;
        options.version = "0.1.0";
        tk::service::CardManagerOptions managerOptions;
        managerOptions.startupWait = std::chrono::milliseconds(0);
        api = std::make_unique<tk::service::ApiService>(
            options, std::make_unique<tk::service::CardManager>(managerOptions, std::move(fake)));
        api->start();
        api->connectionOpened(kConnection, [](const nlohmann::json& event) {
            checkJson(tk::server::eventMessage(event));
        });
        backend->serviceAvailable();
        backend->addReader(kReader);
        backend->insert(kReader, std::make_unique<tk::test::StandardCard>());
        check(api->cards().waitUntilSettled(std::chrono::seconds(10)));
    }
};

Service& service() {
    // Never destroyed: the card worker threads outlive the fuzzing loop.
    static auto* s = new Service();
    return *s;
}

struct Answer {
    std::mutex mutex;
    std::condition_variable changed;
    int completions = 0;
    std::optional<nlohmann::json> result;
    std::optional<tk::service::ApiError> error;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Service& s = service();
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto reading = tk::server::readRequest(text);
    if (const auto* refusal = std::get_if<tk::server::Refusal>(&reading)) {
        check(refusal->reason == "PARSE_ERROR" || refusal->reason == "INVALID_REQUEST");
        checkJson(tk::server::errorMessage(refusal->id, refusal->reason));
        return 0;
    }
    auto& request = std::get<tk::server::Request>(reading);
    check(request.id.is_number_integer() || request.id.is_string());
    check(request.params.is_object() || request.params.is_array());
    const tk::service::MethodInfo* method = tk::service::findMethod(request.method);
    if (method == nullptr) {
        checkJson(tk::server::errorMessage(request.id, "METHOD_NOT_FOUND"));
        return 0;
    }
    check(method->name == request.method);
    if (request.params.is_array()) {
        return 0;  // the server refuses positional params before the service
    }
    auto answer = std::make_shared<Answer>();
    const tk::service::CallContext context{kConnection,
                                           "https://web.pcc.gov.tw",
                                           tk::service::Capabilities::all(),
                                           std::chrono::steady_clock::now(),
                                           false,
                                           {}};
    s.api->call(
        context, request.method, request.params,
        [answer](std::optional<nlohmann::json> result, std::optional<tk::service::ApiError> error) {
            {
                std::lock_guard lock(answer->mutex);
                ++answer->completions;
                answer->result = std::move(result);
                answer->error = std::move(error);
            }
            answer->changed.notify_all();
        });
    std::unique_lock lock(answer->mutex);
    check(answer->changed.wait_for(lock, std::chrono::seconds(8),
                                   [&] { return answer->completions > 0; }));
    check(answer->completions == 1);
    check(answer->result.has_value() != answer->error.has_value());
    if (answer->result) {
        check(answer->result->is_object());
        checkJson(tk::server::resultMessage(request.id, *answer->result));
    } else {
        check(!answer->error->reason.empty());
        checkJson(tk::server::errorMessage(request.id, *answer->error));
    }
    // The service wipes the PIN and PUK strings of the request it was handed.
    for (const auto name : {"pin", "newPin", "puk", "newPuk"}) {
        const auto it = request.params.find(name);
        check(it == request.params.end() || !it->is_string() || it->get<std::string>().empty());
    }
    return 0;
}
