#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "card/bytes.hpp"
#include "card/token.hpp"

namespace tk::cli {

std::string base64(card::ByteView bytes);
// PEM with 64-character lines, e.g. label "CERTIFICATE".
std::string pem(card::ByteView der, const std::string& label);

// "never", "once", "always".
std::string pinPolicyName(card::PinPolicy policy);

// One JSON document on standard output.
void printJson(const nlohmann::json& document);

}  // namespace tk::cli
