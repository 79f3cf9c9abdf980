#pragma once

#include <cstddef>

#include "card/bytes.hpp"

namespace tk::crypto {

// DER Ecdsa-Sig-Value -> r || s, each left-padded to `fieldBytes` (the WebCrypto / JWS form).
// Throws crypto::Error for anything but one canonical DER SEQUENCE of two positive INTEGERs
// that fit the field.
card::Bytes ecdsaDerToP1363(card::ByteView der, std::size_t fieldBytes);

// r || s (even length) -> DER Ecdsa-Sig-Value. Throws crypto::Error.
card::Bytes ecdsaP1363ToDer(card::ByteView rs);

// What an ECDSA card is given to sign: the digest, truncated to the field length when longer
// (the leftmost bits, as ECDSA itself would use them). Shorter digests are passed whole.
card::Bytes ecdsaCardInput(card::ByteView digest, std::size_t fieldBytes);

}  // namespace tk::crypto
