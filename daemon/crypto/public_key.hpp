#pragma once

#include <cstddef>
#include <memory>
#include <optional>

#include "card/algorithms.hpp"
#include "card/bytes.hpp"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY, kept out of this header

namespace tk::crypto {

// The public key of a certificate, as the card layer needs it: to know the key's type and
// size, to pad for it, and to check what the card returns.
class PublicKey {
  public:
    // Throws crypto::Error when the certificate or key cannot be parsed.
    static PublicKey fromCertificate(card::ByteView der);
    static PublicKey fromSubjectPublicKeyInfo(card::ByteView der);

    // nullopt for key types and sizes outside card::KeyAlgorithm (RSA-1024, P-521, Ed25519...).
    std::optional<card::KeyAlgorithm> algorithm() const noexcept { return algorithm_; }
    bool isRsa() const noexcept;
    bool isEc() const noexcept;
    std::size_t bits() const noexcept;
    // RSA: modulus length; EC: field length (bytes of one coordinate).
    std::size_t sizeBytes() const noexcept;

    // Checks a signature over a digest. RSA PKCS#1 v1.5 and PSS (MGF1 with `hash`, salt length
    // = digest length) take a digest of `hash`; ECDSA takes the digest as given (any length,
    // truncated by the ECDSA rules) and a DER signature.
    bool verifyDigest(card::SignatureScheme scheme, card::HashAlgorithm hash, card::ByteView digest,
                      card::ByteView signature) const;

    // RSA: the ciphertext, read as a big-endian integer, is smaller than the modulus.
    bool isCiphertextInRange(card::ByteView ciphertext) const;

    // EC: `point` is an uncompressed point (04 || X || Y) on this key's curve.
    bool isPointOnCurve(card::ByteView point) const;

    card::Bytes subjectPublicKeyInfo() const;

    evp_pkey_st* get() const noexcept { return key_.get(); }

  private:
    explicit PublicKey(std::shared_ptr<evp_pkey_st> key);

    std::shared_ptr<evp_pkey_st> key_;
    std::optional<card::KeyAlgorithm> algorithm_;
};

}  // namespace tk::crypto
