#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "bytes.hpp"

namespace tk::vcard {

// PIV algorithm identifiers (SP 800-78-4 and the Yubico additions for RSA 3072/4096).
namespace alg {
constexpr std::uint8_t k3Des = 0x03;
constexpr std::uint8_t k3DesDefault = 0x00;  // "default" = 3DES in 9B GENERAL AUTHENTICATE
constexpr std::uint8_t kAes128 = 0x08;
constexpr std::uint8_t kAes192 = 0x0A;
constexpr std::uint8_t kAes256 = 0x0C;
constexpr std::uint8_t kRsa2048 = 0x07;
constexpr std::uint8_t kRsa3072 = 0x05;
constexpr std::uint8_t kRsa4096 = 0x16;
constexpr std::uint8_t kEccP256 = 0x11;
constexpr std::uint8_t kEccP384 = 0x14;

bool is_rsa(std::uint8_t a);
bool is_ec(std::uint8_t a);
bool is_symmetric(std::uint8_t a);
unsigned rsa_bits(std::uint8_t a);                // 0 when not RSA
std::size_t ec_field_bytes(std::uint8_t a);       // 0 when not EC
const char* ec_group_name(std::uint8_t a);        // "P-256"/"P-384", nullptr when not EC
std::size_t symmetric_key_bytes(std::uint8_t a);  // 0 when not a symmetric algorithm
std::size_t symmetric_block_bytes(std::uint8_t a);
}  // namespace alg

class CryptoError : public std::runtime_error {
  public:
    // Appends the most recent OpenSSL error text and clears the error queue.
    explicit CryptoError(const std::string& what);
};

struct PkeyDeleter {
    void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

Pkey generate_key(std::uint8_t algorithm);
Pkey pkey_from_pem(const std::string& pem);
std::string pkey_to_pem(const EVP_PKEY* key);
std::string public_key_to_pem(const EVP_PKEY* key);
Pkey share_pkey(EVP_PKEY* key);  // another owner of the same key (reference count)

// PIV algorithm of a key the card can hold, nullopt for anything else.
std::optional<std::uint8_t> piv_algorithm_of(const EVP_PKEY* key);

// m^d mod n on a block of exactly the modulus length; throws CryptoError if block >= n.
Bytes rsa_raw_private(EVP_PKEY* key, ByteView block);
// DER ECDSA-Sig-Value over `digest`; a digest longer than the order is truncated to its
// leftmost bits (FIPS 186-4), as the card does.
Bytes ecdsa_sign_digest(EVP_PKEY* key, ByteView digest);
// x-coordinate of d * peer; throws CryptoError for a point not on the key's curve.
Bytes ecdh_shared_x(EVP_PKEY* key, ByteView peer_point);

Bytes rsa_modulus(const EVP_PKEY* key);
Bytes rsa_public_exponent(const EVP_PKEY* key);
Bytes ec_public_point(const EVP_PKEY* key);  // uncompressed 04 || X || Y

// Key import (Yubico IMPORT ASYMMETRIC KEY): RSA from CRT components with e = 65537,
// EC from the private scalar.
Pkey rsa_from_crt(ByteView p, ByteView q, ByteView dp, ByteView dq, ByteView qinv);
Pkey ec_from_private(std::uint8_t algorithm, ByteView scalar);

// One ECB block with the management key (3DES or AES).
Bytes block_encrypt(std::uint8_t algorithm, ByteView key, ByteView block);
Bytes block_decrypt(std::uint8_t algorithm, ByteView key, ByteView block);

Bytes random_bytes(std::size_t count);

}  // namespace tk::vcard
