#include <gtest/gtest.h>

#include "card/errors.hpp"
#include "card/piv/piv_token.hpp"
#include "support/fake_piv_card.hpp"
#include "support/piv_apdus.hpp"

namespace tk::card {
namespace {

using test::hex;
using test::StandardCard;
namespace apdu = test::apdu;

PinInput pin(const std::string& value) {
    PinInput in;
    in.pin = SecureBytes::fromText(value);
    return in;
}

// StandardCard with an RSA-2048 key-management key in 9D.
struct RsaKeyManagement {
    StandardCard s;
    Bytes cert;
    PivToken token{s.card};
    RsaKeyManagement() {
        test::CertificateSpec spec;
        spec.commonName = "Key Management";
        spec.keyUsage = "critical,keyEncipherment";
        cert = test::makeCertificate(test::rsa2048a(), spec);
        s.card.putCertificate(0x9D, cert);
        s.card.putKey(0x9D, test::rsa2048a());
        (void)token.certificates();
        s.card.clearLog();
    }
    const std::vector<Bytes>& sent() { return s.card.transmitted(); }
};

DecryptRequest decryptRequest(Bytes ciphertext, RsaDecryptPadding padding,
                              HashAlgorithm hash = HashAlgorithm::Sha256) {
    DecryptRequest r;
    r.slot = "9d";
    r.padding = padding;
    r.oaepHash = hash;
    r.ciphertext = std::move(ciphertext);
    r.pin = pin("123456");
    return r;
}

Bytes plain(const SecureBytes& s) {
    return Bytes(s.begin(), s.end());
}

const Bytes kKey = test::bytesOf("0123456789abcdef0123456789abcdef");

TEST(PivDecrypt, RsaPkcs1v15_SixApdusAndPlaintext) {
    RsaKeyManagement k;
    const Bytes ciphertext =
        test::opensslEncrypt(k.cert, RsaDecryptPadding::Pkcs1v15, HashAlgorithm::Sha256, kKey);
    const SecureBytes out =
        k.token.decrypt(decryptRequest(ciphertext, RsaDecryptPadding::Pkcs1v15));
    EXPECT_EQ(plain(out), kKey);
    const auto& sent = k.sent();
    ASSERT_EQ(sent.size(), 6u) << apdu::listing(sent);
    EXPECT_EQ(sent[2], apdu::verify("123456"));
    EXPECT_EQ(Bytes(sent[3].begin(), sent[3].begin() + 5), hex("10 87 07 9D FF"));
    EXPECT_EQ(sent[5], apdu::logout());
}

TEST(PivDecrypt, Oaep_EachHash) {
    RsaKeyManagement k;
    for (const HashAlgorithm h :
         {HashAlgorithm::Sha256, HashAlgorithm::Sha384, HashAlgorithm::Sha512}) {
        const Bytes ciphertext = test::opensslEncrypt(k.cert, RsaDecryptPadding::Oaep, h, kKey);
        EXPECT_EQ(plain(k.token.decrypt(decryptRequest(ciphertext, RsaDecryptPadding::Oaep, h))),
                  kKey)
            << hashAlgorithmName(h);
    }
}

TEST(PivDecrypt, OaepWithWrongHash_DecryptFailedAndLoggedOut) {
    RsaKeyManagement k;
    const Bytes ciphertext =
        test::opensslEncrypt(k.cert, RsaDecryptPadding::Oaep, HashAlgorithm::Sha256, kKey);
    EXPECT_THROW(
        k.token.decrypt(decryptRequest(ciphertext, RsaDecryptPadding::Oaep, HashAlgorithm::Sha384)),
        DecryptFailed);
    EXPECT_EQ(k.sent().back(), apdu::logout());
    EXPECT_FALSE(k.s.card.pinVerified());
}

TEST(PivDecrypt, Pkcs1v15CiphertextAsOaep_DecryptFailed) {
    RsaKeyManagement k;
    const Bytes ciphertext =
        test::opensslEncrypt(k.cert, RsaDecryptPadding::Pkcs1v15, HashAlgorithm::Sha256, kKey);
    EXPECT_THROW(k.token.decrypt(decryptRequest(ciphertext, RsaDecryptPadding::Oaep)),
                 DecryptFailed);
}

TEST(PivDecrypt, RawPadding_ReturnsWholeBlock) {
    RsaKeyManagement k;
    const Bytes ciphertext =
        test::opensslEncrypt(k.cert, RsaDecryptPadding::Pkcs1v15, HashAlgorithm::Sha256, kKey);
    const Bytes block = plain(k.token.decrypt(decryptRequest(ciphertext, RsaDecryptPadding::None)));
    ASSERT_EQ(block.size(), 256u);
    EXPECT_EQ(block[0], 0x00);
    EXPECT_EQ(block[1], 0x02);
    EXPECT_EQ(Bytes(block.end() - 32, block.end()), kKey);
}

TEST(PivDecrypt, CiphertextOfWrongSizeOrOutOfRange_DecryptFailedCardUntouched) {
    RsaKeyManagement k;
    EXPECT_THROW(k.token.decrypt(decryptRequest(Bytes(255, 0x01), RsaDecryptPadding::Pkcs1v15)),
                 DecryptFailed);
    EXPECT_THROW(k.token.decrypt(decryptRequest(Bytes(256, 0xFF), RsaDecryptPadding::Pkcs1v15)),
                 DecryptFailed);
    EXPECT_TRUE(k.sent().empty());
}

TEST(PivDecrypt, EcKey_UnsupportedAlgorithm) {
    StandardCard s;
    PivToken token(s.card);
    DecryptRequest r = decryptRequest(Bytes(256, 1), RsaDecryptPadding::Pkcs1v15);
    EXPECT_THROW(token.decrypt(r), UnsupportedAlgorithm);
}

TEST(PivDecrypt, WrongPin_NoDecryption) {
    RsaKeyManagement k;
    const Bytes ciphertext =
        test::opensslEncrypt(k.cert, RsaDecryptPadding::Pkcs1v15, HashAlgorithm::Sha256, kKey);
    DecryptRequest r = decryptRequest(ciphertext, RsaDecryptPadding::Pkcs1v15);
    r.pin = pin("111111");
    EXPECT_THROW(k.token.decrypt(r), PinIncorrect);
    EXPECT_EQ(k.sent().size(), 3u);
}

TEST(PivEcdh, SharedSecretMatchesOpenSsl) {
    StandardCard s;
    PivToken token(s.card);
    (void)token.certificates();
    s.card.clearLog();
    const test::KeyPtr ephemeral = test::generateP256();
    DeriveRequest r;
    r.slot = "9d";
    r.peerPoint = test::ecPublicPoint(ephemeral);
    r.pin = pin("123456");
    const SecureBytes secret = token.deriveSharedSecret(r);
    EXPECT_EQ(plain(secret), test::opensslEcdh(ephemeral, test::ecPublicPoint(test::p256a())));
    const auto& sent = s.card.transmitted();
    ASSERT_EQ(sent.size(), 5u) << apdu::listing(sent);
    Bytes expectedGa = hex("00 87 11 9D 47 7C 45 82 00 85 41");
    expectedGa.insert(expectedGa.end(), r.peerPoint.begin(), r.peerPoint.end());
    expectedGa.push_back(0x00);
    EXPECT_EQ(sent[3], expectedGa);
    EXPECT_EQ(sent[4], apdu::logout());
}

TEST(PivEcdh, PointOffCurve_InvalidInputCardUntouched) {
    StandardCard s;
    PivToken token(s.card);
    (void)token.certificates();
    s.card.clearLog();
    DeriveRequest r;
    r.slot = "9d";
    r.peerPoint = test::ecPublicPoint(test::p256b());
    r.peerPoint.back() ^= 0x01;
    r.pin = pin("123456");
    EXPECT_THROW(token.deriveSharedSecret(r), InvalidInput);
    r.peerPoint = test::ecPublicPoint(test::p384());
    EXPECT_THROW(token.deriveSharedSecret(r), InvalidInput);
    EXPECT_TRUE(s.card.transmitted().empty());
}

TEST(PivEcdh, RsaKey_UnsupportedAlgorithm) {
    RsaKeyManagement k;
    DeriveRequest r;
    r.slot = "9d";
    r.peerPoint = test::ecPublicPoint(test::p256b());
    r.pin = pin("123456");
    EXPECT_THROW(k.token.deriveSharedSecret(r), UnsupportedAlgorithm);
}

}  // namespace
}  // namespace tk::card
