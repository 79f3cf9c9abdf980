#include "pcsc/features.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace tk::pcsc {
namespace {

using Bytes = std::vector<std::uint8_t>;

TEST(FeatureList, TwoEntries_ReadsBigEndianIoctlCodes) {
    const Bytes answer{0x06, 0x04, 0x42, 0x33, 0x00, 0x06,   //
                       0x0A, 0x04, 0x42, 0x33, 0x00, 0x0A};  //
    const FeatureMap features = parseFeatureList(answer);
    ASSERT_EQ(features.size(), 2U);
    EXPECT_EQ(features.at(kFeatureVerifyPinDirect), 0x42330006U);
    EXPECT_EQ(features.at(kFeatureIfdPinProperties), 0x4233000AU);
    EXPECT_FALSE(features.contains(kFeatureModifyPinDirect));
}

TEST(FeatureList, EmptyAnswer_HasNoFeatures) {
    EXPECT_TRUE(parseFeatureList({}).empty());
}

TEST(FeatureList, EntryWithOtherLength_IsSkippedAndNextEntryKept) {
    const Bytes answer{0x07, 0x02, 0xAA, 0xBB,               //
                       0x12, 0x04, 0x42, 0x33, 0x00, 0x12};  //
    const FeatureMap features = parseFeatureList(answer);
    ASSERT_EQ(features.size(), 1U);
    EXPECT_EQ(features.at(kFeatureGetTlvProperties), 0x42330012U);
}

TEST(FeatureList, TruncatedLastEntry_IsIgnored) {
    const Bytes answer{0x06, 0x04, 0x42, 0x33, 0x00, 0x06,  //
                       0x07, 0x04, 0x42, 0x33};             //
    const FeatureMap features = parseFeatureList(answer);
    ASSERT_EQ(features.size(), 1U);
    EXPECT_EQ(features.at(kFeatureVerifyPinDirect), 0x42330006U);
}

TEST(FeatureList, LoneTagByte_IsIgnored) {
    EXPECT_TRUE(parseFeatureList(Bytes{0x06}).empty());
}

TEST(FeatureList, GetFeatureRequestCode_IsScardCtlCode3400) {
    EXPECT_EQ(kGetFeatureRequest, 0x42000000U + 3400U);
}

}  // namespace
}  // namespace tk::pcsc
