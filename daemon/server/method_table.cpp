#include "server/method_table.hpp"

#include <array>

namespace tk::server {

namespace {

using service::Capability;

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

std::span<const MethodInfo> apiMethods() noexcept {
    return kMethods;
}

const MethodInfo* findMethod(std::string_view name) noexcept {
    for (const auto& m : kMethods) {
        if (m.name == name) {
            return &m;
        }
    }
    return nullptr;
}

}  // namespace tk::server
