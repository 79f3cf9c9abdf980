#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace tk::card {

// The key types PROTOCOL.md knows; keys of other types are not offered to clients.
enum class KeyAlgorithm { Rsa2048, Rsa3072, Rsa4096, EcP256, EcP384 };

// "RSA-2048", "EC-P256", ... (the PROTOCOL.md keyAlgorithm labels).
std::string_view keyAlgorithmName(KeyAlgorithm algorithm) noexcept;
bool isRsa(KeyAlgorithm algorithm) noexcept;
// Modulus length for RSA, field (and coordinate) length for EC, in bytes.
std::size_t keySizeBytes(KeyAlgorithm algorithm) noexcept;

// Sha1 is here for one caller only: the HiPKI endpoint with `[hipki] allow_sha1` (the portals of
// that dialect still ask for SHA-1 signatures). hashAlgorithmFromName does not know it, so the
// API and the command line keep refusing SHA-1.
enum class HashAlgorithm { Sha256, Sha384, Sha512, Sha1 };

// "SHA-256", ..., "SHA-1"
std::string_view hashAlgorithmName(HashAlgorithm hash) noexcept;
// "SHA-256", "SHA-384", "SHA-512"; nullopt for anything else, "SHA-1" included.
std::optional<HashAlgorithm> hashAlgorithmFromName(std::string_view name) noexcept;
std::size_t digestSize(HashAlgorithm hash) noexcept;

enum class SignatureScheme {
    RsaPkcs1v15,  // RSASSA-PKCS1-v1_5
    RsaPss,       // RSASSA-PSS, MGF1 with the same hash, salt length = hash length
    Ecdsa,
};

std::string_view signatureSchemeName(SignatureScheme scheme) noexcept;

enum class RsaDecryptPadding {
    Pkcs1v15,  // RSAES-PKCS1-v1_5
    Oaep,      // RSAES-OAEP, MGF1 with the same hash, empty label
    None,      // the raw RSA result, for callers that remove the padding themselves
};

}  // namespace tk::card
