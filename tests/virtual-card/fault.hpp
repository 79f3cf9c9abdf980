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
        Garbage,          // every response replaced by random bytes and a bogus status word
        Truncate,         // every response cut to its first half (at least one byte)
        RemoveOnIns,      // the card is pulled when the next APDU with `ins` arrives (once)
        MoreDataForever,  // every GET RESPONSE answered 61 00 and no data: the end never comes
        WrongLeOnIns,     // every APDU with `ins` and a body answered 6C 08, unseen by the card
    };
    Kind kind = Kind::None;
    std::uint8_t ins = 0;

    // "none", "garbage", "truncate", "more-data-forever", "remove-on-ins XX",
    // "wrong-le-on-ins XX" (also "...:XX" / "...=XX").
    static std::optional<Fault> parse(std::string_view text);
    std::string describe() const;
};

// The bytes actually sent for `response` under a Garbage or Truncate fault.
Bytes apply_fault(const Fault& fault, const Bytes& response);

// The answer the fault gives to `command` in place of the card, if it takes the command
// (MoreDataForever: GET RESPONSE; WrongLeOnIns: a command with INS `ins` and a body).
std::optional<Bytes> fault_answer(const Fault& fault, ByteView command);

}  // namespace tk::vcard
