#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tk::card {

// Same type as tk::pcsc::Bytes, so responses pass between the layers without copies.
using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

// Lowercase hex without separators, the form PROTOCOL.md uses for hex values.
std::string toHex(ByteView bytes);

// Parses hex (either case, no separators); throws std::invalid_argument on anything else.
Bytes fromHex(std::string_view hex);

// The value of one hex digit (either case), or -1 for any other character.
int hexDigitValue(char c) noexcept;

}  // namespace tk::card
