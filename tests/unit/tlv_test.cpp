#include <gtest/gtest.h>

#include <random>
#include <stdexcept>

#include "card/tlv.hpp"
#include "support/fake_piv_card.hpp"

namespace tk::card {
namespace {

using test::hex;

Bytes of(ByteView v) {
    return Bytes(v.begin(), v.end());
}

TEST(Tlv, ParseOne_ShortForm) {
    const Bytes in = hex("8003AABBCC");
    const Tlv t = parseTlv(in);
    EXPECT_EQ(t.tag, 0x80u);
    EXPECT_EQ(of(t.value), hex("AABBCC"));
    EXPECT_EQ(t.encoded.size(), 5u);
    EXPECT_FALSE(t.constructed());
}

TEST(Tlv, ParseOne_IgnoresTrailingBytes) {
    const Bytes in =
        hex("8001AA"
            "FFFF");
    EXPECT_EQ(parseTlv(in).encoded.size(), 3u);
}

TEST(Tlv, ParseOne_MultiByteTags) {
    EXPECT_EQ(parseTlv(hex("7F4900")).tag, 0x7F49u);
    EXPECT_EQ(parseTlv(hex("5FC10500")).tag, 0x5FC105u);
    EXPECT_EQ(parseTlv(hex("5F818101"
                           "00"))
                  .tag,
              0x5F818101u);
    EXPECT_TRUE(parseTlv(hex("7F4900")).constructed());
}

TEST(Tlv, ParseOne_LongFormLengths) {
    Bytes in = hex("53 81 80");
    in.resize(in.size() + 0x80, 0x11);
    EXPECT_EQ(parseTlv(in).value.size(), 0x80u);

    Bytes big = hex("53 82 01 00");
    big.resize(big.size() + 256, 0x22);
    EXPECT_EQ(parseTlv(big).value.size(), 256u);

    // Non-minimal lengths are valid BER.
    EXPECT_EQ(of(parseTlv(hex("80 81 01 AA")).value), hex("AA"));
}

TEST(Tlv, ParseOne_EmptyValue) {
    const Tlv t = parseTlv(hex("8200"));
    EXPECT_TRUE(t.value.empty());
    EXPECT_EQ(t.encoded.size(), 2u);
}

TEST(Tlv, Malformed_Rejected) {
    const char* cases[] = {
        "",                  // nothing
        "00",                // padding byte as a tag
        "FF01AA",            // FF as a tag
        "53",                // tag without length
        "5F",                // multi-byte tag cut short
        "5FC1",              // multi-byte tag still continuing
        "5F81818101 00",     // tag of five bytes
        "5304AABBCC",        // value shorter than its length
        "5381",              // long length cut short
        "538201",            // long length cut short
        "538201 00",         // 256 announced, none there
        "5380",              // indefinite length
        "538300000100",      // length field of four bytes
        "5384000000010000",  // length field of five bytes
        "5385FFFFFFFFFF",    // absurd length
    };
    for (const char* c : cases) {
        const Bytes in = hex(c);
        EXPECT_THROW(parseTlv(in), TlvError) << c;
    }
}

TEST(Tlv, ParseAll_SequenceMustCoverInputExactly) {
    const auto all = parseTlvs(hex("8001AA 8100 7C03820101"));
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[2].tag, 0x7Cu);
    EXPECT_THROW(parseTlvs(hex("8001AA 81")), TlvError);
    EXPECT_THROW(parseTlvs(hex("8001AA 00")), TlvError);
    EXPECT_TRUE(parseTlvs({}).empty());
}

TEST(Tlv, Find_TopLevelOnly) {
    const Bytes in = hex("7C 04 8202 AABB  82 01 CC");
    const auto found = findTlv(in, 0x82);
    ASSERT_TRUE(found);
    EXPECT_EQ(of(found->value), hex("CC"));
    EXPECT_FALSE(findTlv(in, 0x85));
}

TEST(Tlv, Find_MalformedSequence_Throws) {
    EXPECT_THROW(findTlv(hex("8201AA 8305"), 0x82), TlvError);
}

TEST(Tlv, FindPath_Nested) {
    const Bytes in = hex("53 0C 7C 0A 82 02 1122 81 04 AABBCCDD");
    const auto r = findTlvPath(in, {0x53, 0x7C, 0x81});
    ASSERT_TRUE(r);
    EXPECT_EQ(of(r->value), hex("AABBCCDD"));
    EXPECT_FALSE(findTlvPath(in, {0x53, 0x7C, 0x85}));
    EXPECT_FALSE(findTlvPath(in, {0x54}));
}

TEST(Tlv, FindPath_PrimitiveValueThatIsNotTlv_Throws) {
    const Bytes in = hex("80 02 1122");
    EXPECT_THROW(findTlvPath(in, {0x80, 0x82}), TlvError);
}

TEST(Tlv, FindPath_MalformedInner_Throws) {
    const Bytes in = hex("7C 03 82 05 11");
    EXPECT_THROW(findTlvPath(in, {0x7C, 0x82}), TlvError);
}

TEST(Tlv, EncodeLength_OneTwoThreeBytes) {
    EXPECT_EQ(encodeTlvLength(0), hex("00"));
    EXPECT_EQ(encodeTlvLength(127), hex("7F"));
    EXPECT_EQ(encodeTlvLength(128), hex("8180"));
    EXPECT_EQ(encodeTlvLength(255), hex("81FF"));
    EXPECT_EQ(encodeTlvLength(256), hex("820100"));
    EXPECT_EQ(encodeTlvLength(65535), hex("82FFFF"));
    EXPECT_THROW(encodeTlvLength(65536), std::length_error);
}

TEST(Tlv, EncodeTag) {
    EXPECT_EQ(encodeTlvTag(0x53), hex("53"));
    EXPECT_EQ(encodeTlvTag(0x7F49), hex("7F49"));
    EXPECT_EQ(encodeTlvTag(0x5FC105), hex("5FC105"));
    EXPECT_THROW(encodeTlvTag(0), std::invalid_argument);
}

TEST(Tlv, EncodeThenParse_RoundTrip) {
    for (const std::size_t n : {0u, 1u, 127u, 128u, 255u, 256u, 1000u, 65535u}) {
        const Bytes value(n, 0x5A);
        const Bytes encoded = encodeTlv(0x5FC10A, value);
        const Tlv t = parseTlv(encoded);
        EXPECT_EQ(t.tag, 0x5FC10Au);
        EXPECT_EQ(t.value.size(), n);
        EXPECT_EQ(t.encoded.size(), encoded.size());
    }
}

// Random and mutated inputs: everything either parses inside the input's bounds or throws
// TlvError; under the sanitizers an out-of-bounds read would abort the test.
TEST(Tlv, RandomInputs_ParseWithinBoundsOrThrow) {
    std::mt19937 rng(20240601);
    const Bytes seed =
        hex("53 0F 70 08 30 06 02 01 01 02 01 02 71 01 00 FE 00 7C 06 82 00 81 02 AB CD");
    for (int round = 0; round < 20000; ++round) {
        Bytes in;
        if (round % 2 == 0) {
            in = seed;
            const int mutations = 1 + static_cast<int>(rng() % 4);
            for (int m = 0; m < mutations; ++m) {
                in[rng() % in.size()] = static_cast<std::uint8_t>(rng());
            }
            in.resize(rng() % (in.size() + 1));
        } else {
            in.resize(rng() % 16);
            for (auto& b : in) {
                b = static_cast<std::uint8_t>(rng());
            }
        }
        try {
            for (const Tlv& t : parseTlvs(in)) {
                ASSERT_GE(t.value.data(), in.data());
                ASSERT_LE(t.value.data() + t.value.size(), in.data() + in.size());
                if (t.constructed()) {
                    (void)findTlvPath(t.encoded, {t.tag, 0x82});
                }
            }
        } catch (const TlvError&) {
        }
    }
}

}  // namespace
}  // namespace tk::card
