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

// The digest of `data` by `md`, computed by OpenSSL.
std::string digestOf(const EVP_MD* md, const std::string& data);

// RSASSA-PKCS1-v1_5 verification by OpenSSL of `signature` over `digest`, a digest of `md`,
// with the public key of a DER certificate given as base64.
bool verifyPkcs1(const std::string& certificateBase64, const EVP_MD* md, const std::string& digest,
                 const std::string& signature);

}  // namespace tk::test
