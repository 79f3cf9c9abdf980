#pragma once

#include <cstdint>

#include "card/bytes.hpp"

namespace tk::card {

// PC/SC part 10 (CCID) secure PIN entry: the reader's keypad collects the PIN and inserts it
// into an APDU template, so the PIN never reaches the host.
namespace pinpad {

inline constexpr std::uint8_t kFeatureVerifyPinDirect = 0x06;
inline constexpr std::uint8_t kFeatureModifyPinDirect = 0x07;

// How the PIN is formatted inside the APDU template. The defaults describe the PIV PIN: ASCII
// digits at the start of an 8-byte block that the template has pre-filled with FF.
struct EntryFormat {
    std::uint8_t timeoutSeconds = 60;  // bTimerOut; 0 would mean the reader's default
    // bmFormatString: bits 1-0 = 10 ASCII, left justified, PIN at position 0 of the data.
    std::uint8_t formatString = 0x02;
    // bmPINBlockString: no PIN length field, 8-byte PIN block.
    std::uint8_t pinBlockString = 0x08;
    std::uint8_t pinLengthFormat = 0x00;  // bmPINLengthFormat: no PIN length in the APDU
    std::uint8_t minDigits = 6;
    std::uint8_t maxDigits = 8;
    std::uint8_t entryValidation = 0x02;  // bEntryValidationCondition: the OK key
    std::uint16_t langId = 0x0409;        // wLangId: English (United States)
};

// PIN_VERIFY_STRUCTURE followed by the APDU template (abData). Multi-byte fields are
// little-endian, as CCID and pcsc-lite's reader.h lay them out on the hosts we run on.
Bytes buildVerifyStructure(const EntryFormat& format, ByteView apdu);

// PIN_MODIFY_STRUCTURE followed by the APDU template. `offsetNew` is where the new PIN starts
// in the command data (after the current PIN block); both entries use `format`.
// `confirmPin` is bConfirmPIN: bit 0 asks for the new PIN twice, bit 1 asks for the current
// PIN.
Bytes buildModifyStructure(const EntryFormat& format, std::uint8_t offsetOld,
                           std::uint8_t offsetNew, std::uint8_t confirmPin, ByteView apdu);

}  // namespace pinpad
}  // namespace tk::card
