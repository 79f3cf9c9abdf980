#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "bytes.hpp"

namespace tk::vcard {

// Status words the card answers with (ISO 7816-4 / SP 800-73-4 Part 2).
namespace sw {
constexpr std::uint16_t kOk = 0x9000;
constexpr std::uint16_t kBytesRemaining = 0x6100;  // | remaining (00 = 256 or more)
constexpr std::uint16_t kWrongPinBase = 0x63C0;    // | tries left
constexpr std::uint16_t kWrongLength = 0x6700;
constexpr std::uint16_t kSecurityNotSatisfied = 0x6982;
constexpr std::uint16_t kAuthBlocked = 0x6983;
constexpr std::uint16_t kConditionsNotSatisfied = 0x6985;
constexpr std::uint16_t kWrongData = 0x6A80;
constexpr std::uint16_t kFunctionNotSupported = 0x6A81;
constexpr std::uint16_t kNotFound = 0x6A82;
constexpr std::uint16_t kNotEnoughMemory = 0x6A84;
constexpr std::uint16_t kWrongP1P2 = 0x6A86;
constexpr std::uint16_t kRefDataNotFound = 0x6A88;
constexpr std::uint16_t kInsNotSupported = 0x6D00;
constexpr std::uint16_t kClaNotSupported = 0x6E00;
constexpr std::uint16_t kNoPreciseDiagnosis = 0x6F00;
}  // namespace sw

// A parsed command APDU (ISO 7816-4 cases 1-4, short and extended).
struct CommandApdu {
    std::uint8_t cla = 0;
    std::uint8_t ins = 0;
    std::uint8_t p1 = 0;
    std::uint8_t p2 = 0;
    Bytes data;
    bool le_present = false;
    std::size_t ne = 0;  // bytes expected when le_present: 1..256 short, 1..65536 extended
    bool extended = false;

    // nullopt when the bytes are not a well-formed APDU.
    static std::optional<CommandApdu> parse(ByteView raw);

    // "cla=00 ins=87 p1=07 p2=9c lc=266 le=0": header and lengths only, never data bytes.
    std::string header_text() const;
};

}  // namespace tk::vcard
