#include "pcsc/card_presence.hpp"

#include "pcsc/detail/winscard.hpp"

namespace tk::pcsc {

bool cardPresent(std::uint32_t eventState) noexcept {
    constexpr std::uint32_t kReaderUnusable = SCARD_STATE_UNAVAILABLE | SCARD_STATE_UNKNOWN;
    return (eventState & SCARD_STATE_PRESENT) != 0 && (eventState & kReaderUnusable) == 0;
}

std::uint16_t cardEventCounter(std::uint32_t eventState) noexcept {
    return static_cast<std::uint16_t>(eventState >> 16);
}

CardPresenceChange cardPresenceChange(std::uint32_t previous, std::uint32_t current) noexcept {
    const bool before = cardPresent(previous);
    const bool now = cardPresent(current);
    if (before && now) {
        const bool swapped = cardEventCounter(previous) != cardEventCounter(current);
        return {.removed = swapped, .inserted = swapped};
    }
    return {.removed = before && !now, .inserted = !before && now};
}

}  // namespace tk::pcsc
