#include <gtest/gtest.h>

#include "card/pinpad.hpp"
#include "support/fake_piv_card.hpp"

namespace tk::card {
namespace {

using test::hex;

TEST(Pinpad, VerifyStructure_PivPinLayout) {
    pinpad::EntryFormat format;
    format.timeoutSeconds = 30;
    const Bytes apdu = hex("0020008008FFFFFFFFFFFFFFFF");
    EXPECT_EQ(pinpad::buildVerifyStructure(format, apdu),
              hex("1E 00"        // bTimerOut 30 s, bTimerOut2
                  "02"           // bmFormatString: ASCII, PIN at offset 0
                  "08"           // bmPINBlockString: 8-byte block
                  "00"           // bmPINLengthFormat
                  "08 06"        // wPINMaxExtraDigit 0x0608 (min 6, max 8), little-endian
                  "02"           // bEntryValidationCondition: OK key
                  "01"           // bNumberMessage
                  "09 04"        // wLangId 0x0409
                  "00"           // bMsgIndex
                  "00 00 00"     // bTeoPrologue
                  "0D 00 00 00"  // ulDataLength 13
                  "00 20 00 80 08 FF FF FF FF FF FF FF FF"));
}

TEST(Pinpad, ModifyStructure_ChangePinLayout) {
    pinpad::EntryFormat format;
    const Bytes apdu =
        hex("0024008010"
            "FFFFFFFFFFFFFFFF"
            "FFFFFFFFFFFFFFFF");
    EXPECT_EQ(pinpad::buildModifyStructure(format, 0x00, 0x08, 0x03, apdu),
              hex("3C 00 02 08 00"  // timeouts (60 s default), format, block, length format
                  "00 08"           // bInsertionOffsetOld, bInsertionOffsetNew
                  "08 06"           // wPINMaxExtraDigit
                  "03"              // bConfirmPIN: current PIN and confirmation
                  "02"              // bEntryValidationCondition
                  "03"              // bNumberMessage: three prompts
                  "09 04"           // wLangId
                  "00 01 02"        // bMsgIndex1..3
                  "00 00 00"        // bTeoPrologue
                  "15 00 00 00"     // ulDataLength 21
                  "00 24 00 80 10 FFFFFFFFFFFFFFFF FFFFFFFFFFFFFFFF"));
}

TEST(Pinpad, ModifyStructure_NoCurrentPin_TwoPrompts) {
    const Bytes apdu =
        hex("002C008010"
            "FFFFFFFFFFFFFFFF"
            "FFFFFFFFFFFFFFFF");
    const Bytes s = pinpad::buildModifyStructure({}, 0, 8, 0x01, apdu);
    EXPECT_EQ(s[9], 0x01);
    EXPECT_EQ(s[11], 0x02);
}

TEST(Pinpad, ApduTemplateOfImpossibleLength_Throws) {
    EXPECT_THROW(pinpad::buildVerifyStructure({}, hex("0020")), std::invalid_argument);
}

}  // namespace
}  // namespace tk::card
