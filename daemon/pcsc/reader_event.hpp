#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "pcsc/card_channel.hpp"

namespace tk::pcsc {

// What ReaderMonitor reports. A consumer that applies the events in order has an exact view of
// the readers and cards: after ServiceAvailable come ReaderAdded (and CardInserted) for
// everything present, and before ServiceUnavailable come CardRemoved and ReaderRemoved for
// everything that was.
struct ReaderEvent {
    enum class Type : std::uint8_t {
        ServiceAvailable,    // a context with pcscd exists (at start, and after it came back)
        ServiceUnavailable,  // pcscd is not there or went away; `detail` says why
        ReaderAdded,
        ReaderRemoved,
        CardInserted,  // `atr` holds the card's ATR
        CardRemoved,
    };

    Type type;
    std::string reader;  // empty for the service events
    Bytes atr;
    std::string detail;

    bool operator==(const ReaderEvent&) const = default;
};

std::string_view toString(ReaderEvent::Type type) noexcept;

}  // namespace tk::pcsc
