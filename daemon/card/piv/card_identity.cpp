#include "card/piv/card_identity.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#include "card/tlv.hpp"
#include "crypto/digest.hpp"

namespace tk::card::piv {

namespace {

constexpr std::size_t kFascnLength = 25;
constexpr std::size_t kGuidLength = 16;
constexpr std::size_t kCardIdBytes = 10;

bool allZero(ByteView v) noexcept {
    return std::all_of(v.begin(), v.end(), [](std::uint8_t b) { return b == 0; });
}

// FASC-N characters are 5 bits each (4 data bits, least significant first, then an odd
// parity bit), 40 characters in 25 bytes, most significant bit first.
std::optional<std::array<std::uint8_t, 40>> decodeFascn(ByteView fascn) noexcept {
    if (fascn.size() != kFascnLength) {
        return std::nullopt;
    }
    std::array<std::uint8_t, 40> chars{};
    for (std::size_t c = 0; c < chars.size(); ++c) {
        std::uint8_t value = 0;
        int ones = 0;
        for (std::size_t bit = 0; bit < 5; ++bit) {
            const std::size_t pos = c * 5 + bit;
            const int b = (fascn[pos / 8] >> (7 - pos % 8)) & 1;
            ones += b;
            if (bit < 4) {
                value = static_cast<std::uint8_t>(value | (b << bit));
            }
        }
        if (ones % 2 != 1) {
            return std::nullopt;
        }
        chars[c] = value;
    }
    return chars;
}

bool allNines(const std::array<std::uint8_t, 40>& chars, std::size_t first, std::size_t count) {
    return std::all_of(chars.begin() + static_cast<std::ptrdiff_t>(first),
                       chars.begin() + static_cast<std::ptrdiff_t>(first + count),
                       [](std::uint8_t c) { return c == 9; });
}

std::string hashId(std::string_view label, ByteView value) {
    Bytes input(label.begin(), label.end());
    input.insert(input.end(), value.begin(), value.end());
    const Bytes hash = crypto::digest(HashAlgorithm::Sha256, input);
    return toHex(ByteView(hash).first(kCardIdBytes));
}

}  // namespace

ChuidIdentifiers parseChuid(ByteView contents) noexcept {
    ChuidIdentifiers ids;
    try {
        for (const Tlv& tlv : parseTlvs(contents)) {
            // A FASC-N or GUID of another length is malformed, hence absent.
            if (tlv.tag == 0x30 && !ids.fascn && tlv.value.size() == kFascnLength) {
                ids.fascn = Bytes(tlv.value.begin(), tlv.value.end());
            } else if (tlv.tag == 0x34 && !ids.guid && tlv.value.size() == 16) {
                ids.guid = Bytes(tlv.value.begin(), tlv.value.end());
            }
        }
    } catch (...) {
        return {};
    }
    return ids;
}

bool isNonFederalFascn(ByteView fascn) noexcept {
    const auto chars = decodeFascn(fascn);
    if (!chars) {
        return false;
    }
    // SS, agency code (4), FS, system code (4), FS, credential number (6), FS, ...
    constexpr std::uint8_t kStart = 0xB;
    constexpr std::uint8_t kSeparator = 0xD;
    const auto& c = *chars;
    if (c[0] != kStart || c[5] != kSeparator || c[10] != kSeparator || c[17] != kSeparator) {
        return false;
    }
    return allNines(c, 1, 4) && allNines(c, 6, 4) && allNines(c, 11, 6);
}

std::string deriveCardId(const ChuidIdentifiers& chuid,
                         std::span<const IdentityCertificate> certificates) {
    if (chuid.guid && chuid.guid->size() == kGuidLength && !allZero(*chuid.guid)) {
        return hashId("piv-guid:", *chuid.guid);
    }
    if (chuid.fascn && chuid.fascn->size() == kFascnLength && !allZero(*chuid.fascn) &&
        !isNonFederalFascn(*chuid.fascn)) {
        return hashId("piv-fascn:", *chuid.fascn);
    }
    Bytes all;
    for (const IdentityCertificate& cert : certificates) {
        all.push_back(cert.keyRef);
        const auto n = static_cast<std::uint32_t>(cert.der.size());
        for (int shift = 24; shift >= 0; shift -= 8) {
            all.push_back(static_cast<std::uint8_t>(n >> shift));
        }
        all.insert(all.end(), cert.der.begin(), cert.der.end());
    }
    return hashId("piv-certs:", all);
}

}  // namespace tk::card::piv
