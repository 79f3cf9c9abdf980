#pragma once

// Independent checks with OpenSSL: the test computes digests, verifies signatures, encrypts and
// derives with the certificate's public key itself, so nothing depends on the code under test.

#include <string>

#include "card/algorithms.hpp"
#include "card/bytes.hpp"

namespace tk::test {

card::Bytes opensslDigest(card::HashAlgorithm hash, card::ByteView message);

// EVP_DigestVerify over `message` with the certificate's public key. RSA-PSS: MGF1 with `hash`,
// salt length = digest length. ECDSA: DER signature.
bool opensslVerifies(card::ByteView certificateDer, card::SignatureScheme scheme,
                     card::HashAlgorithm hash, card::ByteView message, card::ByteView signature);

// EVP_PKEY_encrypt to the certificate's RSA key (PKCS#1 v1.5, or OAEP with MGF1 = `oaepHash`).
card::Bytes opensslEncrypt(card::ByteView certificateDer, card::RsaDecryptPadding padding,
                           card::HashAlgorithm oaepHash, card::ByteView plaintext);

// A fresh EC key on the certificate key's curve: its uncompressed public point, and the shared
// secret OpenSSL derives from it and the certificate's public key.
struct EcdhPeer {
    card::Bytes point;
    card::Bytes secret;
};
EcdhPeer opensslEcdhPeer(card::ByteView certificateDer);

// r || s -> DER Ecdsa-Sig-Value, by OpenSSL (ECDSA_SIG).
card::Bytes opensslP1363ToDer(card::ByteView rs);

card::Bytes randomBytes(std::size_t n);
card::Bytes base64DecodeBytes(const std::string& text);
std::string opensslKeyDescription(card::ByteView certificateDer);  // "RSA-2048", "EC-P256", ...

}  // namespace tk::test
