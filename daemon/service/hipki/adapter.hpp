#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "service/api.hpp"

namespace tk::service::hipki {

// serverVersion: the vendor's pages compare it as a string against their minimums
// ("1.3.4.103328" Windows, "1.3.4.13" macOS, "1.3.4.3" Linux, chosen by navigator.appVersion).
// The Windows number itself fails the Linux test as a string ("1.3.4.1..." < "1.3.4.3"); this
// default passes all three, as a string and segment by segment.
inline constexpr std::string_view kDefaultServerVersion = "1.3.4.999999";

struct AdapterOptions {
    std::string serverVersion = std::string(kDefaultServerVersion);
    // `[hipki] allow_sha1`: MakeSignature may use SHA-1 (hashAlgorithm SHA1, or a RAW SHA-1
    // DigestInfo); each such signature is logged.
    bool allowSha1 = false;
};

// The HiPKI response object (docs/hipki.md), given exactly once, from any thread.
using ResponseHandler = std::function<void(nlohmann::json response)>;

// Maps HiPKI packages to the API's methods and their results and errors to HiPKI responses.
// Every card operation goes through `api` with the caller's context, so capabilities, key
// roles (a raw signature with a key that also registers needs sign-raw), PIN rules and time
// limits are the API's. The choice of the key (the card's signing or decryption key by the key
// roles) reads readers.list and certificates.list with the read capability added: the
// signature and its certificate are the answer either way.
class Adapter {
  public:
    Adapter(Api& api, AdapterOptions options);

    // `package` is the caller's mutable copy: its pin is taken out and wiped at once.
    void call(const CallContext& context, nlohmann::json& package, ResponseHandler done) const;

  private:
    Api& api_;
    AdapterOptions options_;
};

}  // namespace tk::service::hipki
