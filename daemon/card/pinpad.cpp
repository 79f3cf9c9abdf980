#include "card/pinpad.hpp"

#include <stdexcept>

namespace tk::card::pinpad {

namespace {

void put16le(Bytes& out, std::uint16_t v) {
    out.push_back(static_cast<std::uint8_t>(v & 0xFF));
    out.push_back(static_cast<std::uint8_t>(v >> 8));
}

void put32le(Bytes& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) {
        out.push_back(static_cast<std::uint8_t>((v >> (8 * i)) & 0xFF));
    }
}

std::uint16_t minMax(const EntryFormat& f) {
    // wPINMaxExtraDigit = 0xXXYY, XX minimum and YY maximum number of digits.
    return static_cast<std::uint16_t>((f.minDigits << 8) | f.maxDigits);
}

void checkApdu(ByteView apdu) {
    if (apdu.size() < 4 || apdu.size() > 261) {
        throw std::invalid_argument("pinpad APDU template of impossible length");
    }
}

}  // namespace

Bytes buildVerifyStructure(const EntryFormat& f, ByteView apdu) {
    checkApdu(apdu);
    Bytes out;
    out.push_back(f.timeoutSeconds);  // bTimerOut
    out.push_back(0x00);              // bTimerOut2: same as bTimerOut
    out.push_back(f.formatString);
    out.push_back(f.pinBlockString);
    out.push_back(f.pinLengthFormat);
    put16le(out, minMax(f));
    out.push_back(f.entryValidation);
    out.push_back(0x01);  // bNumberMessage: one prompt ("enter PIN")
    put16le(out, f.langId);
    out.push_back(0x00);                        // bMsgIndex
    out.insert(out.end(), {0x00, 0x00, 0x00});  // bTeoPrologue
    put32le(out, static_cast<std::uint32_t>(apdu.size()));
    out.insert(out.end(), apdu.begin(), apdu.end());
    return out;
}

Bytes buildModifyStructure(const EntryFormat& f, std::uint8_t offsetOld, std::uint8_t offsetNew,
                           std::uint8_t confirmPin, ByteView apdu) {
    checkApdu(apdu);
    Bytes out;
    out.push_back(f.timeoutSeconds);
    out.push_back(0x00);
    out.push_back(f.formatString);
    out.push_back(f.pinBlockString);
    out.push_back(f.pinLengthFormat);
    out.push_back(offsetOld);  // bInsertionOffsetOld
    out.push_back(offsetNew);  // bInsertionOffsetNew
    put16le(out, minMax(f));
    out.push_back(confirmPin);
    out.push_back(f.entryValidation);
    // bNumberMessage: one prompt per entry (current PIN, new PIN, confirmation); bMsgIndex1..3.
    const int prompts = 1 + (confirmPin & 0x01) + ((confirmPin >> 1) & 0x01);
    out.push_back(static_cast<std::uint8_t>(prompts));
    put16le(out, f.langId);
    out.insert(out.end(), {0x00, 0x01, 0x02});
    out.insert(out.end(), {0x00, 0x00, 0x00});  // bTeoPrologue
    put32le(out, static_cast<std::uint32_t>(apdu.size()));
    out.insert(out.end(), apdu.begin(), apdu.end());
    return out;
}

}  // namespace tk::card::pinpad
