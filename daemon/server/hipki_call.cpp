#include "server/hipki_call.hpp"

namespace tk::server {

std::optional<HipkiRefusal> judgeHipkiCall(bool enabled, bool bridge, bool attached,
                                           const nlohmann::json& params) {
    if (!enabled || !bridge) {
        return HipkiRefusal{"METHOD_NOT_FOUND"};
    }
    if (!attached) {
        return HipkiRefusal{"NOT_ATTACHED"};
    }
    if (!params.is_object()) {
        return HipkiRefusal{"INVALID_PARAMS"};
    }
    for (const auto& [name, value] : params.items()) {
        if (name != "package") {
            return HipkiRefusal{"INVALID_PARAMS", {{"field", name}}};
        }
    }
    const auto it = params.find("package");
    if (it == params.end() || !it->is_object()) {
        return HipkiRefusal{"INVALID_PARAMS", {{"field", "package"}}};
    }
    return std::nullopt;
}

}  // namespace tk::server
