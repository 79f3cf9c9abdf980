#include "server/json_rpc.hpp"

#include <cmath>

#include "server/json_reader.hpp"
#include "service/reasons.hpp"

namespace tk::server {

namespace {

using json = nlohmann::json;

constexpr std::int64_t kMaxSafeInteger = 9007199254740991;  // 2^53 - 1
constexpr std::size_t kMaxIdCharacters = 128;

std::size_t utf8Characters(const std::string& s) {
    std::size_t n = 0;
    for (const char c : s) {
        n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
    }
    return n;
}

// The id as the response carries it, or null when the request's id is not acceptable.
json normalisedId(const json& request) {
    const auto it = request.find("id");
    if (it == request.end()) {
        return nullptr;
    }
    const json& id = *it;
    if (id.is_string()) {
        const auto n = utf8Characters(id.get_ref<const std::string&>());
        return n >= 1 && n <= kMaxIdCharacters ? id : json(nullptr);
    }
    if (id.is_number_integer() && !id.is_number_unsigned()) {
        const auto v = id.get<std::int64_t>();
        return v >= -kMaxSafeInteger && v <= kMaxSafeInteger ? id : json(nullptr);
    }
    if (id.is_number_unsigned()) {
        const auto v = id.get<std::uint64_t>();
        return v <= static_cast<std::uint64_t>(kMaxSafeInteger) ? json(static_cast<std::int64_t>(v))
                                                                : json(nullptr);
    }
    if (id.is_number_float()) {
        const double v = id.get<double>();
        if (std::isfinite(v) && std::trunc(v) == v && std::fabs(v) <= kMaxSafeInteger) {
            return json(static_cast<std::int64_t>(v));
        }
    }
    return nullptr;
}

const service::ReasonInfo* findReason(std::string_view name) {
    for (const auto& info : service::allReasons()) {
        if (info.name == name) {
            return &info;
        }
    }
    return nullptr;
}

// Envelopes are written member by member so that they read in the order of the protocol's
// examples (jsonrpc, id, result/error; code, message, data; reason first). dump() is strict: a
// string that is not UTF-8 is a bug of its producer, and throws.
std::string envelope(const json& id, std::string_view member, const std::string& value) {
    std::string text = R"({"jsonrpc":"2.0","id":)";
    text += id.dump();
    text += ",\"";
    text += member;
    text += "\":";
    text += value;
    text += '}';
    return text;
}

}  // namespace

std::variant<Request, Refusal> readRequest(std::string_view text) {
    JsonReading reading = readJson(text);
    if (!reading.value) {
        return Refusal{nullptr, "PARSE_ERROR", {}};
    }
    json& message = *reading.value;
    if (reading.repeatedMember || !message.is_object()) {
        return Refusal{nullptr, "INVALID_REQUEST", {}};
    }
    std::string method;
    if (const auto it = message.find("method"); it != message.end() && it->is_string()) {
        method = it->get<std::string>();
    }
    json id = normalisedId(message);
    if (id.is_null()) {
        return Refusal{nullptr, "INVALID_REQUEST", method};
    }
    const auto jsonrpc = message.find("jsonrpc");
    if (jsonrpc == message.end() || *jsonrpc != "2.0" || method.empty()) {
        return Refusal{id, "INVALID_REQUEST", method};
    }
    for (const auto& member : message.items()) {
        const auto& key = member.key();
        if (key != "jsonrpc" && key != "id" && key != "method" && key != "params") {
            return Refusal{id, "INVALID_REQUEST", method};
        }
    }
    json params = json::object();
    if (const auto it = message.find("params"); it != message.end()) {
        if (!it->is_object() && !it->is_array()) {
            return Refusal{id, "INVALID_REQUEST", method};
        }
        params = std::move(*it);
    }
    return Request{std::move(id), std::move(method), std::move(params)};
}

std::string resultMessage(const json& id, const json& result) {
    return envelope(id, "result", result.dump());
}

std::string errorMessage(const json& id, const service::ApiError& error) {
    const service::ReasonInfo* info = findReason(error.reason);
    const json data = error.data.is_object() ? error.data : json::object();
    const int code = error.code != 0 ? error.code : (info ? info->code : -32603);
    const std::string message = !error.message.empty()
                                    ? error.message
                                    : (info ? std::string(info->message) : std::string("Error"));
    std::string dataText = R"({"reason":)" + json(error.reason).dump();
    for (const auto& [key, value] : data.items()) {
        if (key != "reason") {
            dataText += "," + json(key).dump() + ":" + value.dump();
        }
    }
    dataText += "}";
    const std::string errorText = R"({"code":)" + std::to_string(code) + R"(,"message":)" +
                                  json(message).dump() + R"(,"data":)" + dataText + "}";
    return envelope(id, "error", errorText);
}

std::string errorMessage(const json& id, std::string_view reason, json data) {
    service::ApiError error;
    error.reason = std::string(reason);
    error.data = std::move(data);
    return errorMessage(id, error);
}

std::string eventMessage(const json& eventParams) {
    return R"({"jsonrpc":"2.0","method":"event","params":)" + eventParams.dump() + "}";
}

}  // namespace tk::server
