#include "server/bridge.hpp"

#include <algorithm>
#include <cctype>
#include <iterator>

#include "service/origin.hpp"

namespace tk::server {
namespace {

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

std::vector<service::Origin> ownTuples(const std::vector<Endpoint>& endpoints) {
    std::vector<service::Origin> tuples;
    for (const Endpoint& endpoint : endpoints) {
        const std::string scheme = endpoint.tls() ? "https" : "http";
        const bool ipv6 = endpoint.address.find(':') != std::string::npos;
        for (const std::string& host :
             {ipv6 ? "[" + endpoint.address + "]" : endpoint.address, std::string("localhost")}) {
            service::Origin origin{scheme, host, endpoint.port};
            if (std::find(tuples.begin(), tuples.end(), origin) == tuples.end()) {
                tuples.push_back(std::move(origin));
            }
        }
    }
    return tuples;
}

constexpr std::string_view kSecretMembers[] = {"pin", "newPin", "puk", "newPuk"};

BridgeStep refusal(std::string reason, nlohmann::json data = nlohmann::json::object()) {
    BridgeStep step;
    step.kind = BridgeStep::Kind::Refuse;
    step.reason = std::move(reason);
    step.data = std::move(data);
    return step;
}

BridgeStep judgeConsent(const nlohmann::json& params) {
    if (!params.is_object()) {
        return refusal("INVALID_PARAMS");
    }
    for (const auto& [name, value] : params.items()) {
        if (name != "decision") {
            return refusal("INVALID_PARAMS", {{"field", name}});
        }
    }
    const auto it = params.find("decision");
    if (it == params.end() || !it->is_string() || (*it != "once" && *it != "always")) {
        return refusal("INVALID_PARAMS", {{"field", "decision"}});
    }
    BridgeStep step;
    step.kind = BridgeStep::Kind::Consent;
    step.always = *it == "always";
    return step;
}

}  // namespace

std::vector<std::string> ownOrigins(const std::vector<Endpoint>& endpoints) {
    std::vector<std::string> origins;
    for (const auto& tuple : ownTuples(endpoints)) {
        origins.push_back(service::serialiseOrigin(tuple));
    }
    return origins;
}

std::vector<std::string> ownWebSocketSources(const std::vector<Endpoint>& endpoints) {
    std::vector<std::string> sources;
    for (auto tuple : ownTuples(endpoints)) {
        // ws and wss share the default ports of http and https, so the serialisation carries
        // over with the scheme replaced.
        const std::string text = service::serialiseOrigin(tuple);
        sources.push_back((tuple.scheme == "https" ? "wss" : "ws") +
                          text.substr(tuple.scheme.size()));
    }
    return sources;
}

bool isOwnOrigin(std::string_view origin, const std::vector<std::string>& own) {
    return std::any_of(own.begin(), own.end(),
                       [&](const std::string& o) { return equalsIgnoreCase(o, origin); });
}

bool carriesSecret(const nlohmann::json& params) {
    if (!params.is_object()) {
        return false;
    }
    return std::any_of(std::begin(kSecretMembers), std::end(kSecretMembers),
                       [&](std::string_view name) { return params.contains(name); });
}

BridgeStep judgeBridgeRequest(bool bridge, bool attached, std::string_view method,
                              const nlohmann::json& params, const std::vector<std::string>& own) {
    if (!bridge) {
        return {};
    }
    if (attached) {
        return method == kAttachMethod || method == kConsentMethod || method == kSelfTestMethod
                   ? refusal("ALREADY_ATTACHED")
                   : BridgeStep{};
    }
    if (method == kConsentMethod) {
        return judgeConsent(params);
    }
    if (method == kSelfTestMethod) {
        if (!params.is_null() && !(params.is_object() && params.empty())) {
            return refusal("INVALID_PARAMS");
        }
        BridgeStep step;
        step.kind = BridgeStep::Kind::SelfTest;
        return step;
    }
    if (method != kAttachMethod) {
        return refusal("NOT_ATTACHED");
    }
    if (!params.is_object()) {
        return refusal("INVALID_PARAMS");
    }
    for (const auto& [name, value] : params.items()) {
        if (name != "origin") {
            return refusal("INVALID_PARAMS", {{"field", name}});
        }
    }
    const auto it = params.find("origin");
    if (it == params.end() || !it->is_string()) {
        return refusal("INVALID_PARAMS", {{"field", "origin"}});
    }
    const auto& text = it->get_ref<const std::string&>();
    const auto parsed = service::parseOrigin(text);
    if (!parsed || service::serialiseOrigin(*parsed) != text || isOwnOrigin(text, own)) {
        return refusal("INVALID_PARAMS", {{"field", "origin"}});
    }
    BridgeStep step;
    step.kind = BridgeStep::Kind::Attach;
    step.origin = text;
    return step;
}

}  // namespace tk::server
