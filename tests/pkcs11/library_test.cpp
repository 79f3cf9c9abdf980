// The PE header check behind the Windows loader's "32-bit DLL" message (card/pkcs11/library.hpp).
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "card/pkcs11/library.hpp"

namespace {

using tk::card::pkcs11::peMachine;

// A minimal PE image: "MZ", the header offset at 0x3C, "PE\0\0" and the machine field there.
std::vector<std::uint8_t> peImage(std::uint16_t machine, std::size_t headerAt = 0x80) {
    std::vector<std::uint8_t> image(headerAt + 24, 0);
    image[0] = 'M';
    image[1] = 'Z';
    image[0x3C] = static_cast<std::uint8_t>(headerAt);
    image[0x3D] = static_cast<std::uint8_t>(headerAt >> 8);
    image[headerAt] = 'P';
    image[headerAt + 1] = 'E';
    image[headerAt + 4] = static_cast<std::uint8_t>(machine);
    image[headerAt + 5] = static_cast<std::uint8_t>(machine >> 8);
    return image;
}

TEST(Pkcs11Library, PeMachine_X64Dll_IsX8664) {
    EXPECT_EQ(peMachine(peImage(0x8664)), "x86-64");
}

TEST(Pkcs11Library, PeMachine_32BitDll_IsX86) {
    EXPECT_EQ(peMachine(peImage(0x014C)), "x86");
    EXPECT_EQ(peMachine(peImage(0x014C, 0x100)), "x86");
}

TEST(Pkcs11Library, PeMachine_Arm64Dll_IsArm64) {
    EXPECT_EQ(peMachine(peImage(0xAA64)), "ARM64");
}

TEST(Pkcs11Library, PeMachine_NotAPeImage_IsNothing) {
    EXPECT_FALSE(peMachine(std::vector<std::uint8_t>{0x7F, 'E', 'L', 'F'}));
    auto noSignature = peImage(0x8664);
    noSignature[0x81] = 'X';
    EXPECT_FALSE(peMachine(noSignature));
    auto pastTheEnd = peImage(0x8664);
    pastTheEnd[0x3C] = 0xF0;
    EXPECT_FALSE(peMachine(pastTheEnd));
    EXPECT_FALSE(peMachine(std::vector<std::uint8_t>{'M', 'Z'}));
}

}  // namespace
