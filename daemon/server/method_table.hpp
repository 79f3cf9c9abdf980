#pragma once

#include <span>
#include <string_view>

#include "service/capabilities.hpp"

namespace tk::server {

// One method of API v1 and the capability an origin needs to call it.
struct MethodInfo {
    std::string_view name;
    service::Capability capability;
};

// The methods of protocol/schema/index.json. The server needs them because the protocol
// fixes the order of checks METHOD_NOT_FOUND -> NOT_PERMITTED -> BUSY: an unknown or
// forbidden method is not BUSY, even on a connection with every slot taken.
std::span<const MethodInfo> apiMethods() noexcept;
const MethodInfo* findMethod(std::string_view name) noexcept;

}  // namespace tk::server
