#include "service/base64.hpp"

#include <array>

namespace tk::service {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int, 256> kValues = [] {
    std::array<int, 256> values{};
    values.fill(-1);
    for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
        values[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int>(i);
    }
    return values;
}();

}  // namespace

std::string encodeBase64(card::ByteView bytes) {
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const std::uint32_t v =
            (std::uint32_t{bytes[i]} << 16) | (std::uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += kAlphabet[(v >> 6) & 63];
        out += kAlphabet[v & 63];
    }
    const std::size_t rest = bytes.size() - i;
    if (rest == 1) {
        const std::uint32_t v = std::uint32_t{bytes[i]} << 16;
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += "==";
    } else if (rest == 2) {
        const std::uint32_t v =
            (std::uint32_t{bytes[i]} << 16) | (std::uint32_t{bytes[i + 1]} << 8);
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += kAlphabet[(v >> 6) & 63];
        out += '=';
    }
    return out;
}

std::optional<std::size_t> decodedBase64Size(std::string_view text) {
    if (text.size() % 4 != 0) {
        return std::nullopt;  // "=", "Zg=", ...: no base64 text has this length
    }
    std::size_t size = text.size() / 4 * 3;
    if (!text.empty() && text.back() == '=') {
        --size;
        if (text.size() >= 2 && text[text.size() - 2] == '=') {
            --size;
        }
    }
    return size;
}

std::optional<card::Bytes> decodeBase64(std::string_view text) {
    if (text.size() % 4 != 0) {
        return std::nullopt;
    }
    card::Bytes out;
    out.reserve(decodedBase64Size(text).value_or(0));
    for (std::size_t i = 0; i < text.size(); i += 4) {
        const bool last = i + 4 == text.size();
        std::array<int, 4> v{};
        int padding = 0;
        for (std::size_t j = 0; j < 4; ++j) {
            const char c = text[i + j];
            if (c == '=') {
                // Only in the last group, only in its last two places, and only at the end.
                if (!last || j < 2) {
                    return std::nullopt;
                }
                ++padding;
                v[j] = 0;
                continue;
            }
            if (padding > 0) {
                return std::nullopt;
            }
            v[j] = kValues[static_cast<unsigned char>(c)];
            if (v[j] < 0) {
                return std::nullopt;
            }
        }
        const std::uint32_t bits =
            (static_cast<std::uint32_t>(v[0]) << 18) | (static_cast<std::uint32_t>(v[1]) << 12) |
            (static_cast<std::uint32_t>(v[2]) << 6) | static_cast<std::uint32_t>(v[3]);
        out.push_back(static_cast<std::uint8_t>(bits >> 16));
        if (padding == 2) {
            if ((bits & 0xFFFF) != 0) {
                return std::nullopt;  // non-canonical: unused bits set
            }
            continue;
        }
        out.push_back(static_cast<std::uint8_t>(bits >> 8));
        if (padding == 1) {
            if ((bits & 0xFF) != 0) {
                return std::nullopt;
            }
            continue;
        }
        out.push_back(static_cast<std::uint8_t>(bits));
    }
    return out;
}

}  // namespace tk::service
