#include "pcsc/reader_filter.hpp"

#include <gtest/gtest.h>

namespace tk::pcsc {
namespace {

TEST(ReaderFilter, VpcdReaderNames_AreVirtual) {
    EXPECT_TRUE(isVirtualReader("Virtual PCD 00 00"));
    EXPECT_TRUE(isVirtualReader("Virtual PCD 01 01"));
}

TEST(ReaderFilter, HardwareReaderNames_AreNotVirtual) {
    EXPECT_FALSE(isVirtualReader("Alcor Micro AU9540 00 00"));
    EXPECT_FALSE(isVirtualReader("Yubico YubiKey OTP+FIDO+CCID 00 00"));
    EXPECT_FALSE(isVirtualReader("My Virtual PCD 00 00"));
    EXPECT_FALSE(isVirtualReader(""));
}

}  // namespace
}  // namespace tk::pcsc
