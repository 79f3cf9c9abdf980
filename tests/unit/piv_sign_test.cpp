#include <gtest/gtest.h>

#include <memory>

#include "card/errors.hpp"
#include "card/piv/piv_token.hpp"
#include "support/fake_piv_card.hpp"
#include "support/piv_apdus.hpp"

namespace tk::card {
namespace {

using test::FakePivCard;
using test::hex;
using test::StandardCard;
namespace apdu = test::apdu;

const Bytes kContent = test::bytesOf("sealed bid for tender 2024-0042");

PinInput pin(const std::string& value, bool allowLastAttempt = false) {
    PinInput in;
    in.pin = SecureBytes::fromText(value);
    in.allowLastAttempt = allowLastAttempt;
    return in;
}

SignRequest request(const std::string& slot, SignatureScheme scheme, HashAlgorithm hash,
                    std::optional<std::string> pinValue = "123456") {
    SignRequest r;
    r.slot = slot;
    r.scheme = scheme;
    r.hash = hash;
    r.digest = test::opensslDigest(hash, kContent);
    if (pinValue) {
        r.pin = pin(*pinValue);
    }
    return r;
}

struct Warm {
    StandardCard s;
    PivToken token{s.card};
    Warm() {
        (void)token.certificates();
        s.card.clearLog();
    }
    FakePivCard& card() { return s.card; }
    const std::vector<Bytes>& sent() { return s.card.transmitted(); }
};

// A card whose 9C key is `key`, other slots as in StandardCard.
struct WarmWithSignatureKey : Warm {
    Bytes cert;
    explicit WarmWithSignatureKey(const test::KeyPtr& key) {
        test::CertificateSpec spec;
        spec.commonName = "Signature";
        spec.keyUsage = "critical,nonRepudiation";
        cert = test::makeCertificate(key, spec);
        card().putCertificate(0x9C, cert);
        card().putKey(0x9C, key);
        token.invalidateCache();
        (void)token.certificates();
        card().clearLog();
    }
};

std::size_t firstGeneralAuthenticate(const std::vector<Bytes>& apdus) {
    for (std::size_t i = 0; i < apdus.size(); ++i) {
        if (apdu::isGeneralAuthenticate(apdus[i])) {
            return i;
        }
    }
    return apdus.size();
}

TEST(PivSign, Sign_9C_VerifyImmediatelyBeforeGeneralAuthenticate) {
    Warm w;
    const SignRequest r = request("9c", SignatureScheme::RsaPkcs1v15, HashAlgorithm::Sha256);
    const Bytes signature = w.token.sign(r);
    EXPECT_TRUE(test::opensslVerify(w.s.cert9c, SignatureScheme::RsaPkcs1v15, HashAlgorithm::Sha256,
                                    r.digest, signature));

    const auto& sent = w.sent();
    ASSERT_EQ(sent.size(), 6u) << apdu::listing(sent);
    EXPECT_EQ(sent[0], apdu::select());
    EXPECT_EQ(sent[1], apdu::pinStatus());
    EXPECT_EQ(sent[2], apdu::verify("123456"));
    const std::size_t ga = firstGeneralAuthenticate(sent);
    ASSERT_EQ(ga, 3u);
    EXPECT_EQ(sent[ga - 1], apdu::verify("123456"));
    // 266 bytes of 7C template, chained: 255 with CLA 10, then 11 with CLA 00 and Le.
    EXPECT_EQ(Bytes(sent[3].begin(), sent[3].begin() + 11),
              hex("10 87 07 9C FF 7C 82 01 06 82 00"));
    EXPECT_EQ(sent[3].size(), 5u + 255);
    EXPECT_EQ(Bytes(sent[4].begin(), sent[4].begin() + 5), hex("00 87 07 9C 0B"));
    EXPECT_EQ(sent[4].size(), 5u + 11 + 1);
    EXPECT_EQ(sent[5], apdu::logout());
    EXPECT_FALSE(w.card().pinVerified());
    EXPECT_FALSE(w.token.resetRequired());
}

TEST(PivSign, FakeEnforcesPinAlways_StatusBetweenVerifyAndSignFails) {
    // Guards the fake itself: the rule the previous test relies on is really enforced.
    StandardCard s;
    (void)s.card.transmit(apdu::select());
    ASSERT_EQ(s.card.transmit(apdu::verify("123456")), hex("9000"));
    ASSERT_EQ(s.card.transmit(apdu::pinStatus()), hex("9000"));
    Bytes block = hex("7C 82 01 06 82 00 81 82 01 00");
    block.resize(block.size() + 256, 0x01);
    const auto fragments = CommandApdu(0x00, 0x87, 0x07, 0x9C, block, 256).encodeChained();
    (void)s.card.transmit(fragments[0]);
    EXPECT_EQ(s.card.transmit(fragments[1]), hex("6982"));
}

TEST(PivSign, RsaPkcs1v15_AllHashesVerifyWithOpenSsl) {
    Warm w;
    for (const HashAlgorithm h :
         {HashAlgorithm::Sha256, HashAlgorithm::Sha384, HashAlgorithm::Sha512}) {
        const SignRequest r = request("9c", SignatureScheme::RsaPkcs1v15, h);
        const Bytes signature = w.token.sign(r);
        ASSERT_EQ(signature.size(), 256u);
        EXPECT_TRUE(
            test::opensslVerify(w.s.cert9c, SignatureScheme::RsaPkcs1v15, h, r.digest, signature))
            << hashAlgorithmName(h);
    }
}

TEST(PivSign, RsaPss_AllHashesVerifyWithOpenSsl) {
    Warm w;
    for (const HashAlgorithm h :
         {HashAlgorithm::Sha256, HashAlgorithm::Sha384, HashAlgorithm::Sha512}) {
        const SignRequest r = request("9c", SignatureScheme::RsaPss, h);
        const Bytes signature = w.token.sign(r);
        EXPECT_TRUE(
            test::opensslVerify(w.s.cert9c, SignatureScheme::RsaPss, h, r.digest, signature))
            << hashAlgorithmName(h);
        EXPECT_FALSE(
            test::opensslVerify(w.s.cert9c, SignatureScheme::RsaPkcs1v15, h, r.digest, signature));
    }
}

TEST(PivSign, Rsa4096_ThreeChainedFragments) {
    WarmWithSignatureKey w(test::rsa4096());
    const SignRequest r = request("9c", SignatureScheme::RsaPss, HashAlgorithm::Sha512);
    const Bytes signature = w.token.sign(r);
    EXPECT_TRUE(test::opensslVerify(w.cert, SignatureScheme::RsaPss, HashAlgorithm::Sha512,
                                    r.digest, signature));
    const auto& sent = w.sent();
    ASSERT_EQ(sent.size(), 7u) << apdu::listing(sent);
    EXPECT_EQ(Bytes(sent[3].begin(), sent[3].begin() + 5), hex("10 87 16 9C FF"));
    EXPECT_EQ(Bytes(sent[4].begin(), sent[4].begin() + 5), hex("10 87 16 9C FF"));
    EXPECT_EQ(Bytes(sent[5].begin(), sent[5].begin() + 5), hex("00 87 16 9C 0C"));
}

TEST(PivSign, Rsa3072_AlgorithmId05) {
    WarmWithSignatureKey w(test::rsa3072());
    const SignRequest r = request("9c", SignatureScheme::RsaPkcs1v15, HashAlgorithm::Sha384);
    const Bytes signature = w.token.sign(r);
    EXPECT_TRUE(test::opensslVerify(w.cert, SignatureScheme::RsaPkcs1v15, HashAlgorithm::Sha384,
                                    r.digest, signature));
    EXPECT_EQ(w.sent()[3][2], 0x05);
}

TEST(PivSign, EcdsaP256_FiveApdusDerSignature) {
    WarmWithSignatureKey w(test::p256a());
    const SignRequest r = request("9c", SignatureScheme::Ecdsa, HashAlgorithm::Sha256);
    const Bytes signature = w.token.sign(r);
    EXPECT_EQ(signature[0], 0x30);
    EXPECT_TRUE(test::opensslVerify(w.cert, SignatureScheme::Ecdsa, HashAlgorithm::Sha256, r.digest,
                                    signature));
    const auto& sent = w.sent();
    ASSERT_EQ(sent.size(), 5u) << apdu::listing(sent);
    Bytes expectedGa = hex("00 87 11 9C 26 7C 24 82 00 81 20");
    expectedGa.insert(expectedGa.end(), r.digest.begin(), r.digest.end());
    expectedGa.push_back(0x00);
    EXPECT_EQ(sent[3], expectedGa);
    EXPECT_EQ(sent[2], apdu::verify("123456"));
    EXPECT_EQ(sent[4], apdu::logout());
}

TEST(PivSign, EcdsaP256WithSha384_HashTruncatedOnHost) {
    WarmWithSignatureKey w(test::p256a());
    const SignRequest r = request("9c", SignatureScheme::Ecdsa, HashAlgorithm::Sha384);
    const Bytes signature = w.token.sign(r);
    // The card signs the leftmost 32 bytes; OpenSSL checks against the whole SHA-384 digest.
    EXPECT_TRUE(test::opensslVerify(w.cert, SignatureScheme::Ecdsa, HashAlgorithm::Sha384, r.digest,
                                    signature));
    EXPECT_EQ(w.sent()[3][4], 0x26);  // 32-byte hash in the command
}

TEST(PivSign, EcdsaP384_Sha256AndSha512) {
    WarmWithSignatureKey w(test::p384());
    for (const HashAlgorithm h : {HashAlgorithm::Sha256, HashAlgorithm::Sha512}) {
        const SignRequest r = request("9c", SignatureScheme::Ecdsa, h);
        const Bytes signature = w.token.sign(r);
        EXPECT_TRUE(test::opensslVerify(w.cert, SignatureScheme::Ecdsa, h, r.digest, signature))
            << hashAlgorithmName(h);
    }
    EXPECT_EQ(w.sent()[3][2], 0x14);
}

TEST(PivSign, Sign_9A_PinOnceStillVerifiedAndLoggedOut) {
    Warm w;
    const SignRequest r = request("9a", SignatureScheme::RsaPkcs1v15, HashAlgorithm::Sha256);
    const Bytes signature = w.token.sign(r);
    EXPECT_TRUE(test::opensslVerify(w.s.cert9a, SignatureScheme::RsaPkcs1v15, HashAlgorithm::Sha256,
                                    r.digest, signature));
    EXPECT_EQ(w.sent().size(), 6u);
    EXPECT_EQ(w.sent().back(), apdu::logout());
}

TEST(PivSign, Sign_9E_NoPinSentEvenIfGiven) {
    Warm w;
    SignRequest r = request("9e", SignatureScheme::Ecdsa, HashAlgorithm::Sha256, "not a pin");
    const Bytes signature = w.token.sign(r);
    EXPECT_TRUE(test::opensslVerify(w.s.cert9e, SignatureScheme::Ecdsa, HashAlgorithm::Sha256,
                                    r.digest, signature));
    ASSERT_EQ(w.sent().size(), 2u) << apdu::listing(w.sent());
    EXPECT_EQ(w.sent()[0], apdu::select());
    EXPECT_EQ(Bytes(w.sent()[1].begin(), w.sent()[1].begin() + 4), hex("00 87 11 9E"));
}

TEST(PivSign, WrongPin_ReportsRetriesLeftNoSignature) {
    Warm w;
    try {
        (void)w.token.sign(
            request("9c", SignatureScheme::RsaPkcs1v15, HashAlgorithm::Sha256, "999999"));
        FAIL() << "no exception";
    } catch (const PinIncorrect& e) {
        EXPECT_EQ(e.retriesLeft(), 2);
    }
    EXPECT_EQ(firstGeneralAuthenticate(w.sent()), w.sent().size());
    EXPECT_EQ(w.sent().size(), 3u);
}

TEST(PivSign, PinBlocked_NoVerifyNoSignature) {
    Warm w;
    w.card().setPin("123456", 0);
    EXPECT_THROW(
        (void)w.token.sign(request("9c", SignatureScheme::RsaPkcs1v15, HashAlgorithm::Sha256)),
        PinBlocked);
    EXPECT_EQ(w.sent(), (std::vector<Bytes>{apdu::select(), apdu::pinStatus()}));
}

TEST(PivSign, BadPinFormat_CardUntouchedEvenWhenCold) {
    StandardCard s;
    PivToken token(s.card);
    EXPECT_THROW(
        (void)token.sign(request("9c", SignatureScheme::RsaPkcs1v15, HashAlgorithm::Sha256, "12")),
        PinFormat);
    EXPECT_TRUE(s.card.transmitted().empty());
}

TEST(PivSign, SchemeAndKeyMismatch_UnsupportedAlgorithmCardUntouched) {
    Warm w;
    EXPECT_THROW((void)w.token.sign(request("9c", SignatureScheme::Ecdsa, HashAlgorithm::Sha256)),
                 UnsupportedAlgorithm);
    EXPECT_THROW((void)w.token.sign(request("9d", SignatureScheme::RsaPss, HashAlgorithm::Sha256)),
                 UnsupportedAlgorithm);
    EXPECT_TRUE(w.sent().empty());
}

TEST(PivSign, DigestLengthMismatch_InvalidInputCardUntouched) {
    Warm w;
    SignRequest r = request("9c", SignatureScheme::RsaPkcs1v15, HashAlgorithm::Sha256);
    r.hash = HashAlgorithm::Sha384;
    EXPECT_THROW((void)w.token.sign(r), InvalidInput);
    EXPECT_TRUE(w.sent().empty());
}

TEST(PivSign, UnknownOrEmptySlot_KeyNotFound) {
    Warm w;
    for (const char* slot : {"9C", "9b", "82", "zz", "", "9c0"}) {
        EXPECT_THROW(
            (void)w.token.sign(request(slot, SignatureScheme::RsaPkcs1v15, HashAlgorithm::Sha256)),
            KeyNotFound)
            << slot;
    }
    EXPECT_TRUE(w.sent().empty());
}

TEST(PivSign, CertificateWithoutKeyOnCard_KeyNotFoundAfterLogout) {
    Warm w;
    // The card has the certificate but no key in the slot.
    w.card().interceptor = [](std::size_t, ByteView a) -> std::optional<Bytes> {
        if (a.size() > 4 && a[1] == 0x87) {
            return hex("6A88");
        }
        return std::nullopt;
    };
    EXPECT_THROW(
        (void)w.token.sign(request("9a", SignatureScheme::RsaPkcs1v15, HashAlgorithm::Sha256)),
        KeyNotFound);
    EXPECT_EQ(w.sent().back(), apdu::logout());
}

TEST(PivSign, CardAnswersError_CardErrorAndStillLogsOut) {
    Warm w;
    w.card().interceptor = [](std::size_t, ByteView a) -> std::optional<Bytes> {
        if (a.size() > 4 && a[0] == 0x00 && a[1] == 0x87) {
            return hex("6A80");
        }
        return std::nullopt;
    };
    try {
        (void)w.token.sign(request("9c", SignatureScheme::RsaPkcs1v15, HashAlgorithm::Sha256));
        FAIL() << "no exception";
    } catch (const CardError& e) {
        EXPECT_EQ(e.sw(), 0x6A80);
    }
    EXPECT_EQ(w.sent().back(), apdu::logout());
    EXPECT_FALSE(w.card().pinVerified());
}

TEST(PivSign, CardReturnsWrongSignature_MalformedDataNotReturned) {
    Warm w;
    // The card answers with a signature by another key: it must not leave the token.
    w.card().putKey(0x9C, test::rsa2048a());
    EXPECT_THROW(
        (void)w.token.sign(request("9c", SignatureScheme::RsaPkcs1v15, HashAlgorithm::Sha256)),
        MalformedData);
    EXPECT_EQ(w.sent().back(), apdu::logout());
}

TEST(PivSign, MalformedResponseTemplate_MalformedData) {
    Warm w;
    w.card().interceptor = [](std::size_t, ByteView a) -> std::optional<Bytes> {
        if (a.size() > 4 && a[0] == 0x00 && a[1] == 0x87) {
            return hex("7C 05 82 10 00 9000");
        }
        return std::nullopt;
    };
    EXPECT_THROW(
        (void)w.token.sign(request("9c", SignatureScheme::RsaPkcs1v15, HashAlgorithm::Sha256)),
        MalformedData);
}

TEST(PivSign, TransportErrorDuringGeneralAuthenticate_ResetRequired) {
    Warm w;
    auto removed = std::make_shared<bool>(false);
    w.card().interceptor = [removed](std::size_t, ByteView a) -> std::optional<Bytes> {
        if (*removed || (a.size() > 4 && a[1] == 0x87)) {
            *removed = true;
            throw test::FakeTransportError("card removed");
        }
        return std::nullopt;
    };
    EXPECT_THROW(
        (void)w.token.sign(request("9c", SignatureScheme::RsaPkcs1v15, HashAlgorithm::Sha256)),
        test::FakeTransportError);
    EXPECT_TRUE(w.token.resetRequired());
}

TEST(PivSign, Cold_ReadsCertificatesThenSigns) {
    StandardCard s;
    PivToken token(s.card);
    const SignRequest r = request("9c", SignatureScheme::RsaPkcs1v15, HashAlgorithm::Sha256);
    const Bytes signature = token.sign(r);
    EXPECT_TRUE(test::opensslVerify(s.cert9c, SignatureScheme::RsaPkcs1v15, HashAlgorithm::Sha256,
                                    r.digest, signature));
    EXPECT_EQ(s.card.transmitted().size(), 7u + 6u);
}

}  // namespace
}  // namespace tk::card
