// The same virtual PIV card (tests/harness/with-cards) through the native PIV backend
// (card::CardSession) and through OpenSC's PKCS#11 module driven by card::pkcs11::Pkcs11Token:
// the certificate lists must be identical, signatures from either must verify with OpenSSL, and
// the PIN flags OpenSC derives from the card's retry counter must give the PIN errors and the
// last-try protection the PIV backend gives.

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "card/errors.hpp"
#include "card/pkcs11/module.hpp"
#include "card/pkcs11/pkcs11_token.hpp"
#include "card/session/card_session.hpp"
#include "support/harness.hpp"
#include "support/openssl_checks.hpp"

namespace tk::test {
namespace {

using card::HashAlgorithm;
using card::SignatureScheme;
using card::pkcs11::Module;
using card::pkcs11::Pkcs11Token;

constexpr const char* kOpenScModule = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so";
constexpr const char* kPin = "123456";

card::PinInput pin(const std::string& value, bool allowLastAttempt = false) {
    card::PinInput input;
    input.pin = card::SecureBytes::fromText(value);
    input.allowLastAttempt = allowLastAttempt;
    return input;
}

card::CardSessionOptions devOptions() {
    card::CardSessionOptions options;
    options.devMode = true;
    return options;
}

CK_SLOT_ID slotOf(const Module& module, const std::string& reader) {
    for (const auto& slot : module.slots(true)) {
        if (slot.description == reader) {
            return slot.id;
        }
    }
    throw std::runtime_error("OpenSC shows no token in " + reader);
}

class OpenScPiv : public ::testing::Test {
  protected:
    std::string reader_ = readerName(0);
    card::CardSession session_{reader_, devOptions()};
    std::shared_ptr<Module> module_ = Module::load(kOpenScModule);
    std::unique_ptr<Pkcs11Token> token_ =
        std::make_unique<Pkcs11Token>(module_, slotOf(*module_, reader_));

    // The PKCS#11 slot (CKA_ID) of the key whose certificate sits in PIV slot `pivSlot`.
    std::string pkcs11SlotOf(const std::string& pivSlot) {
        for (const auto& piv : session_.certificates()) {
            if (piv.slot != pivSlot) {
                continue;
            }
            for (const auto& entry : token_->certificates()) {
                if (entry.der == piv.der) {
                    return entry.slot;
                }
            }
        }
        throw std::runtime_error("no PKCS#11 key for PIV slot " + pivSlot);
    }

    card::Bytes certificateOf(const std::string& pivSlot) {
        for (const auto& piv : session_.certificates()) {
            if (piv.slot == pivSlot) {
                return piv.der;
            }
        }
        throw std::runtime_error("no certificate in PIV slot " + pivSlot);
    }
};

TEST_F(OpenScPiv, Certificates_IdenticalDerThroughPivAndPkcs11) {
    std::vector<card::Bytes> piv;
    for (const auto& entry : session_.certificates()) {
        piv.push_back(entry.der);
    }
    std::vector<card::Bytes> pkcs11;
    for (const auto& entry : token_->certificates()) {
        pkcs11.push_back(entry.der);
    }
    ASSERT_FALSE(piv.empty());
    std::sort(piv.begin(), piv.end());
    std::sort(pkcs11.begin(), pkcs11.end());
    EXPECT_EQ(piv, pkcs11);
    // Key algorithms agree key by key.
    for (const auto& entry : session_.certificates()) {
        for (const auto& other : token_->certificates()) {
            if (other.der == entry.der) {
                EXPECT_EQ(other.keyAlgorithm, entry.keyAlgorithm) << entry.slot;
            }
        }
    }
    EXPECT_EQ(token_->type(), "pkcs11");
    EXPECT_EQ(token_->cardId().size(), 20u);
}

TEST_F(OpenScPiv, SignRsa9c_BothBackendsVerifiedByOpenSsl) {
    const card::Bytes certificate = certificateOf("9c");
    for (const SignatureScheme scheme : {SignatureScheme::RsaPkcs1v15, SignatureScheme::RsaPss}) {
        const card::Bytes message = randomBytes(64);
        card::SignRequest request;
        request.scheme = scheme;
        request.hash = HashAlgorithm::Sha256;
        request.digest = opensslDigest(HashAlgorithm::Sha256, message);
        request.pin = pin(kPin);
        request.slot = "9c";
        const card::Bytes native = session_.sign(request);
        request.slot = pkcs11SlotOf("9c");
        request.pin = pin(kPin);
        const card::Bytes viaModule = token_->sign(request);
        EXPECT_TRUE(opensslVerifies(certificate, scheme, HashAlgorithm::Sha256, message, native))
            << card::signatureSchemeName(scheme);
        EXPECT_TRUE(opensslVerifies(certificate, scheme, HashAlgorithm::Sha256, message, viaModule))
            << card::signatureSchemeName(scheme);
        if (scheme == SignatureScheme::RsaPkcs1v15) {
            EXPECT_EQ(native, viaModule);  // deterministic padding, same key
        }
    }
}

TEST_F(OpenScPiv, SignEcdsa9e_Pkcs11SignatureIsDerAndVerifies) {
    const card::Bytes certificate = certificateOf("9e");
    const card::Bytes message = randomBytes(64);
    card::SignRequest request;
    request.slot = pkcs11SlotOf("9e");
    request.scheme = SignatureScheme::Ecdsa;
    request.digest = opensslDigest(HashAlgorithm::Sha256, message);
    request.pin = pin(kPin);
    const card::Bytes signature = token_->sign(request);
    ASSERT_FALSE(signature.empty());
    EXPECT_EQ(signature[0], 0x30);
    EXPECT_TRUE(opensslVerifies(certificate, SignatureScheme::Ecdsa, HashAlgorithm::Sha256, message,
                                signature));
}

TEST_F(OpenScPiv, DecryptRsa9d_Pkcs11RecoversOpenSslPlaintext) {
    const card::Bytes certificate = certificateOf("9d");
    const card::Bytes plaintext = randomBytes(24);
    card::DecryptRequest request;
    request.slot = pkcs11SlotOf("9d");
    request.padding = card::RsaDecryptPadding::Pkcs1v15;
    request.ciphertext =
        opensslEncrypt(certificate, request.padding, HashAlgorithm::Sha256, plaintext);
    request.pin = pin(kPin);
    const card::SecureBytes result = token_->decrypt(request);
    EXPECT_EQ(card::Bytes(result.begin(), result.end()), plaintext);
}

TEST_F(OpenScPiv, WrongPins_FinalTryFlagGivesLastAttemptProtectionThenBlocked) {
    EXPECT_THROW(token_->verifyPin(pin("999999")), card::PinIncorrect);
    try {
        token_->verifyPin(pin("999999"));
        FAIL() << "a wrong PIN was accepted";
    } catch (const card::PinIncorrect& e) {
        EXPECT_EQ(e.retriesLeft(), 1);  // CKF_USER_PIN_FINAL_TRY
    }
    EXPECT_EQ(token_->pinStatus().retriesLeft, 1);
    EXPECT_EQ(session_.pinStatus().retriesLeft, 1);  // the card's own counter agrees
    // The correct PIN is not sent either without the request's consent.
    EXPECT_THROW(token_->verifyPin(pin(kPin)), card::PinLastAttempt);
    EXPECT_EQ(session_.pinStatus().retriesLeft, 1);
    EXPECT_THROW(token_->verifyPin(pin("999999", true)), card::PinBlocked);
    EXPECT_TRUE(token_->pinStatus().blocked);
    EXPECT_TRUE(session_.pinStatus().blocked);
    EXPECT_THROW(token_->verifyPin(pin(kPin, true)), card::PinBlocked);
}

}  // namespace
}  // namespace tk::test
