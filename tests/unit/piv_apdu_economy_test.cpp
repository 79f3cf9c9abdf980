#include <gtest/gtest.h>

#include "card/piv/piv_token.hpp"
#include "support/fake_piv_card.hpp"
#include "support/piv_apdus.hpp"

// How many APDUs each operation costs (transmit calls; GET RESPONSE for answers over 256 bytes
// happens below CardChannel::transmit and is not counted here).
namespace tk::card {
namespace {

using test::StandardCard;

PinInput pin(const std::string& value) {
    PinInput in;
    in.pin = SecureBytes::fromText(value);
    return in;
}

ReferenceDataChange change(const std::string& current, const std::string& replacement) {
    ReferenceDataChange c;
    c.current = SecureBytes::fromText(current);
    c.replacement = SecureBytes::fromText(replacement);
    return c;
}

class PivApduEconomy : public ::testing::Test {
  protected:
    StandardCard s;
    PivToken token{s.card};

    template <class F>
    std::size_t count(F&& operation) {
        s.card.clearLog();
        operation();
        return s.card.transmitted().size();
    }

    SignRequest signRequest(const std::string& slot, SignatureScheme scheme) {
        SignRequest r;
        r.slot = slot;
        r.scheme = scheme;
        r.digest = test::opensslDigest(HashAlgorithm::Sha256, test::bytesOf("x"));
        r.pin = pin("123456");
        return r;
    }
};

TEST_F(PivApduEconomy, CountsPerOperation) {
    EXPECT_EQ(count([&] { (void)token.certificates(); }),
              7u);  // cold: SELECT, CHUID, history, 4 certs
    EXPECT_EQ(count([&] { (void)token.certificates(); }), 0u);  // warm
    EXPECT_EQ(count([&] { (void)token.cardId(); }), 0u);
    EXPECT_EQ(count([&] { (void)token.pinStatus(); }), 2u);
    EXPECT_EQ(count([&] { token.verifyPin(pin("123456")); }), 4u);
    // RSA-2048 9C: SELECT, status, VERIFY, 2 chained GENERAL AUTHENTICATE parts, logout.
    EXPECT_EQ(count([&] { (void)token.sign(signRequest("9c", SignatureScheme::RsaPkcs1v15)); }),
              6u);
    // ECDSA P-256 (9D here): SELECT, status, VERIFY, GENERAL AUTHENTICATE, logout.
    EXPECT_EQ(count([&] { (void)token.sign(signRequest("9d", SignatureScheme::Ecdsa)); }), 5u);
    // 9E needs no PIN: SELECT, GENERAL AUTHENTICATE.
    EXPECT_EQ(count([&] { (void)token.sign(signRequest("9e", SignatureScheme::Ecdsa)); }), 2u);
    EXPECT_EQ(count([&] { token.changePin(change("123456", "654321")); }), 4u);
    EXPECT_EQ(count([&] { token.changePuk(change("12345678", "87654321")); }), 2u);
    EXPECT_EQ(count([&] { token.unblockPin(change("87654321", "123456")); }), 3u);
}

TEST_F(PivApduEconomy, DecryptRsa2048_SixApdus) {
    test::CertificateSpec spec;
    spec.keyUsage = "critical,keyEncipherment";
    const Bytes cert = test::makeCertificate(test::rsa2048a(), spec);
    s.card.putCertificate(0x9D, cert);
    s.card.putKey(0x9D, test::rsa2048a());
    (void)token.certificates();
    DecryptRequest r;
    r.slot = "9d";
    r.ciphertext = test::opensslEncrypt(cert, RsaDecryptPadding::Pkcs1v15, HashAlgorithm::Sha256,
                                        test::bytesOf("k"));
    r.pin = pin("123456");
    EXPECT_EQ(count([&] { (void)token.decrypt(r); }), 6u);
}

}  // namespace
}  // namespace tk::card
