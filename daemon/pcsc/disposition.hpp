#pragma once

#include <cstdint>

namespace tk::pcsc {

// What happens to the card when a handle lets go of it (disconnect, end of transaction) or
// reconnects. Leave keeps the card as it is, which other applications sharing the card rely
// on; Reset is a warm reset, the way to drop a verified PIN and the selected application.
enum class Disposition : std::uint8_t {
    Leave,
    Reset,
    Unpower,
    Eject,
};

}  // namespace tk::pcsc
