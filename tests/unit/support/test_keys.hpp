#pragma once

#include <openssl/evp.h>

#include <memory>
#include <string>

#include "card/algorithms.hpp"
#include "card/bytes.hpp"

namespace tk::test {

using card::Bytes;
using card::ByteView;
using KeyPtr = std::shared_ptr<EVP_PKEY>;

namespace pem {
extern const char* const kRsa2048a;
extern const char* const kRsa2048b;
extern const char* const kRsa3072;
extern const char* const kRsa4096;
extern const char* const kRsa1024;
extern const char* const kP256a;
extern const char* const kP256b;
extern const char* const kP384;
extern const char* const kP521;
}  // namespace pem

// Private keys parsed from the fixed PEMs (parsed once per process).
KeyPtr rsa2048a();
KeyPtr rsa2048b();
KeyPtr rsa3072();
KeyPtr rsa4096();
KeyPtr rsa1024();
KeyPtr p256a();
KeyPtr p256b();
KeyPtr p384();
KeyPtr p521();
KeyPtr generateP256();

struct CertificateSpec {
    std::string commonName = "TenderKey Test";
    bool commonNameAsBmpString = false;  // encode the CN as BMPString instead of UTF8String
    std::string organization;            // optional O=
    std::string keyUsage = "critical,digitalSignature";  // OpenSSL config syntax; empty: none
    std::string extendedKeyUsage;                        // e.g. "clientAuth"; empty: no extension
    std::string serialHex = "01";
    std::string notBefore = "20240101000000Z";
    std::string notAfter = "20340101000000Z";
};

// A self-signed certificate for `key`, built with OpenSSL.
Bytes makeCertificate(const KeyPtr& key, const CertificateSpec& spec = {});

// OpenSSL's own check of a signature over `digest` with the public key of `certificateDer`
// (independent of the code under test). ECDSA takes a DER signature.
bool opensslVerify(ByteView certificateDer, card::SignatureScheme scheme, card::HashAlgorithm hash,
                   ByteView digest, ByteView signature);

// OpenSSL public-key encryption to the certificate's RSA key.
Bytes opensslEncrypt(ByteView certificateDer, card::RsaDecryptPadding padding,
                     card::HashAlgorithm oaepHash, ByteView plaintext);

// OpenSSL's raw RSA private operation (what a PIV card does in GENERAL AUTHENTICATE).
Bytes opensslRawPrivate(const KeyPtr& key, ByteView input);

// OpenSSL's raw RSA public operation (s^e mod n), to look inside a padded block.
Bytes opensslRawPublic(ByteView certificateDer, ByteView input);

// The digest of `data` computed by OpenSSL directly.
Bytes opensslDigest(card::HashAlgorithm hash, ByteView data);

// Uncompressed public point of an EC key, and ECDH between a private key and a point.
Bytes ecPublicPoint(const KeyPtr& key);
Bytes opensslEcdh(const KeyPtr& privateKey, ByteView peerPoint);

Bytes bytesOf(const std::string& text);

}  // namespace tk::test
