#pragma once

#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

namespace tk::service::hipki {

// The origin a local program's calls carry: in the logs, and where the API names a caller.
inline constexpr std::string_view kLocalProgramOrigin = "local-program";

// The HiPKI function a POST path names: /sign MakeSignature, /decrypt DecryptData, /pkcs11info
// GetUserCert (with the query withcert=true) or CheckEnvir. nullopt: not one of them.
std::optional<std::string_view> localProgramFunction(std::string_view path, bool withCert);

// The package of a local program's POST, as the vendor's clients send it: the body
// `tbsPackage=<JSON>` (the JSON as it is, or form-encoded), or the JSON object alone. The path
// decides the function: its `func` replaces the package's. /pkcs11info reads no body. A body
// that holds no JSON object gives a package the adapter answers as bad JSON. The body may hold
// a PIN: every copy this makes of it is wiped; the caller wipes `body`.
nlohmann::json localProgramPackage(std::string_view function, std::string_view body);

}  // namespace tk::service::hipki
