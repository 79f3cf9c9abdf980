#include <gtest/gtest.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "crypto/digest.hpp"
#include "crypto/errors.hpp"
#include "crypto/public_key.hpp"
#include "crypto/rsa_padding.hpp"
#include "support/fake_piv_card.hpp"

namespace tk::crypto {
namespace {

using card::Bytes;
using card::HashAlgorithm;
using card::SignatureScheme;
using test::hex;

struct RsaCase {
    test::KeyPtr (*key)();
    std::size_t bytes;
};

const RsaCase kRsaKeys[] = {{test::rsa2048a, 256}, {test::rsa3072, 384}, {test::rsa4096, 512}};
const HashAlgorithm kHashes[] = {HashAlgorithm::Sha256, HashAlgorithm::Sha384,
                                 HashAlgorithm::Sha512};

Bytes message() {
    return test::bytesOf("bid document for tender 2024-0042");
}

TEST(Digest, KnownAnswers) {
    const Bytes abc = test::bytesOf("abc");
    EXPECT_EQ(digest(HashAlgorithm::Sha256, abc),
              hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    EXPECT_EQ(digest(HashAlgorithm::Sha384, abc),
              hex("cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
                  "8086072ba1e7cc2358baeca134c825a7"));
    EXPECT_EQ(digest(HashAlgorithm::Sha512, abc),
              hex("ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                  "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"));
}

TEST(Pkcs1v15Signature, BlockLayout_Sha256DigestInfo) {
    const Bytes d = test::opensslDigest(HashAlgorithm::Sha256, message());
    const Bytes block = encodePkcs1v15Signature(HashAlgorithm::Sha256, d, 256);
    ASSERT_EQ(block.size(), 256u);
    EXPECT_EQ(block[0], 0x00);
    EXPECT_EQ(block[1], 0x01);
    // RFC 8017 9.2 note 1: the SHA-256 DigestInfo prefix.
    const Bytes prefix = hex("3031300d060960864801650304020105000420");
    const std::size_t tLength = prefix.size() + 32;
    EXPECT_EQ(block[256 - tLength - 1], 0x00);
    for (std::size_t i = 2; i < 256 - tLength - 1; ++i) {
        ASSERT_EQ(block[i], 0xFF) << i;
    }
    EXPECT_EQ(Bytes(block.end() - static_cast<std::ptrdiff_t>(tLength), block.end() - 32), prefix);
    EXPECT_EQ(Bytes(block.end() - 32, block.end()), d);
}

TEST(Pkcs1v15Signature, RawPrivateOperation_VerifiesWithOpenSSL) {
    for (const auto& rsa : kRsaKeys) {
        const Bytes cert = test::makeCertificate(rsa.key());
        for (const HashAlgorithm h : kHashes) {
            const Bytes d = test::opensslDigest(h, message());
            const Bytes signature =
                test::opensslRawPrivate(rsa.key(), encodePkcs1v15Signature(h, d, rsa.bytes));
            EXPECT_TRUE(test::opensslVerify(cert, SignatureScheme::RsaPkcs1v15, h, d, signature))
                << rsa.bytes << " " << card::hashAlgorithmName(h);
            // A signature over another digest must not verify (the check can fail).
            Bytes other = d;
            other[0] ^= 1;
            EXPECT_FALSE(
                test::opensslVerify(cert, SignatureScheme::RsaPkcs1v15, h, other, signature));
        }
    }
}

TEST(Pkcs1v15Signature, WrongDigestLengthOrShortModulus_Throw) {
    EXPECT_THROW(encodePkcs1v15Signature(HashAlgorithm::Sha256, Bytes(31), 256), Error);
    EXPECT_THROW(encodePkcs1v15Signature(HashAlgorithm::Sha512, Bytes(64), 64), Error);
}

TEST(Pss, RawPrivateOperation_VerifiesWithOpenSSL) {
    for (const auto& rsa : kRsaKeys) {
        const Bytes cert = test::makeCertificate(rsa.key());
        const PublicKey key = PublicKey::fromCertificate(cert);
        for (const HashAlgorithm h : kHashes) {
            const Bytes d = test::opensslDigest(h, message());
            const Bytes block = encodePss(key, h, d);
            ASSERT_EQ(block.size(), rsa.bytes);
            const Bytes signature = test::opensslRawPrivate(rsa.key(), block);
            EXPECT_TRUE(test::opensslVerify(cert, SignatureScheme::RsaPss, h, d, signature))
                << rsa.bytes << " " << card::hashAlgorithmName(h);
            EXPECT_FALSE(test::opensslVerify(cert, SignatureScheme::RsaPkcs1v15, h, d, signature));
        }
    }
}

TEST(Pss, SaltIsRandom) {
    const PublicKey key = PublicKey::fromCertificate(test::makeCertificate(test::rsa2048a()));
    const Bytes d = test::opensslDigest(HashAlgorithm::Sha256, message());
    EXPECT_NE(encodePss(key, HashAlgorithm::Sha256, d), encodePss(key, HashAlgorithm::Sha256, d));
}

TEST(Pss, EcKeyOrWrongDigest_Throw) {
    const PublicKey ec = PublicKey::fromCertificate(test::makeCertificate(test::p256a()));
    EXPECT_THROW(encodePss(ec, HashAlgorithm::Sha256, Bytes(32)), Error);
    const PublicKey rsa = PublicKey::fromCertificate(test::makeCertificate(test::rsa2048a()));
    EXPECT_THROW(encodePss(rsa, HashAlgorithm::Sha384, Bytes(32)), Error);
}

TEST(Pkcs1v15Decryption, OpenSslCiphertext_RoundTrips) {
    const Bytes cert = test::makeCertificate(test::rsa2048a());
    for (const std::size_t length : {0u, 1u, 32u, 245u}) {
        Bytes plaintext(length);
        for (std::size_t i = 0; i < length; ++i) {
            plaintext[i] = static_cast<std::uint8_t>(i * 7 + 1);
        }
        const Bytes ciphertext = test::opensslEncrypt(cert, card::RsaDecryptPadding::Pkcs1v15,
                                                      HashAlgorithm::Sha256, plaintext);
        const Bytes block = test::opensslRawPrivate(test::rsa2048a(), ciphertext);
        const card::SecureBytes out = decodePkcs1v15Encryption(block, 256);
        EXPECT_EQ(Bytes(out.begin(), out.end()), plaintext) << length;
    }
}

TEST(Pkcs1v15Decryption, BadPadding_PaddingError) {
    const Bytes cert = test::makeCertificate(test::rsa2048a());
    const Bytes ciphertext = test::opensslEncrypt(cert, card::RsaDecryptPadding::Pkcs1v15,
                                                  HashAlgorithm::Sha256, test::bytesOf("key"));
    Bytes block = test::opensslRawPrivate(test::rsa2048a(), ciphertext);
    Bytes wrongType = block;
    wrongType[1] = 0x01;
    EXPECT_THROW(decodePkcs1v15Encryption(wrongType, 256), PaddingError);
    Bytes noSeparator(256, 0x11);
    noSeparator[0] = 0x00;
    noSeparator[1] = 0x02;
    EXPECT_THROW(decodePkcs1v15Encryption(noSeparator, 256), PaddingError);
    EXPECT_THROW(decodePkcs1v15Encryption(Bytes(block.begin() + 1, block.end()), 256),
                 PaddingError);
}

TEST(OaepDecryption, OpenSslCiphertext_RoundTripsForEachHash) {
    const Bytes cert = test::makeCertificate(test::rsa3072());
    const Bytes plaintext = test::bytesOf("content-encryption key 0123456789abcdef");
    for (const HashAlgorithm h : kHashes) {
        const Bytes ciphertext =
            test::opensslEncrypt(cert, card::RsaDecryptPadding::Oaep, h, plaintext);
        const Bytes block = test::opensslRawPrivate(test::rsa3072(), ciphertext);
        const card::SecureBytes out = decodeOaep(block, 384, h);
        EXPECT_EQ(Bytes(out.begin(), out.end()), plaintext);
        // The same block with another hash fails the label check.
        const HashAlgorithm other =
            h == HashAlgorithm::Sha256 ? HashAlgorithm::Sha384 : HashAlgorithm::Sha256;
        EXPECT_THROW(decodeOaep(block, 384, other), PaddingError);
    }
}

TEST(OaepDecryption, Pkcs1v15Block_PaddingError) {
    const Bytes cert = test::makeCertificate(test::rsa2048a());
    const Bytes ciphertext = test::opensslEncrypt(cert, card::RsaDecryptPadding::Pkcs1v15,
                                                  HashAlgorithm::Sha256, test::bytesOf("x"));
    const Bytes block = test::opensslRawPrivate(test::rsa2048a(), ciphertext);
    EXPECT_THROW(decodeOaep(block, 256, HashAlgorithm::Sha256), PaddingError);
}

TEST(PublicKeyChecks, CiphertextRangeAgainstModulus) {
    const PublicKey key = PublicKey::fromCertificate(test::makeCertificate(test::rsa2048a()));
    BIGNUM* n = nullptr;
    ASSERT_EQ(EVP_PKEY_get_bn_param(test::rsa2048a().get(), OSSL_PKEY_PARAM_RSA_N, &n), 1);
    Bytes modulus(256);
    BN_bn2binpad(n, modulus.data(), 256);
    BN_free(n);
    EXPECT_FALSE(key.isCiphertextInRange(modulus));
    Bytes below = modulus;
    below[255] -= 1;
    EXPECT_TRUE(key.isCiphertextInRange(below));
    EXPECT_FALSE(key.isCiphertextInRange(Bytes(256, 0xFF)));
}

TEST(PublicKeyChecks, PointOnCurve) {
    const PublicKey key = PublicKey::fromCertificate(test::makeCertificate(test::p256a()));
    const Bytes good = test::ecPublicPoint(test::p256b());
    EXPECT_TRUE(key.isPointOnCurve(good));
    Bytes offCurve = good;
    offCurve.back() ^= 0x01;
    EXPECT_FALSE(key.isPointOnCurve(offCurve));
    EXPECT_FALSE(key.isPointOnCurve(Bytes(good.begin(), good.end() - 1)));
    EXPECT_FALSE(key.isPointOnCurve(test::ecPublicPoint(test::p384())));
    Bytes compressed(good.begin(), good.begin() + 33);
    compressed[0] = 0x02;
    EXPECT_FALSE(key.isPointOnCurve(compressed));
    EXPECT_FALSE(key.isPointOnCurve(Bytes{0x00}));
}

TEST(PublicKeyChecks, VerifyDigestAgreesWithOpenSsl) {
    const Bytes cert = test::makeCertificate(test::rsa2048b());
    const PublicKey key = PublicKey::fromCertificate(cert);
    const Bytes d = test::opensslDigest(HashAlgorithm::Sha256, message());
    const Bytes signature = test::opensslRawPrivate(
        test::rsa2048b(), encodePkcs1v15Signature(HashAlgorithm::Sha256, d, 256));
    ASSERT_TRUE(test::opensslVerify(cert, SignatureScheme::RsaPkcs1v15, HashAlgorithm::Sha256, d,
                                    signature));
    EXPECT_TRUE(
        key.verifyDigest(SignatureScheme::RsaPkcs1v15, HashAlgorithm::Sha256, d, signature));
    Bytes tampered = signature;
    tampered[10] ^= 0x40;
    EXPECT_FALSE(
        key.verifyDigest(SignatureScheme::RsaPkcs1v15, HashAlgorithm::Sha256, d, tampered));
    EXPECT_FALSE(key.verifyDigest(SignatureScheme::Ecdsa, HashAlgorithm::Sha256, d, signature));
}

}  // namespace
}  // namespace tk::crypto
