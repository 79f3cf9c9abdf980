#include <gtest/gtest.h>

#include "service/base64.hpp"

namespace tk::service {
namespace {

card::Bytes bytes(std::string_view text) {
    return card::Bytes(text.begin(), text.end());
}

TEST(Base64, EncodesWithPadding) {
    EXPECT_EQ(encodeBase64(bytes("")), "");
    EXPECT_EQ(encodeBase64(bytes("f")), "Zg==");
    EXPECT_EQ(encodeBase64(bytes("fo")), "Zm8=");
    EXPECT_EQ(encodeBase64(bytes("foo")), "Zm9v");
    EXPECT_EQ(encodeBase64(bytes("foobar")), "Zm9vYmFy");
    EXPECT_EQ(encodeBase64(card::Bytes{0xFB, 0xFF}), "+/8=");
}

TEST(Base64, DecodesWhatItEncodes) {
    card::Bytes all;
    for (int i = 0; i < 256; ++i) {
        all.push_back(static_cast<std::uint8_t>(i));
        EXPECT_EQ(decodeBase64(encodeBase64(all)), all) << i;
    }
}

TEST(Base64, RefusesAnythingButCanonicalPaddedStandardBase64) {
    for (const char* text : {
             "Zg",        // no padding
             "Zg=",       // short padding
             "Zh==",      // unused bits set (non-canonical)
             "Zm9=",      // unused bits set
             "Zg==Zg==",  // padding inside
             "Z===",      // too much padding
             "Zm9v\n",    // line break
             "Zm 9v",     // space
             "Zm9v-_==",  // URL-safe alphabet
             "=Zm9",      // padding first
         }) {
        EXPECT_FALSE(decodeBase64(text).has_value()) << text;
    }
    EXPECT_EQ(decodeBase64(""), card::Bytes{});
}

TEST(Base64, DecodedSizeFromLength) {
    EXPECT_EQ(decodedBase64Size(""), 0u);
    EXPECT_EQ(decodedBase64Size("Zg=="), 1u);
    EXPECT_EQ(decodedBase64Size("Zm8="), 2u);
    EXPECT_EQ(decodedBase64Size("Zm9vYmFy"), 6u);
}

TEST(Base64, DecodedSizeOfImpossibleLengths_None) {
    // Counting the padding of these once made the size wrap around to SIZE_MAX.
    for (const char* text : {"=", "==", "===", "Z", "Zg", "Zg=", "Zm9vY", "Zm9vYmFy="}) {
        EXPECT_EQ(decodedBase64Size(text), std::nullopt) << text;
    }
    EXPECT_EQ(decodedBase64Size("===="), 1u);  // a length that exists; decoding refuses it
    EXPECT_FALSE(decodeBase64("====").has_value());
}

}  // namespace
}  // namespace tk::service
