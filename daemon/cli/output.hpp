#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "card/bytes.hpp"
#include "card/token.hpp"
#include "crypto/certificate.hpp"

namespace tk::cli {

std::string base64(card::ByteView bytes);
// PEM with 64-character lines, e.g. label "CERTIFICATE".
std::string pem(card::ByteView der, const std::string& label);

// "never", "once", "always".
std::string pinPolicyName(card::PinPolicy policy);

// The lines of `tenderkey certs` that show the certificate facts (business number, GPKI
// holder type and card, policies, extended key usage, SHA-256 fingerprint), each indented by
// four spaces and ending in a newline; facts the certificate does not state are left out,
// except the fingerprint.
std::string certificateFactsText(const crypto::CertificateInfo& info);

// One JSON document on standard output.
void printJson(const nlohmann::json& document);

}  // namespace tk::cli
