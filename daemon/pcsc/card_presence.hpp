#pragma once

#include <cstdint>

namespace tk::pcsc {

// How a reader's card changed between two SCardGetStatusChange results (dwEventState values).
// Both flags set: the card seen before was taken out and a card is in again — possibly the same
// one, possibly another. It happened faster than one wait-and-look round trip, so only pcscd's
// per-reader event counter (upper 16 bits of dwEventState, bumped on every insertion and
// removal) shows it.
struct CardPresenceChange {
    bool removed = false;
    bool inserted = false;

    bool operator==(const CardPresenceChange&) const = default;
};

// A card is in the reader (powered or not, even if mute) and the reader itself is usable.
bool cardPresent(std::uint32_t eventState) noexcept;

std::uint16_t cardEventCounter(std::uint32_t eventState) noexcept;

// `previous` 0 (SCARD_STATE_UNAWARE) means the reader had not been looked at yet, so a card
// present now counts as inserted. A card that came and went between two looks (absent both
// times) is not reported: there is nothing left to act on.
CardPresenceChange cardPresenceChange(std::uint32_t previous, std::uint32_t current) noexcept;

}  // namespace tk::pcsc
