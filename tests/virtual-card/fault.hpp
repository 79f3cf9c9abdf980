#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "bytes.hpp"

namespace tk::vcard {

// Transport faults the card can inject for the host's error handling to be tested.
struct Fault {
    enum class Kind {
        None,
        Garbage,      // every response replaced by random bytes and a bogus status word
        Truncate,     // every response cut to its first half (at least one byte)
        RemoveOnIns,  // the card is pulled when the next APDU with `ins` arrives (once)
    };
    Kind kind = Kind::None;
    std::uint8_t ins = 0;

    // "none", "garbage", "truncate", "remove-on-ins XX" (also "remove-on-ins:XX" / "=XX").
    static std::optional<Fault> parse(std::string_view text);
    std::string describe() const;
};

// The bytes actually sent for `response` under a Garbage or Truncate fault.
Bytes apply_fault(const Fault& fault, const Bytes& response);

}  // namespace tk::vcard
