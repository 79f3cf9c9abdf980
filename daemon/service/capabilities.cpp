#include "service/capabilities.hpp"

#include <array>
#include <utility>

namespace tk::service {
namespace {

constexpr std::array<std::pair<Capability, std::string_view>, 7> kNames{{
    {Capability::Read, "read"},
    {Capability::Sign, "sign"},
    {Capability::Decrypt, "decrypt"},
    {Capability::Register, "register"},
    {Capability::Manage, "manage"},
    {Capability::SignRaw, "sign-raw"},
    {Capability::SignCms, "sign-cms"},
}};

constexpr std::array<MethodInfo, 12> kMethods{{
    {"system.info", Capability::Read},
    {"readers.list", Capability::Read},
    {"events.subscribe", Capability::Read},
    {"certificates.list", Capability::Read},
    {"pin.status", Capability::Read},
    {"pin.verify", Capability::Manage},
    {"pin.change", Capability::Manage},
    {"pin.unblock", Capability::Manage},
    {"puk.change", Capability::Manage},
    {"sign", Capability::Sign},
    {"decrypt", Capability::Decrypt},
    {"register", Capability::Register},
}};

}  // namespace

bool admits(const Capabilities& capabilities, const MethodInfo& method) noexcept {
    return capabilities.has(method.capability) ||
           (method.capability == Capability::Sign && capabilities.has(Capability::SignCms));
}

std::span<const MethodInfo> apiMethods() noexcept {
    return kMethods;
}

const MethodInfo* findMethod(std::string_view name) noexcept {
    for (const MethodInfo& method : kMethods) {
        if (method.name == name) {
            return &method;
        }
    }
    return nullptr;
}

std::optional<Capability> capabilityFromName(std::string_view name) {
    for (const auto& [capability, text] : kNames) {
        if (text == name) {
            return capability;
        }
    }
    return std::nullopt;
}

std::string_view capabilityName(Capability c) {
    for (const auto& [capability, text] : kNames) {
        if (capability == c) {
            return text;
        }
    }
    return "unknown";
}

}  // namespace tk::service
