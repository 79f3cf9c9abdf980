#include "card/pkcs11/library.hpp"

namespace tk::card::pkcs11 {

std::optional<std::string_view> peMachine(std::span<const std::uint8_t> image) {
    const auto u16 = [&image](std::size_t at) {
        return static_cast<std::uint16_t>(image[at] | (image[at + 1] << 8));
    };
    constexpr std::size_t kHeaderOffsetField = 0x3C;
    if (image.size() < kHeaderOffsetField + 4 || image[0] != 'M' || image[1] != 'Z') {
        return std::nullopt;
    }
    const std::size_t header = static_cast<std::size_t>(u16(kHeaderOffsetField)) |
                               static_cast<std::size_t>(u16(kHeaderOffsetField + 2)) << 16;
    if (header > image.size() || image.size() - header < 6 || image[header] != 'P' ||
        image[header + 1] != 'E' || image[header + 2] != 0 || image[header + 3] != 0) {
        return std::nullopt;
    }
    switch (u16(header + 4)) {
        case 0x8664:
            return "x86-64";
        case 0x014C:
            return "x86";
        case 0xAA64:
            return "ARM64";
        default:
            return "an unknown CPU";
    }
}

}  // namespace tk::card::pkcs11
