#include <gtest/gtest.h>

#include <stdexcept>

#include "card/apdu.hpp"
#include "card/errors.hpp"
#include "support/fake_piv_card.hpp"

namespace tk::card {
namespace {

using test::hex;

Bytes filled(std::size_t n) {
    Bytes out(n);
    for (std::size_t i = 0; i < n; ++i) {
        out[i] = static_cast<std::uint8_t>(i);
    }
    return out;
}

TEST(CommandApdu, Case1_HeaderOnly) {
    EXPECT_EQ(CommandApdu(0x00, 0x20, 0x00, 0x80).encode(), hex("00200080"));
    EXPECT_EQ(CommandApdu(0x00, 0x20, 0x00, 0x80).encodeExtended(), hex("00200080"));
}

TEST(CommandApdu, Case2Short_Le256EncodedAsZero) {
    EXPECT_EQ(CommandApdu(0x00, 0xC0, 0x00, 0x00, {}, 256).encodeShort(), hex("00C0000000"));
    EXPECT_EQ(CommandApdu(0x00, 0xC0, 0x00, 0x00, {}, 0x12).encodeShort(), hex("00C0000012"));
}

TEST(CommandApdu, Case3Short_LcThenData) {
    EXPECT_EQ(CommandApdu(0x00, 0xCB, 0x3F, 0xFF, hex("5C035FC105")).encodeShort(),
              hex("00CB3FFF055C035FC105"));
}

TEST(CommandApdu, Case4Short_LcDataLe) {
    EXPECT_EQ(CommandApdu(0x00, 0xCB, 0x3F, 0xFF, hex("5C035FC105"), 256).encodeShort(),
              hex("00CB3FFF055C035FC10500"));
}

TEST(CommandApdu, Short_MaximumSizesStillShort) {
    const CommandApdu c(0x00, 0x87, 0x07, 0x9C, filled(255), 256);
    ASSERT_TRUE(c.fitsShort());
    const Bytes e = c.encode();
    ASSERT_EQ(e.size(), 4u + 1 + 255 + 1);
    EXPECT_EQ(e[4], 0xFF);
    EXPECT_EQ(e.back(), 0x00);
}

TEST(CommandApdu, Extended_Case2_ThreeByteLe) {
    EXPECT_EQ(CommandApdu(0x00, 0xCB, 0x3F, 0xFF, {}, 65536).encode(), hex("00CB3FFF000000"));
    EXPECT_EQ(CommandApdu(0x00, 0xCB, 0x3F, 0xFF, {}, 257).encode(), hex("00CB3FFF000101"));
}

TEST(CommandApdu, Extended_Case3_ThreeByteLc) {
    const CommandApdu c(0x00, 0xDB, 0x3F, 0xFF, filled(256));
    const Bytes e = c.encode();
    ASSERT_EQ(e.size(), 4u + 3 + 256);
    EXPECT_EQ(Bytes(e.begin(), e.begin() + 7), hex("00DB3FFF000100"));
    EXPECT_EQ(e[7], 0x00);
    EXPECT_EQ(e.back(), 0xFF);
}

TEST(CommandApdu, Extended_Case4_TwoByteLeAfterData) {
    const CommandApdu c(0x00, 0x87, 0x07, 0x9C, filled(300), 65536);
    const Bytes e = c.encode();
    ASSERT_EQ(e.size(), 4u + 3 + 300 + 2);
    EXPECT_EQ(Bytes(e.begin(), e.begin() + 7), hex("0087079C00012C"));
    EXPECT_EQ(Bytes(e.end() - 2, e.end()), hex("0000"));
}

TEST(CommandApdu, Extended_ShortCommandCanBeForcedExtended) {
    EXPECT_EQ(CommandApdu(0x00, 0xCB, 0x3F, 0xFF, hex("5C017E"), 256).encodeExtended(),
              hex("00CB3FFF0000035C017E0100"));
}

TEST(CommandApdu, EncodeShort_TooLong_Throws) {
    EXPECT_THROW(CommandApdu(0x00, 0xDB, 0x3F, 0xFF, filled(256)).encodeShort(), std::length_error);
    EXPECT_THROW(CommandApdu(0x00, 0xCB, 0x3F, 0xFF, {}, 257).encodeShort(), std::length_error);
}

TEST(CommandApdu, Construct_OutOfRange_Throws) {
    EXPECT_THROW(CommandApdu(0x00, 0xDB, 0x3F, 0xFF, filled(65536)), std::invalid_argument);
    EXPECT_THROW(CommandApdu(0x00, 0xCB, 0x3F, 0xFF, {}, 0), std::invalid_argument);
    EXPECT_THROW(CommandApdu(0x00, 0xCB, 0x3F, 0xFF, {}, 65537), std::invalid_argument);
}

TEST(CommandApdu, Chained_266Bytes_TwoFragmentsCla10ThenCla00) {
    const Bytes data = filled(266);
    const auto fragments = CommandApdu(0x00, 0x87, 0x07, 0x9C, data, 256).encodeChained();
    ASSERT_EQ(fragments.size(), 2u);
    // First: CLA 10, Lc FF, 255 bytes, no Le.
    ASSERT_EQ(fragments[0].size(), 5u + 255);
    EXPECT_EQ(Bytes(fragments[0].begin(), fragments[0].begin() + 5), hex("1087079CFF"));
    EXPECT_EQ(fragments[0][5], 0x00);
    EXPECT_EQ(fragments[0].back(), 254);
    // Last: CLA 00, Lc 0B, 11 bytes, Le 00.
    ASSERT_EQ(fragments[1].size(), 5u + 11 + 1);
    EXPECT_EQ(Bytes(fragments[1].begin(), fragments[1].begin() + 5), hex("0087079C0B"));
    EXPECT_EQ(fragments[1][5], 255);
    EXPECT_EQ(fragments[1].back(), 0x00);
    // Reassembled data is the original.
    Bytes joined(fragments[0].begin() + 5, fragments[0].end());
    joined.insert(joined.end(), fragments[1].begin() + 5, fragments[1].end() - 1);
    EXPECT_EQ(joined, data);
}

TEST(CommandApdu, Chained_ExactMultipleOf255_NoEmptyTail) {
    const auto fragments = CommandApdu(0x00, 0xDB, 0x3F, 0xFF, filled(510)).encodeChained();
    ASSERT_EQ(fragments.size(), 2u);
    EXPECT_EQ(fragments[0][0], 0x10);
    EXPECT_EQ(fragments[1][0], 0x00);
    EXPECT_EQ(fragments[1].size(), 5u + 255);  // no Le
}

TEST(CommandApdu, Chained_FitsInOne_IsPlainShortApdu) {
    const CommandApdu c(0x00, 0x87, 0x11, 0x9C, filled(38), 256);
    const auto fragments = c.encodeChained();
    ASSERT_EQ(fragments.size(), 1u);
    EXPECT_EQ(fragments[0], c.encodeShort());
}

TEST(CommandApdu, Chained_OrsChainingBitIntoCla) {
    const auto fragments = CommandApdu(0x80, 0x87, 0x07, 0x9C, filled(20)).encodeChained(8);
    ASSERT_EQ(fragments.size(), 3u);
    EXPECT_EQ(fragments[0][0], 0x90);
    EXPECT_EQ(fragments[1][0], 0x90);
    EXPECT_EQ(fragments[2][0], 0x80);
    EXPECT_EQ(fragments[2][4], 4);
}

TEST(CommandApdu, Chained_BadArguments_Throw) {
    EXPECT_THROW(CommandApdu(0x00, 0x87, 0x07, 0x9C, filled(10)).encodeChained(0),
                 std::invalid_argument);
    EXPECT_THROW(CommandApdu(0x00, 0x87, 0x07, 0x9C, filled(10)).encodeChained(256),
                 std::invalid_argument);
    EXPECT_THROW(CommandApdu(0x00, 0x87, 0x07, 0x9C, filled(300), 1000).encodeChained(),
                 std::length_error);
}

TEST(ResponseApdu, SplitsDataAndStatusWord) {
    const ResponseApdu r(hex("0102039000"));
    EXPECT_EQ(r.data(), hex("010203"));
    EXPECT_EQ(r.sw(), 0x9000);
    EXPECT_EQ(r.sw1(), 0x90);
    EXPECT_EQ(r.sw2(), 0x00);
    EXPECT_TRUE(r.ok());
}

TEST(ResponseApdu, TakingOverBufferKeepsSameStorage) {
    Bytes raw = hex("AABBCC9000");
    const std::uint8_t* storage = raw.data();
    ResponseApdu r(std::move(raw));
    EXPECT_EQ(r.data().data(), storage);
    EXPECT_EQ(r.data(), hex("AABBCC"));
    r.wipeData();
    EXPECT_EQ(r.data(), hex("000000"));
}

TEST(ResponseApdu, ShorterThanStatusWord_Throws) {
    EXPECT_THROW(ResponseApdu(hex("90")), MalformedData);
    EXPECT_THROW(ResponseApdu(Bytes{}), MalformedData);
}

TEST(ResponseApdu, RetriesLeft_Only63Cx) {
    EXPECT_EQ(ResponseApdu(hex("63C2")).retriesLeft(), 2);
    EXPECT_EQ(ResponseApdu(hex("63C0")).retriesLeft(), 0);
    EXPECT_EQ(ResponseApdu(hex("63CF")).retriesLeft(), 15);
    EXPECT_FALSE(ResponseApdu(hex("6300")).retriesLeft());
    EXPECT_FALSE(ResponseApdu(hex("6983")).retriesLeft());
    EXPECT_FALSE(ResponseApdu(hex("9000")).retriesLeft());
    EXPECT_FALSE(ResponseApdu(hex("62C3")).retriesLeft());
}

}  // namespace
}  // namespace tk::card
