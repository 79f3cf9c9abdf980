#pragma once

#include <cstddef>

#include "card/algorithms.hpp"
#include "card/bytes.hpp"
#include "card/secure_bytes.hpp"
#include "crypto/public_key.hpp"

namespace tk::crypto {

// Encodings for cards that perform only the raw RSA operation (PIV): the host builds the
// block the card exponentiates, and removes the padding of what it decrypts.

// EMSA-PKCS1-v1_5: 00 01 FF..FF 00 DigestInfo(hash, digest), `modulusBytes` long.
// Throws crypto::Error when the digest length does not match `hash` or the modulus is too
// short.
card::Bytes encodePkcs1v15Signature(card::HashAlgorithm hash, card::ByteView digest,
                                    std::size_t modulusBytes);

// EMSA-PSS for `key` (MGF1 with `hash`, a random salt of the digest's length), as a block of
// the modulus length (leading 00 when the modulus bit length is 1 mod 8).
card::Bytes encodePss(const PublicKey& key, card::HashAlgorithm hash, card::ByteView digest);

// RSAES-PKCS1-v1_5 decoding of a decrypted block of exactly `modulusBytes` bytes.
// Throws PaddingError. The checks run in constant time (OpenSSL's).
card::SecureBytes decodePkcs1v15Encryption(card::ByteView block, std::size_t modulusBytes);

// RSAES-OAEP decoding (MGF1 with `hash`, empty label). Throws PaddingError.
card::SecureBytes decodeOaep(card::ByteView block, std::size_t modulusBytes,
                             card::HashAlgorithm hash);

}  // namespace tk::crypto
