// The card session (daemon/card/session) against the real stack: pcscd with the vpcd driver and
// a tenderkey-vcard card, started by tests/harness/with-cards. Every test gets a fresh pcscd and a
// fresh card (PIN 123456, PUK 12345678, 3 tries each). Signatures are verified, ciphertexts made
// and shared secrets derived by OpenSSL with the certificate's public key; what the card saw is
// read from its APDU log.

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include "card/errors.hpp"
#include "card/session/card_session.hpp"
#include "card/session/readers.hpp"
#include "card/session/token_cache.hpp"
#include "pcsc/context.hpp"
#include "pcsc/errors.hpp"
#include "support/card_helpers.hpp"
#include "support/harness.hpp"
#include "support/openssl_checks.hpp"
#include "support/other_application.hpp"
#include "support/process.hpp"

namespace tk::test {
namespace {

using namespace std::chrono_literals;
using card::CardSession;
using card::HashAlgorithm;
using card::SignatureScheme;
using Clock = std::chrono::steady_clock;

card::CardSessionOptions devOptions() {
    card::CardSessionOptions options;
    options.devMode = true;
    return options;
}

class Session : public ::testing::Test {
  protected:
    std::string reader_ = readerName(0);
    ApduLog log_{0};
    CardSession session_{reader_, devOptions()};

    // The card's answer to "is the PIN verified?" from another application, and a 9A signature
    // that application tries without a PIN: the card must be locked after each of our operations.
    void expectLockedForOthers(const std::string& after) {
        OtherApplication other(reader_);
        const std::uint16_t state = other.pinState();
        EXPECT_EQ(state & 0xFFF0, 0x63C0)
            << after << ": another application found the PIN state " << std::hex << state;
        EXPECT_EQ(other.signWith9aWithoutPin(), 0x6982)
            << after << ": another application could use key 9A without a PIN";
        EXPECT_EQ(cardStatusField(0, "pin_verified"), "0") << after;
    }

    card::Bytes certificate(const std::string& slot) {
        return entryFor(session_.certificates(), slot).der;
    }
};

// --------------------------------------------------------------------------- certificates

TEST_F(Session, Certificates_FreshCard_ListsFiveKeysWithUtf8SubjectsAndAlgorithms) {
    const auto entries = session_.certificates();
    ASSERT_EQ(entries.size(), 5U);
    const std::vector<std::pair<std::string, std::string>> expected = {{"9a", "RSA-2048"},
                                                                       {"9c", "RSA-2048"},
                                                                       {"9d", "RSA-2048"},
                                                                       {"9e", "EC-P256"},
                                                                       {"82", "EC-P384"}};
    for (std::size_t i = 0; i < expected.size(); ++i) {
        EXPECT_EQ(entries[i].slot, expected[i].first);
        EXPECT_EQ(card::keyAlgorithmName(entries[i].keyAlgorithm), expected[i].second);
        // What OpenSSL reads from the certificate agrees with what the card layer says.
        EXPECT_EQ(opensslKeyDescription(entries[i].der), expected[i].second);
    }
    EXPECT_EQ(entryFor(entries, "9c").pinPolicy, card::PinPolicy::Always);
    EXPECT_EQ(entryFor(entries, "9e").pinPolicy, card::PinPolicy::Never);
    EXPECT_EQ(entryFor(entries, "9a").pinPolicy, card::PinPolicy::Once);
    // The UTF-8 organisation name, byte for byte, inside every DER certificate.
    const std::string organisation = "國立臺灣大學";
    for (const auto& entry : entries) {
        const std::string der(entry.der.begin(), entry.der.end());
        EXPECT_NE(der.find(organisation), std::string::npos) << entry.slot;
    }
    EXPECT_EQ(session_.cardId().size(), 20U);
}

TEST_F(Session, Certificates_SecondListing_SendsNoApdu) {
    const auto first = session_.certificates();
    const std::size_t mark = log_.mark();
    const auto second = session_.certificates();
    const std::string id = session_.cardId();
    EXPECT_EQ(log_.apduCountSince(mark), 0U) << log_.describeSince(mark);
    ASSERT_EQ(second.size(), first.size());
    for (std::size_t i = 0; i < first.size(); ++i) {
        EXPECT_EQ(second[i].der, first[i].der);
    }
    EXPECT_FALSE(id.empty());
}

// ------------------------------------------------------------------------------------ PIN

TEST_F(Session, PinStatus_AskedThreeTimes_ConsumesNoTry) {
    const std::size_t mark = log_.mark();
    for (int i = 0; i < 3; ++i) {
        const card::PinStatus status = session_.pinStatus();
        ASSERT_TRUE(status.retriesLeft);
        EXPECT_EQ(*status.retriesLeft, 3);
        EXPECT_FALSE(status.blocked);
    }
    const auto apdus = log_.apdusSince(mark);
    EXPECT_EQ(pinPresentations(apdus), 0U) << log_.describeSince(mark);
    for (const LoggedApdu& a : apdus) {
        if (a.ins == 0x20) {
            EXPECT_EQ(a.lc, 0) << a.line;
            EXPECT_EQ(a.sw, 0x63C3) << a.line;
        }
    }
    EXPECT_EQ(cardStatusField(0, "pin_tries"), "3");
}

TEST_F(Session, PinStatus_PinLeftVerifiedByAnotherApplication_ClearsItAndReportsTries) {
    OtherApplication other(reader_);
    ASSERT_EQ(other.verifyAndLeave(kPin), 0x9000);
    ASSERT_EQ(cardStatusField(0, "pin_verified"), "1");
    const card::PinStatus status = session_.pinStatus();
    ASSERT_TRUE(status.retriesLeft);
    EXPECT_EQ(*status.retriesLeft, 3);
    expectLockedForOthers("pin status");
}

TEST_F(Session, VerifyPin_CorrectPin_SucceedsAndLeavesCardLocked) {
    const std::size_t mark = log_.mark();
    EXPECT_NO_THROW(session_.verifyPin(pin(kPin)));
    EXPECT_EQ(pinPresentations(log_.apdusSince(mark)), 1U) << log_.describeSince(mark);
    expectLockedForOthers("verify");
}

TEST_F(Session, VerifyPin_WrongPin_ReportsTwoThenOneTriesLeft) {
    try {
        session_.verifyPin(pin("654321"));
        FAIL() << "a wrong PIN was accepted";
    } catch (const card::PinIncorrect& e) {
        EXPECT_EQ(e.retriesLeft(), 2);
    }
    try {
        session_.verifyPin(pin("654321"));
        FAIL() << "a wrong PIN was accepted";
    } catch (const card::PinIncorrect& e) {
        EXPECT_EQ(e.retriesLeft(), 1);
    }
    EXPECT_EQ(cardStatusField(0, "pin_tries"), "1");
    // The right PIN (with the last try allowed) restores the counter.
    EXPECT_NO_THROW(session_.verifyPin(pin(kPin, true)));
    EXPECT_EQ(*session_.pinStatus().retriesLeft, 3);
}

TEST_F(Session, VerifyPin_OneTryLeftWithoutLastAttempt_RefusesWithoutPresentingPin) {
    EXPECT_THROW(session_.verifyPin(pin("000000")), card::PinIncorrect);
    EXPECT_THROW(session_.verifyPin(pin("000000")), card::PinIncorrect);
    const std::size_t mark = log_.mark();
    try {
        session_.verifyPin(pin(kPin));
        FAIL() << "the last try was used without lastAttempt";
    } catch (const card::PinLastAttempt& e) {
        EXPECT_EQ(e.retriesLeft(), 1);
        EXPECT_EQ(e.credential(), card::Credential::Pin);
    }
    EXPECT_EQ(pinPresentations(log_.apdusSince(mark)), 0U) << log_.describeSince(mark);
    EXPECT_EQ(cardStatusField(0, "pin_tries"), "1");
    // The same holds for a signature with a PIN-always key.
    const card::Bytes message = randomBytes(64);
    EXPECT_THROW(session_.sign(signRequest("9c", SignatureScheme::RsaPkcs1v15,
                                           HashAlgorithm::Sha256, message, pin(kPin))),
                 card::PinLastAttempt);
    EXPECT_EQ(pinPresentations(log_.apdusSince(mark)), 0U) << log_.describeSince(mark);
}

TEST_F(Session, VerifyPin_ThreeWrongPins_BlockThenPukUnblocksWithNewPin) {
    EXPECT_THROW(session_.verifyPin(pin("000000")), card::PinIncorrect);
    EXPECT_THROW(session_.verifyPin(pin("000000")), card::PinIncorrect);
    try {
        session_.verifyPin(pin("000000", true));
        FAIL() << "a wrong PIN was accepted";
    } catch (const card::PinBlocked& e) {
        EXPECT_EQ(e.retriesLeft(), 0);
    }
    EXPECT_TRUE(session_.pinStatus().blocked);

    // Blocked: the right PIN is not even sent.
    const std::size_t mark = log_.mark();
    EXPECT_THROW(session_.verifyPin(pin(kPin, true)), card::PinBlocked);
    EXPECT_EQ(pinPresentations(log_.apdusSince(mark)), 0U) << log_.describeSince(mark);

    try {
        session_.unblockPin(change("87654321", "24681357"));
        FAIL() << "a wrong PUK was accepted";
    } catch (const card::PukIncorrect& e) {
        EXPECT_EQ(e.retriesLeft(), 2);
    }
    EXPECT_NO_THROW(session_.unblockPin(change(kPuk, "24681357")));
    const card::PinStatus status = session_.pinStatus();
    EXPECT_FALSE(status.blocked);
    EXPECT_EQ(*status.retriesLeft, 3);
    EXPECT_NO_THROW(session_.verifyPin(pin("24681357")));
    EXPECT_THROW(session_.verifyPin(pin(kPin)), card::PinIncorrect);
    expectLockedForOthers("unblock");
}

TEST_F(Session, PinFormat_InvalidPinsAndPuks_LeaveTheCardUntouched) {
    const std::size_t mark = log_.mark();
    for (const std::string bad : {"12345", "123456789", "12a456", "", "12 456"}) {
        EXPECT_THROW(session_.verifyPin(pin(bad)), card::PinFormat) << "'" << bad << "'";
        EXPECT_THROW(session_.sign(signRequest("9c", SignatureScheme::RsaPkcs1v15,
                                               HashAlgorithm::Sha256, randomBytes(8), pin(bad))),
                     card::PinFormat)
            << "'" << bad << "'";
        EXPECT_THROW(session_.changePin(change(kPin, bad)), card::PinFormat) << "'" << bad << "'";
        EXPECT_THROW(session_.changePin(change(bad, kPin)), card::PinFormat) << "'" << bad << "'";
    }
    for (const std::string bad : {"1234567", "123456789", "1234567a"}) {
        EXPECT_THROW(session_.unblockPin(change(bad, kPin)), card::PinFormat) << "'" << bad << "'";
        EXPECT_THROW(session_.changePuk(change(kPuk, bad)), card::PinFormat) << "'" << bad << "'";
    }
    const auto apdus = log_.apdusSince(mark);
    for (const LoggedApdu& a : apdus) {
        EXPECT_NE(a.ins, 0x20) << "VERIFY sent: " << a.line;
        EXPECT_NE(a.ins, 0x24) << "CHANGE REFERENCE DATA sent: " << a.line;
        EXPECT_NE(a.ins, 0x2C) << "RESET RETRY COUNTER sent: " << a.line;
    }
    EXPECT_EQ(apdus.size(), 0U) << log_.describeSince(mark);
    EXPECT_EQ(cardStatusField(0, "pin_tries"), "3");
    EXPECT_EQ(cardStatusField(0, "puk_tries"), "3");
}

TEST_F(Session, ChangePin_RoundTrip_NewPinWorksOldOneFails) {
    EXPECT_NO_THROW(session_.changePin(change(kPin, "13572468")));
    expectLockedForOthers("change PIN");
    EXPECT_NO_THROW(session_.verifyPin(pin("13572468")));
    try {
        session_.verifyPin(pin(kPin));
        FAIL() << "the old PIN still works";
    } catch (const card::PinIncorrect& e) {
        EXPECT_EQ(e.retriesLeft(), 2);
    }
    // A wrong current PIN changes nothing and counts as a wrong try; with one try left the
    // change needs the last attempt allowed.
    try {
        session_.changePin(change("000000", kPin));
        FAIL() << "a wrong current PIN was accepted";
    } catch (const card::PinIncorrect& e) {
        EXPECT_EQ(e.retriesLeft(), 1);
    }
    EXPECT_THROW(session_.changePin(change("13572468", kPin)), card::PinLastAttempt);
    EXPECT_NO_THROW(session_.changePin(change("13572468", kPin, true)));
    EXPECT_NO_THROW(session_.verifyPin(pin(kPin)));
    EXPECT_EQ(*session_.pinStatus().retriesLeft, 3);
}

TEST_F(Session, ChangePuk_RoundTrip_NewPukUnblocksOldOneFails) {
    EXPECT_NO_THROW(session_.changePuk(change(kPuk, "87654321")));
    try {
        session_.unblockPin(change(kPuk, "111111"));
        FAIL() << "the old PUK still works";
    } catch (const card::PukIncorrect& e) {
        EXPECT_EQ(e.retriesLeft(), 2);
    }
    EXPECT_NO_THROW(session_.unblockPin(change("87654321", "111111")));
    EXPECT_NO_THROW(session_.verifyPin(pin("111111")));
    EXPECT_NO_THROW(session_.changePuk(change("87654321", kPuk)));
    EXPECT_NO_THROW(session_.unblockPin(change(kPuk, kPin)));
    EXPECT_NO_THROW(session_.verifyPin(pin(kPin)));
    EXPECT_EQ(cardStatusField(0, "puk_tries"), "3");
}

// ---------------------------------------------------------------------------- signatures

struct SignCase {
    std::string slot;
    SignatureScheme scheme;
    HashAlgorithm hash;
};

void signAndVerify(CardSession& session, const SignCase& c) {
    const card::Bytes message = randomBytes(1000);
    const card::Bytes cert = entryFor(session.certificates(), c.slot).der;
    const card::Bytes signature =
        session.sign(signRequest(c.slot, c.scheme, c.hash, message, pin(kPin)));
    const std::string what = c.slot + " " + std::string(card::signatureSchemeName(c.scheme)) + " " +
                             std::string(card::hashAlgorithmName(c.hash));
    EXPECT_TRUE(opensslVerifies(cert, c.scheme, c.hash, message, signature)) << what;
    // The check can fail: the same signature over other content does not verify.
    card::Bytes other = message;
    other[0] ^= 0x01;
    EXPECT_FALSE(opensslVerifies(cert, c.scheme, c.hash, other, signature)) << what;
}

TEST_F(Session, SignRsaPkcs1v15_9cAnd9aWithEveryHash_VerifiedByOpenSsl) {
    for (const auto hash : {HashAlgorithm::Sha256, HashAlgorithm::Sha384, HashAlgorithm::Sha512}) {
        signAndVerify(session_, {"9c", SignatureScheme::RsaPkcs1v15, hash});
        signAndVerify(session_, {"9a", SignatureScheme::RsaPkcs1v15, hash});
    }
    expectLockedForOthers("RSA signatures");
}

TEST_F(Session, SignRsaPss_9cAnd9a_VerifiedByOpenSsl) {
    signAndVerify(session_, {"9c", SignatureScheme::RsaPss, HashAlgorithm::Sha256});
    signAndVerify(session_, {"9a", SignatureScheme::RsaPss, HashAlgorithm::Sha384});
    signAndVerify(session_, {"9c", SignatureScheme::RsaPss, HashAlgorithm::Sha512});
    expectLockedForOthers("RSA-PSS signatures");
}

TEST_F(Session, SignEcdsaP256_9eWithoutPin_VerifiedByOpenSslAndNoVerifySent) {
    const card::Bytes cert = certificate("9e");
    const std::size_t mark = log_.mark();
    const card::Bytes message = randomBytes(300);
    const card::Bytes signature = session_.sign(
        signRequest("9e", SignatureScheme::Ecdsa, HashAlgorithm::Sha256, message, noPin()));
    EXPECT_TRUE(
        opensslVerifies(cert, SignatureScheme::Ecdsa, HashAlgorithm::Sha256, message, signature));
    card::Bytes other = message;
    other[5] ^= 0x80;
    EXPECT_FALSE(
        opensslVerifies(cert, SignatureScheme::Ecdsa, HashAlgorithm::Sha256, other, signature));
    for (const LoggedApdu& a : log_.apdusSince(mark)) {
        EXPECT_NE(a.ins, 0x20) << "a 9E signature touched the PIN: " << a.line;
    }
    // A PIN given for 9E is ignored, never sent.
    const std::size_t second = log_.mark();
    EXPECT_NO_THROW(session_.sign(
        signRequest("9e", SignatureScheme::Ecdsa, HashAlgorithm::Sha384, message, pin("000000"))));
    EXPECT_EQ(pinPresentations(log_.apdusSince(second)), 0U) << log_.describeSince(second);
}

TEST_F(Session, SignEcdsaP384_82WithEveryHash_VerifiedByOpenSsl) {
    // SHA-256 is shorter than the P-384 field (the card left-pads it), SHA-512 longer (the host
    // truncates it): OpenSSL's own handling of both must agree with the card's signature.
    for (const auto hash : {HashAlgorithm::Sha384, HashAlgorithm::Sha256, HashAlgorithm::Sha512}) {
        signAndVerify(session_, {"82", SignatureScheme::Ecdsa, hash});
    }
    expectLockedForOthers("P-384 signatures");
}

TEST_F(Session, Sign_SchemeThatDoesNotFitTheKey_RefusedBeforeThePin) {
    (void)session_.certificates();
    const std::size_t mark = log_.mark();
    EXPECT_THROW(session_.sign(signRequest("9e", SignatureScheme::RsaPss, HashAlgorithm::Sha256,
                                           randomBytes(10), noPin())),
                 card::UnsupportedAlgorithm);
    EXPECT_THROW(session_.sign(signRequest("9a", SignatureScheme::Ecdsa, HashAlgorithm::Sha256,
                                           randomBytes(10), pin(kPin))),
                 card::UnsupportedAlgorithm);
    EXPECT_THROW(session_.sign(signRequest("9b", SignatureScheme::Ecdsa, HashAlgorithm::Sha256,
                                           randomBytes(10), pin(kPin))),
                 card::KeyNotFound);
    EXPECT_EQ(pinPresentations(log_.apdusSince(mark)), 0U) << log_.describeSince(mark);
}

// ------------------------------------------------------------------- decryption and ECDH

TEST_F(Session, Decrypt_RsaPkcs1v15AndOaep_RecoversWhatOpenSslEncrypted) {
    const card::Bytes cert = certificate("9d");
    const card::Bytes plaintext = randomBytes(100);
    struct Case {
        card::RsaDecryptPadding padding;
        HashAlgorithm hash;
    };
    for (const Case c : {Case{card::RsaDecryptPadding::Pkcs1v15, HashAlgorithm::Sha256},
                         Case{card::RsaDecryptPadding::Oaep, HashAlgorithm::Sha256},
                         Case{card::RsaDecryptPadding::Oaep, HashAlgorithm::Sha384},
                         Case{card::RsaDecryptPadding::Oaep, HashAlgorithm::Sha512}}) {
        card::DecryptRequest request;
        request.slot = "9d";
        request.padding = c.padding;
        request.oaepHash = c.hash;
        request.ciphertext = opensslEncrypt(cert, c.padding, c.hash, plaintext);
        request.pin = pin(kPin);
        const card::SecureBytes decrypted = session_.decrypt(request);
        EXPECT_EQ(card::Bytes(decrypted.begin(), decrypted.end()), plaintext);
    }
    // A ciphertext for another padding does not decrypt.
    card::DecryptRequest wrong;
    wrong.slot = "9d";
    wrong.padding = card::RsaDecryptPadding::Pkcs1v15;
    wrong.ciphertext =
        opensslEncrypt(cert, card::RsaDecryptPadding::Oaep, HashAlgorithm::Sha256, plaintext);
    wrong.pin = pin(kPin);
    EXPECT_THROW(session_.decrypt(wrong), card::DecryptFailed);
    expectLockedForOthers("decrypt");
}

TEST_F(Session, DeriveEcdh_82And9e_MatchesOpenSslDerive) {
    for (const std::string slot : {"82", "9e"}) {
        const EcdhPeer peer = opensslEcdhPeer(certificate(slot));
        card::DeriveRequest request;
        request.slot = slot;
        request.peerPoint = peer.point;
        request.pin = slot == "82" ? pin(kPin) : noPin();
        const card::SecureBytes secret = session_.deriveSharedSecret(request);
        EXPECT_EQ(card::Bytes(secret.begin(), secret.end()), peer.secret) << slot;
    }
    expectLockedForOthers("ECDH");
}

// ------------------------------------------------------------------------ removal, reset

TEST_F(Session, SignCardPulledOutAtGeneralAuthenticate_ThrowsCardRemovedPromptly) {
    const card::Bytes message = randomBytes(100);
    (void)session_.certificates();
    controlCard(0, "fault remove-on-ins 87");
    const auto start = Clock::now();
    auto outcome = std::async(std::launch::async, [&] {
        return session_.sign(signRequest("9c", SignatureScheme::RsaPkcs1v15, HashAlgorithm::Sha256,
                                         message, pin(kPin)));
    });
    ASSERT_EQ(outcome.wait_for(10s), std::future_status::ready) << "the signature hangs";
    EXPECT_THROW(outcome.get(), pcsc::CardRemoved);
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    std::cout << "[ measured ] card pulled out mid-sign reported after " << ms << " ms"
              << std::endl;
    RecordProperty("removal_ms", std::to_string(ms));
    EXPECT_LT(ms, 3000.0);
    // The reader is empty now; the session says so, and works again with the card back.
    EXPECT_THROW(session_.pinStatus(), pcsc::NoCard);
    controlCard(0, "insert");
    waitForCard(0, true);
    EXPECT_EQ(*session_.pinStatus().retriesLeft, 3);
}

TEST_F(Session, SignWithNoPinKeyCardPulledOut_ThrowsCardRemovedNotAResult) {
    const card::Bytes message = randomBytes(100);
    (void)session_.certificates();
    controlCard(0, "fault remove-on-ins 87");
    auto outcome = std::async(std::launch::async, [&] {
        return session_.sign(
            signRequest("9e", SignatureScheme::Ecdsa, HashAlgorithm::Sha256, message, noPin()));
    });
    ASSERT_EQ(outcome.wait_for(10s), std::future_status::ready) << "the signature hangs";
    // A key that needs no PIN may be rerun after a reset, but a removal is reported as such.
    EXPECT_THROW(outcome.get(), pcsc::CardRemoved);
}

TEST_F(Session, CardRemovedAndPutBack_SameCardIdCertificatesCheckedNotReparsed) {
    auto cache = std::make_shared<card::TokenCache>();
    std::string id;
    std::vector<card::CertificateEntry> before;
    std::size_t reidentification = 0;
    {
        CardSession first(reader_, devOptions(), cache);
        before = first.certificates();
        id = first.cardId();
        controlCard(0, "remove");
        waitForCard(0, false);
        EXPECT_THROW(first.pinStatus(), pcsc::NoCard);
        controlCard(0, "insert");
        waitForCard(0, true);
        // The same session (the daemon keeps one per reader) recognises the card from its
        // CHUID (SELECT, GET DATA), then reads the key history and the certificate objects
        // again to see that nothing changed while the card was out; nothing is parsed again.
        const std::size_t mark = log_.mark();
        const auto after = first.certificates();
        EXPECT_EQ(first.cardId(), id);
        const auto apdus = log_.apdusSince(mark);
        std::cerr << "[economy] re-identification, card unchanged: " << apdus.size() << " APDUs\n"
                  << log_.describeSince(mark);
        ASSERT_GE(apdus.size(), 7U) << log_.describeSince(mark);
        EXPECT_EQ(apdus[0].ins, 0xA4U);
        std::size_t reads = 0;
        for (const auto& apdu : apdus) {
            reads += apdu.ins == 0xCB ? 1 : 0;
        }
        // CHUID, key history, 9A 9C 9D 9E and the retired 82: what a cold read takes.
        EXPECT_EQ(reads, 7U) << log_.describeSince(mark);
        reidentification = apdus.size();
        ASSERT_EQ(after.size(), before.size());
        for (std::size_t i = 0; i < before.size(); ++i) {
            EXPECT_EQ(after[i].der, before[i].der);
        }
    }
    // A new session without the cache reads the card and derives the same id, with as many
    // APDUs as the check of the kept token took.
    CardSession fresh(reader_, devOptions());
    const std::size_t mark = log_.mark();
    EXPECT_EQ(fresh.cardId(), id);
    EXPECT_EQ(log_.apduCountSince(mark), reidentification) << log_.describeSince(mark);
}

// Gives the key in `slot` a new certificate from the card's test CA (same key, subject CN
// `commonName`), written to the card by yubico-piv-tool, as a renewal done with another program
// (or on another computer) would. Returns the new certificate's DER.
card::Bytes renewCertificate(const std::string& reader, const std::string& slot,
                             const card::Bytes& currentDer, const std::string& commonName) {
    const std::string current = scratchPath("current-" + slot + ".der");
    writeBytes(current, currentDer);
    const std::string dir = environment("TK_VCARD_DIR_0");
    const std::string renewed = scratchPath("renewed-" + slot + ".pem");
    const std::string script =
        "set -e; openssl x509 -inform DER -in '" + current + "' -noout -pubkey > '" + renewed +
        ".pub'; openssl x509 -new -force_pubkey '" + renewed +
        ".pub' -subj '/C=TW/CN=" + commonName + "' -days 30 -CA '" + dir + "/ca.pem' -CAkey '" +
        dir + "/ca-key.pem' -out '" + renewed + "'; yubico-piv-tool -r '" + reader +
        "' -a import-certificate -s " + slot + " -i '" + renewed + "'; openssl x509 -in '" +
        renewed + "' -outform DER -out '" + renewed + ".der'";
    const ProcessResult result = runProcess({"bash", "-c", script});
    if (result.exitCode != 0) {
        throw std::runtime_error("renewing the certificate failed: " + result.err);
    }
    const auto der = readBytes(renewed + ".der");
    return card::Bytes(der.begin(), der.end());
}

// A card kept in the token cache while out of the reader, whose 9C certificate was renewed
// meanwhile: the session reads the certificate objects again when it meets the card, sees the
// difference and lists the new certificate; signatures with it verify. What re-identifying a
// card costs is counted from the card's APDU log.
TEST_F(Session, CardPutBackWithRenewedCertificate_NewCertificateListed) {
    auto cache = std::make_shared<card::TokenCache>();
    CardSession session(reader_, devOptions(), cache);
    const card::Bytes before = entryFor(session.certificates(), "9c").der;
    const std::string id = session.cardId();
    // Out of the reader as far as the session knows: it let go and kept the token.
    session.disconnect();
    ASSERT_EQ(cache->size(), 1U);
    const card::Bytes renewed = renewCertificate(reader_, "9c", before, "Renewed 9C");
    ASSERT_NE(renewed, before);
    controlCard(0, "remove");
    waitForCard(0, false);
    controlCard(0, "insert");
    waitForCard(0, true);

    const std::size_t mark = log_.mark();
    const auto after = session.certificates();
    std::cerr << "[economy] re-identification, certificate changed: " << log_.apduCountSince(mark)
              << " APDUs\n"
              << log_.describeSince(mark);
    EXPECT_EQ(session.cardId(), id);
    EXPECT_EQ(entryFor(after, "9c").der, renewed);
    const card::Bytes message = randomBytes(30);
    const card::Bytes signature = session.sign(
        signRequest("9c", SignatureScheme::RsaPkcs1v15, HashAlgorithm::Sha256, message, pin(kPin)));
    EXPECT_TRUE(opensslVerifies(renewed, SignatureScheme::RsaPkcs1v15, HashAlgorithm::Sha256,
                                message, signature));
}

TEST_F(Session, ResetByAnotherApplication_CertificatesAndPinStatusRecover) {
    const auto before = session_.certificates();
    OtherApplication other(reader_);
    other.resetCard();
    const std::size_t mark = log_.mark();
    const auto after = session_.certificates();
    EXPECT_EQ(after.size(), before.size());
    other.resetCard();
    const card::PinStatus status = session_.pinStatus();
    ASSERT_TRUE(status.retriesLeft);
    EXPECT_EQ(*status.retriesLeft, 3);
    // Reselected after the reset: the status VERIFY went to a selected PIV application.
    const auto apdus = log_.apdusSince(mark);
    ASSERT_GE(apdus.size(), 2U) << log_.describeSince(mark);
    EXPECT_EQ(apdus[apdus.size() - 2].ins, 0xA4) << log_.describeSince(mark);
    EXPECT_EQ(apdus.back().sw, 0x63C3) << log_.describeSince(mark);
}

// Every PIN-carrying APDU since `mark` follows a SELECT of the PIV application with no card
// event (reset, removal) in between: the session selects in every transaction before VERIFY.
void expectSelectBeforeEveryPin(const ApduLog& log, std::size_t mark) {
    bool selected = false;
    std::size_t pins = 0;
    for (const std::string& line : log.linesSince(mark)) {
        if (line.rfind("# ", 0) == 0) {
            selected = false;  // power-on, reset and removal clear the selection
            continue;
        }
        const auto apdu = parseApduLine(line);
        if (!apdu) {
            continue;
        }
        if (apdu->ins == 0xA4) {
            selected = apdu->sw == 0x9000;
        }
        if (apdu->ins == 0x20 && apdu->lc > 0) {
            ++pins;
            EXPECT_TRUE(selected) << "PIN presented without a SELECT after the last card event\n"
                                  << log.describeSince(mark);
        }
    }
    EXPECT_GT(pins, 0U) << log.describeSince(mark);
}

// Another program (yubico-piv-tool -a status does this) selects another application and resets
// the card between two requests. Nothing of the next request had reached the card, so the
// session reconnects, selects PIV again and runs it: no CardReset, the PIN presented once.
TEST_F(Session, ResetByAnotherApplicationBetweenRequests_PinOperationsRecoverPresentingPinOnce) {
    EXPECT_EQ(*session_.pinStatus().retriesLeft, 3);
    const card::Bytes cert = certificate("9c");
    OtherApplication other(reader_);
    other.selectOtherApplicationAndReset();
    const std::size_t mark = log_.mark();
    EXPECT_NO_THROW(session_.verifyPin(pin(kPin)));
    EXPECT_EQ(pinPresentations(log_.apdusSince(mark)), 1U) << log_.describeSince(mark);

    const card::Bytes first = randomBytes(40);
    (void)session_.sign(
        signRequest("9c", SignatureScheme::RsaPkcs1v15, HashAlgorithm::Sha256, first, pin(kPin)));
    other.selectOtherApplicationAndReset();
    const std::size_t beforeSecond = log_.mark();
    const card::Bytes second = randomBytes(40);
    const card::Bytes signature = session_.sign(
        signRequest("9c", SignatureScheme::RsaPkcs1v15, HashAlgorithm::Sha256, second, pin(kPin)));
    EXPECT_TRUE(opensslVerifies(cert, SignatureScheme::RsaPkcs1v15, HashAlgorithm::Sha256, second,
                                signature));
    EXPECT_EQ(pinPresentations(log_.apdusSince(beforeSecond)), 1U)
        << log_.describeSince(beforeSecond);
    expectSelectBeforeEveryPin(log_, mark);
    EXPECT_EQ(cardStatusField(0, "pin_tries"), "3");
    expectLockedForOthers("signature after another program's reset");
}

TEST_F(Session, ResetByAnotherApplication_9eSignatureReruns) {
    const card::Bytes cert = certificate("9e");
    OtherApplication other(reader_);
    other.resetCard();
    const card::Bytes message = randomBytes(50);
    const card::Bytes signature = session_.sign(
        signRequest("9e", SignatureScheme::Ecdsa, HashAlgorithm::Sha256, message, noPin()));
    EXPECT_TRUE(
        opensslVerifies(cert, SignatureScheme::Ecdsa, HashAlgorithm::Sha256, message, signature));
}

TEST_F(Session, PinStateNotClearable_OperationEndsWithCardReset) {
    (void)session_.certificates();
    // Slow the card down, and once the PIN VERIFY has been answered, cut every later response
    // in half: the signature fails and so does the VERIFY P1=FF after it, so only a card reset
    // can be trusted to drop the verified PIN.
    controlCard(0, "delay 500");
    const std::size_t mark = log_.mark();
    auto outcome = std::async(std::launch::async, [&] {
        return session_.sign(signRequest("9a", SignatureScheme::RsaPkcs1v15, HashAlgorithm::Sha256,
                                         randomBytes(10), pin(kPin)));
    });
    const auto deadline = Clock::now() + 10s;
    while (pinPresentations(log_.apdusSince(mark)) == 0 && Clock::now() < deadline) {
        std::this_thread::sleep_for(5ms);
    }
    controlCard(0, "fault truncate");
    ASSERT_EQ(outcome.wait_for(15s), std::future_status::ready) << "the signature hangs";
    EXPECT_ANY_THROW(outcome.get());
    controlCard(0, "fault none");
    controlCard(0, "delay 0");
    const auto lines = log_.linesSince(mark);
    std::size_t verifyAt = lines.size();
    std::size_t resetAt = lines.size();
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const auto apdu = parseApduLine(lines[i]);
        if (apdu && apdu->ins == 0x20 && apdu->lc > 0 && verifyAt == lines.size()) {
            verifyAt = i;
        }
        if (lines[i] == "# reset" && i > verifyAt && resetAt == lines.size()) {
            resetAt = i;
        }
    }
    EXPECT_LT(verifyAt, lines.size()) << log_.describeSince(mark);
    EXPECT_LT(resetAt, lines.size()) << "no card reset after the failed operation\n"
                                     << log_.describeSince(mark);
    expectLockedForOthers("failed signature");
    // The session's own handle was not left with a pending reset event.
    EXPECT_EQ(*session_.pinStatus().retriesLeft, 3);
}

// --------------------------------------------------------------------------- readers

TEST_F(Session, VirtualReader_OutsideDevMode_IsNotUsed) {
    EXPECT_THROW(CardSession(reader_, card::CardSessionOptions{}), card::ReaderNotFound);
    const pcsc::Context context;
    EXPECT_TRUE(card::usableReaders(context, false).empty());
    const auto dev = card::usableReaders(context, true);
    EXPECT_NE(std::find(dev.begin(), dev.end(), reader_), dev.end());
}

// ---------------------------------------------------------------------------- economy

TEST_F(Session, ApduEconomy_WarmSession_SendsTheFewestApdusTheRulesAllow) {
    (void)session_.certificates();
    const auto count = [this](auto&& operation) {
        const std::size_t mark = log_.mark();
        operation();
        return log_.apduCountSince(mark);
    };
    const card::Bytes message = randomBytes(100);
    // SELECT is sent by every operation that talks to the card (another program may have
    // selected another application); VERIFY without data before a PIN is the last-try rule;
    // VERIFY P1=FF after it leaves the card locked. An RSA-2048 GENERAL AUTHENTICATE takes two
    // chained parts and one GET RESPONSE.
    EXPECT_EQ(count([&] { (void)session_.certificates(); }), 0U);
    EXPECT_EQ(count([&] { (void)session_.pinStatus(); }), 2U);
    EXPECT_EQ(count([&] {
                  (void)session_.sign(signRequest("9c", SignatureScheme::RsaPkcs1v15,
                                                  HashAlgorithm::Sha256, message, pin(kPin)));
              }),
              7U);
    EXPECT_EQ(count([&] {
                  (void)session_.sign(signRequest("9e", SignatureScheme::Ecdsa,
                                                  HashAlgorithm::Sha256, message, noPin()));
              }),
              2U);
    EXPECT_EQ(count([&] {
                  card::DecryptRequest request;
                  request.slot = "9d";
                  request.ciphertext =
                      opensslEncrypt(certificate("9d"), card::RsaDecryptPadding::Pkcs1v15,
                                     HashAlgorithm::Sha256, message);
                  request.pin = pin(kPin);
                  (void)session_.decrypt(request);
              }),
              7U);
}

}  // namespace
}  // namespace tk::test
