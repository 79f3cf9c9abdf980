#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "card/algorithms.hpp"
#include "card/bytes.hpp"

namespace tk::service::hipki {

// The package of the HiPKI dialect (docs/hipki.md): a JSON object of string values, named by
// `func`.
enum class Function { MakeSignature, DecryptData, GetUserCert, CheckEnvir };

// A package that cannot be read: `badJson` for a value that is not a JSON object with a
// string `func`, else a function or parameter the endpoint does not know.
struct PackageError {
    enum class Kind { BadJson, UnsupportedFunction, BadParameter };
    Kind kind;
    std::string message;
};

struct Package {
    Function function = Function::CheckEnvir;
    std::map<std::string, std::string, std::less<>> values;

    // The value of `name`, "" when absent.
    std::string_view get(std::string_view name) const;
};

// Reads a package. Every member must be a string (the pages send "true"/"false" for
// booleans); nullopt plus `error` otherwise.
std::optional<Package> parsePackage(const nlohmann::json& package, PackageError& error);

// The func of the response to a function: "sign", "decrypt", "pkcs11info".
std::string_view responseFunc(Function function);

// Percent-decoding, once: "%41" -> "A"; "+" stays "+". A text that is not valid
// percent-encoding (a "%" not followed by two hex digits) is returned unchanged: the pages
// encodeURIComponent the PIN and a NONE tbs, but a page that did not must still work.
std::string percentDecodeOnce(std::string_view text);

// hashAlgorithm: "SHA256", "SHA384", "SHA512" (empty: SHA256), "SHA1" (the adapter refuses it
// unless `[hipki] allow_sha1`). nullopt for anything else.
std::optional<card::HashAlgorithm> parseHashAlgorithm(std::string_view name);

// A DER DigestInfo as RSASSA-PKCS1-v1_5 encodes it (RFC 8017 §9.2: the hash OID with NULL
// parameters) for SHA-256, SHA-384, SHA-512 or SHA-1 (refused by the adapter unless
// `[hipki] allow_sha1`), the digest of that hash's length and nothing
// after it. nullopt for anything else (another OID, absent parameters, a digest of another
// length, trailing bytes).
struct DigestInfo {
    card::HashAlgorithm hash;
    card::Bytes digest;
};
std::optional<DigestInfo> parseDigestInfo(card::ByteView der);

}  // namespace tk::service::hipki
