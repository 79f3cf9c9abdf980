// The card session with two cards at once, and with cards whose RSA keys are 3072 and 4096 bits
// (each fixture runs in its own tests/harness/with-cards, see CMakeLists.txt).

#include <gtest/gtest.h>

#include <future>
#include <string>

#include "card/errors.hpp"
#include "card/session/card_session.hpp"
#include "card/session/token_cache.hpp"
#include "support/card_helpers.hpp"
#include "support/harness.hpp"
#include "support/openssl_checks.hpp"
#include "support/other_application.hpp"

namespace tk::test {
namespace {

using card::CardSession;
using card::HashAlgorithm;
using card::SignatureScheme;

card::CardSessionOptions devOptions() {
    card::CardSessionOptions options;
    options.devMode = true;
    return options;
}

// Signs with `slot` and checks the signature with OpenSSL.
void signAndCheck(CardSession& session, const std::string& slot, SignatureScheme scheme,
                  HashAlgorithm hash) {
    const card::Bytes message = randomBytes(700);
    const card::Bytes cert = entryFor(session.certificates(), slot).der;
    const card::Bytes signature =
        session.sign(signRequest(slot, scheme, hash, message, slot == "9e" ? noPin() : pin(kPin)));
    EXPECT_TRUE(opensslVerifies(cert, scheme, hash, message, signature))
        << session.reader() << " " << slot;
    card::Bytes other = message;
    other.back() ^= 0x01;
    EXPECT_FALSE(opensslVerifies(cert, scheme, hash, other, signature));
}

// ----------------------------------------------------------------------------- two cards

class TwoCards : public ::testing::Test {};

TEST_F(TwoCards, TwoReaders_OperationsOnBothAtOnce_DistinctCardsBothWork) {
    auto cache = std::make_shared<card::TokenCache>();
    CardSession first(readerName(0), devOptions(), cache);
    CardSession second(readerName(1), devOptions(), cache);
    const std::string id0 = first.cardId();
    const std::string id1 = second.cardId();
    EXPECT_NE(id0, id1);
    EXPECT_NE(entryFor(first.certificates(), "9c").der, entryFor(second.certificates(), "9c").der);

    // Each session has its own PC/SC context, so the two cards work in parallel.
    const auto work = [](CardSession& session) {
        for (int i = 0; i < 3; ++i) {
            signAndCheck(session, "9c", SignatureScheme::RsaPkcs1v15, HashAlgorithm::Sha256);
            signAndCheck(session, "9e", SignatureScheme::Ecdsa, HashAlgorithm::Sha256);
            EXPECT_EQ(*session.pinStatus().retriesLeft, 3);
        }
    };
    auto a = std::async(std::launch::async, [&] { work(first); });
    auto b = std::async(std::launch::async, [&] { work(second); });
    a.get();
    b.get();

    // A wrong PIN on one card does not touch the other.
    EXPECT_THROW(first.verifyPin(pin("000000")), card::PinIncorrect);
    EXPECT_EQ(*first.pinStatus().retriesLeft, 2);
    EXPECT_EQ(*second.pinStatus().retriesLeft, 3);
    EXPECT_EQ(cardStatusField(0, "pin_tries"), "2");
    EXPECT_EQ(cardStatusField(1, "pin_tries"), "3");
}

// ------------------------------------------------------------------------ larger RSA keys

void exerciseRsaCard(const std::string& keyAlgorithm) {
    CardSession session(readerName(0), devOptions());
    const auto entries = session.certificates();
    for (const std::string slot : {"9a", "9c", "9d"}) {
        EXPECT_EQ(card::keyAlgorithmName(entryFor(entries, slot).keyAlgorithm), keyAlgorithm)
            << slot;
        EXPECT_EQ(opensslKeyDescription(entryFor(entries, slot).der), keyAlgorithm) << slot;
    }
    signAndCheck(session, "9c", SignatureScheme::RsaPkcs1v15, HashAlgorithm::Sha256);
    signAndCheck(session, "9c", SignatureScheme::RsaPss, HashAlgorithm::Sha512);
    signAndCheck(session, "9a", SignatureScheme::RsaPkcs1v15, HashAlgorithm::Sha384);
    signAndCheck(session, "9a", SignatureScheme::RsaPss, HashAlgorithm::Sha256);

    const card::Bytes cert = entryFor(entries, "9d").der;
    const card::Bytes plaintext = randomBytes(200);
    for (const auto padding : {card::RsaDecryptPadding::Pkcs1v15, card::RsaDecryptPadding::Oaep}) {
        card::DecryptRequest request;
        request.slot = "9d";
        request.padding = padding;
        request.oaepHash = HashAlgorithm::Sha256;
        request.ciphertext = opensslEncrypt(cert, padding, HashAlgorithm::Sha256, plaintext);
        request.pin = pin(kPin);
        const card::SecureBytes decrypted = session.decrypt(request);
        EXPECT_EQ(card::Bytes(decrypted.begin(), decrypted.end()), plaintext);
    }
    OtherApplication other(readerName(0));
    const std::uint16_t state = other.pinState();
    EXPECT_EQ(state & 0xFFF0, 0x63C0) << std::hex << state;
}

class Rsa3072Card : public ::testing::Test {};

TEST_F(Rsa3072Card, SignAndDecrypt_Rsa3072Keys_VerifiedByOpenSsl) {
    exerciseRsaCard("RSA-3072");
}

class Rsa4096Card : public ::testing::Test {};

// OpenSC 0.23 cannot use 4096-bit PIV keys, so this is the only check of that path: the 512-byte
// block goes out in three chained parts and the answer comes back through GET RESPONSE.
TEST_F(Rsa4096Card, SignAndDecrypt_Rsa4096Keys_VerifiedByOpenSsl) {
    exerciseRsaCard("RSA-4096");
}

}  // namespace
}  // namespace tk::test
