#include "service/capabilities.hpp"

#include <array>
#include <utility>

namespace tk::service {
namespace {

constexpr std::array<std::pair<Capability, std::string_view>, 5> kNames{{
    {Capability::Read, "read"},
    {Capability::Sign, "sign"},
    {Capability::Decrypt, "decrypt"},
    {Capability::Register, "register"},
    {Capability::Manage, "manage"},
}};

}  // namespace

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
