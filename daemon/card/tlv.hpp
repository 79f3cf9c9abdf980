#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <vector>

#include "card/bytes.hpp"
#include "card/errors.hpp"

namespace tk::card {

// BER-TLV as ISO/IEC 7816-4 uses it on cards. Everything here treats its input as hostile:
// every length is checked against the bytes that are really there, and anything malformed
// raises TlvError (a MalformedData). Parsed values are views into the input.

class TlvError : public MalformedData {
  public:
    using MalformedData::MalformedData;
};

struct Tlv {
    // The tag bytes as a big-endian number: 0x53, 0x7F49, 0x5FC105.
    std::uint32_t tag = 0;
    ByteView value;
    // The whole element (tag, length and value).
    ByteView encoded;

    // Bit 6 of the first tag byte: the value is itself a sequence of TLVs.
    bool constructed() const noexcept { return !encoded.empty() && (encoded[0] & 0x20) != 0; }
};

// Largest tag accepted: four bytes (a first byte and up to three subsequent bytes).
inline constexpr std::size_t kMaxTagBytes = 4;
// Largest length field: three bytes (82 HH LL), i.e. values of up to 65535 bytes.
inline constexpr std::size_t kMaxTlvValueLength = 0xFFFF;

// Parses the element at the start of `input`; trailing bytes after it are not looked at.
Tlv parseTlv(ByteView input);

// Parses `input` as a sequence of elements that must cover it exactly.
std::vector<Tlv> parseTlvs(ByteView input);

// The first element with `tag` in the sequence `input` (the whole sequence must be well
// formed).
std::optional<Tlv> findTlv(ByteView input, std::uint32_t tag);

// Follows `path` through nested elements: findTlvPath(x, {0x53, 0x7C}) returns the 7C inside
// the 53 of the sequence x. The constructed bit is not required on the way (PIV wraps TLV data
// in 53, a primitive tag); a value on the path that is not a TLV sequence raises TlvError.
std::optional<Tlv> findTlvPath(ByteView input, std::initializer_list<std::uint32_t> path);

// Length field in its shortest form: 1 byte up to 127, 81 xx up to 255, 82 xx xx up to
// 65535. Throws std::length_error beyond that.
Bytes encodeTlvLength(std::size_t length);

// The tag bytes of a tag number (0x7F49 -> 7F 49). Throws std::invalid_argument for 0.
Bytes encodeTlvTag(std::uint32_t tag);

void appendTlv(Bytes& out, std::uint32_t tag, ByteView value);
Bytes encodeTlv(std::uint32_t tag, ByteView value);

}  // namespace tk::card
