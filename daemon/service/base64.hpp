#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "card/bytes.hpp"

namespace tk::service {

// Standard base64 (RFC 4648 §4) with padding.
std::string encodeBase64(card::ByteView bytes);

// Strict decoding, as PROTOCOL.md §2 requires: the standard alphabet, length a multiple of 4,
// `=` padding only at the end, and the unused bits of the last character zero (one canonical
// text per byte string). nullopt for anything else.
std::optional<card::Bytes> decodeBase64(std::string_view text);

// The decoded length of a text of this length and padding, for size limits checked before
// decoding; nullopt when no base64 text has this length (not a multiple of 4). The text is
// not otherwise checked: decodeBase64() does that.
std::optional<std::size_t> decodedBase64Size(std::string_view text);

}  // namespace tk::service
