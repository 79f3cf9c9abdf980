#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "service/api.hpp"

namespace tk::server {

inline constexpr std::string_view kHipkiCallMethod = "hipki.call";

// `hipki.call {package}` (docs/hipki.md): the HiPKI popup page's one method, on a bridge
// connection that attached to the page's origin. nullopt: the call goes on, as that origin;
// else the reason it is refused: METHOD_NOT_FOUND unless the HiPKI endpoint is enabled and the
// connection is a bridge connection (an attached one: the bridge step already refused the
// rest), INVALID_PARAMS (with data.field) unless params are exactly {"package": object}.
struct HipkiRefusal {
    std::string reason;
    nlohmann::json data = nlohmann::json::object();
};
std::optional<HipkiRefusal> judgeHipkiCall(bool enabled, bool bridge, bool attached,
                                           const nlohmann::json& params);

// The API completion of a HiPKI response: always a result (HiPKI failures are ret_codes).
inline void completeHipki(const service::Completion& done, nlohmann::json response) {
    done(std::move(response), std::nullopt);
}

}  // namespace tk::server
