#pragma once

#include <string_view>

namespace tk::pcsc {

// Readers of the vsmartcard vpcd driver ("Virtual PCD 00 00", ...). Such a reader accepts a
// card from any host that can reach its TCP port, so the daemon only uses them in
// development mode.
bool isVirtualReader(std::string_view readerName) noexcept;

}  // namespace tk::pcsc
