#pragma once

#include <openssl/evp.h>

#include <memory>
#include <string>

namespace tk::test {

// Standard base64 (with padding) of and to binary bytes held in a std::string.
std::string base64Decode(const std::string& text);
std::string base64Encode(const std::string& bytes);

using PKey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

// The public key of a DER certificate given as base64; throws when it does not parse.
PKey publicKeyOf(const std::string& certificateBase64);

// The PEM text of a DER certificate; throws when it does not parse.
std::string certificatePemOf(const std::string& der);

}  // namespace tk::test
