#pragma once

#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "service/api.hpp"

namespace tk::server {

// A JSON-RPC 2.0 request as the envelope rules of protocol/README.md §2 accept it.
struct Request {
    nlohmann::json id;      // an integer (also when written 7.0) or a string of 1-128 characters
    std::string method;     // non-empty; not yet checked against the method list
    nlohmann::json params;  // an object ({} when omitted) or an array (by position)
};

// A message answered without calling the service: `reason` is PARSE_ERROR or
// INVALID_REQUEST, `id` what the response carries (null when the request's id is not valid).
struct Refusal {
    nlohmann::json id;
    std::string reason;
    std::string method;  // for the log line; empty when unknown
};

// Reads one text message. Checks, in order: JSON (PARSE_ERROR, id null), repeated member
// names and batches (INVALID_REQUEST, id null), the id (INVALID_REQUEST, id null), then
// jsonrpc, method, params and extra members (INVALID_REQUEST with the id).
std::variant<Request, Refusal> readRequest(std::string_view text);

// Response texts. The error's `data.reason` is set from `error.reason`; a missing code or
// message is taken from the reason table.
std::string resultMessage(const nlohmann::json& id, const nlohmann::json& result);
std::string errorMessage(const nlohmann::json& id, const service::ApiError& error);
std::string errorMessage(const nlohmann::json& id, std::string_view reason,
                         nlohmann::json data = nlohmann::json::object());
std::string eventMessage(const nlohmann::json& eventParams);

}  // namespace tk::server
