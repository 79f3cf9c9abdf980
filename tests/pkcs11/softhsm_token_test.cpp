// Pkcs11Token against SoftHSM2 (a software PKCS#11 module): a token made for each test (see
// support/softhsm.hpp). Signatures are verified, ciphertexts made and ECDH secrets derived by
// OpenSSL with the certificate's public key, independently of the code under test.

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>

#include "card/errors.hpp"
#include "card/pkcs11/module.hpp"
#include "card/pkcs11/pkcs11_token.hpp"
#include "support/openssl_checks.hpp"
#include "support/softhsm.hpp"

namespace tk::test {
namespace {

using card::HashAlgorithm;
using card::SignatureScheme;
using card::pkcs11::Module;
using card::pkcs11::Pkcs11Token;

card::PinInput pin(const std::string& value, bool allowLastAttempt = false) {
    card::PinInput input;
    input.pin = card::SecureBytes::fromText(value);
    input.allowLastAttempt = allowLastAttempt;
    return input;
}

card::ReferenceDataChange change(const std::string& current, const std::string& replacement) {
    card::ReferenceDataChange c;
    c.current = card::SecureBytes::fromText(current);
    c.replacement = card::SecureBytes::fromText(replacement);
    return c;
}

class SoftHsm : public ::testing::Test {
  protected:
    SoftHsmToken hsm_;
    std::shared_ptr<Module> module_ = Module::load(kSoftHsmModule);
    std::unique_ptr<Pkcs11Token> token_ =
        std::make_unique<Pkcs11Token>(module_, hsm_.slotIn(*module_));

    card::Bytes signAndCheck(const std::string& slot, SignatureScheme scheme, HashAlgorithm hash,
                             const card::Bytes& certificate) {
        const card::Bytes message = randomBytes(100);
        card::SignRequest request;
        request.slot = slot;
        request.scheme = scheme;
        request.hash = hash;
        request.digest = opensslDigest(hash, message);
        request.pin = pin(kSoftHsmPin);
        const card::Bytes signature = token_->sign(request);
        EXPECT_TRUE(opensslVerifies(certificate, scheme, hash, message, signature))
            << card::signatureSchemeName(scheme) << " " << card::hashAlgorithmName(hash);
        return signature;
    }
};

TEST(Pkcs11PinMapping, TokenFlags_MapToBestKnownRetries) {
    using card::pkcs11::pinStatusFromFlags;
    using card::pkcs11::soPinStatusFromFlags;
    EXPECT_EQ(pinStatusFromFlags(0).retriesLeft, card::pkcs11::kUncountedTries);
    EXPECT_FALSE(pinStatusFromFlags(0).blocked);
    EXPECT_EQ(pinStatusFromFlags(CKF_USER_PIN_COUNT_LOW).retriesLeft, 2);
    EXPECT_EQ(pinStatusFromFlags(CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY).retriesLeft, 1);
    EXPECT_TRUE(pinStatusFromFlags(CKF_USER_PIN_LOCKED).blocked);
    EXPECT_EQ(pinStatusFromFlags(CKF_USER_PIN_LOCKED).retriesLeft, 0);
    // The SO flags say nothing about the user PIN, and the other way round.
    EXPECT_EQ(pinStatusFromFlags(CKF_SO_PIN_LOCKED).retriesLeft, card::pkcs11::kUncountedTries);
    EXPECT_TRUE(soPinStatusFromFlags(CKF_SO_PIN_LOCKED).blocked);
    EXPECT_EQ(soPinStatusFromFlags(CKF_SO_PIN_FINAL_TRY).retriesLeft, 1);
    EXPECT_EQ(soPinStatusFromFlags(CKF_USER_PIN_FINAL_TRY).retriesLeft,
              card::pkcs11::kUncountedTries);
}

TEST(Pkcs11CardId, SameFields_SameIdAndNoSerialInIt) {
    card::pkcs11::TokenDescription a;
    a.manufacturer = "Vendor";
    a.model = "Model";
    a.serialNumber = "0123456789";
    card::pkcs11::TokenDescription b = a;
    b.serialNumber = "0123456788";
    const std::string id = card::pkcs11::deriveTokenCardId(a);
    EXPECT_EQ(id.size(), 20u);
    EXPECT_EQ(id, card::pkcs11::deriveTokenCardId(a));
    EXPECT_NE(id, card::pkcs11::deriveTokenCardId(b));
    EXPECT_EQ(id.find("0123456789"), std::string::npos);
}

TEST(Pkcs11Module, MissingFile_ReportsModuleError) {
    EXPECT_THROW(Module::load("/nonexistent/module.so"), card::pkcs11::ModuleError);
}

TEST_F(SoftHsm, Certificates_ListsRsaAndEcKeysByCkaId) {
    const auto& entries = token_->certificates();
    ASSERT_EQ(entries.size(), 2u);
    EXPECT_EQ(entries[0].slot, "01");
    EXPECT_EQ(entries[0].label, "rsa");
    EXPECT_EQ(entries[0].der, hsm_.rsaCertificate());
    EXPECT_EQ(entries[0].keyAlgorithm, card::KeyAlgorithm::Rsa2048);
    EXPECT_EQ(entries[0].pinPolicy, card::PinPolicy::Once);
    EXPECT_EQ(entries[1].slot, "02");
    EXPECT_EQ(entries[1].der, hsm_.ecCertificate());
    EXPECT_EQ(entries[1].keyAlgorithm, card::KeyAlgorithm::EcP256);
    EXPECT_TRUE(token_->skippedCertificates().empty());
    EXPECT_EQ(token_->type(), "pkcs11");
    EXPECT_EQ(token_->label(), kSoftHsmLabel);
    EXPECT_FALSE(token_->hasPinpad());
}

TEST_F(SoftHsm, Certificates_KeyObjectAttributesAreRead) {
    const auto& entries = token_->certificates();
    ASSERT_EQ(entries.size(), 2u);
    // Before login SoftHSM hides the private keys: the public keys tell (CKA_VERIFY, CKA_ENCRYPT
    // or CKA_DERIVE).
    ASSERT_TRUE(entries[0].permissions.has_value());
    EXPECT_TRUE(entries[0].permissions->sign);
    ASSERT_TRUE(entries[1].permissions.has_value());
    EXPECT_TRUE(entries[1].permissions->sign);
}

TEST_F(SoftHsm, CaCertificateWithoutKey_ListedApartNeverAsAKey) {
    const card::Bytes ca = hsm_.addCaCertificate();
    Pkcs11Token fresh(module_, token_->slotId());
    ASSERT_EQ(fresh.certificates().size(), 2u);
    for (const auto& entry : fresh.certificates()) {
        EXPECT_NE(entry.der, ca) << entry.slot;
    }
    ASSERT_EQ(fresh.authorityCertificates().size(), 1u);
    EXPECT_EQ(fresh.authorityCertificates()[0].der, ca);
    EXPECT_EQ(fresh.authorityCertificates()[0].label, "ca");
    EXPECT_TRUE(fresh.skippedCertificates().empty());
}

TEST_F(SoftHsm, CardId_StableAcrossTokenObjectsAndHex) {
    const std::string id = token_->cardId();
    EXPECT_EQ(id.size(), 20u);
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
    Pkcs11Token again(module_, token_->slotId());
    EXPECT_EQ(again.cardId(), id);
    EXPECT_EQ(id, card::pkcs11::deriveTokenCardId(module_->token(token_->slotId())));
}

TEST_F(SoftHsm, PinStatus_FreshToken_ReportsUncountedTries) {
    const card::PinStatus status = token_->pinStatus();
    EXPECT_EQ(status.retriesLeft, card::pkcs11::kUncountedTries);
    EXPECT_FALSE(status.blocked);
}

TEST_F(SoftHsm, VerifyPin_Correct_SucceedsAndLogsOut) {
    EXPECT_NO_THROW(token_->verifyPin(pin(kSoftHsmPin)));
    // Logged out again: a private object is not visible to a new session of the module.
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    ASSERT_EQ(module_->functions()->C_OpenSession(token_->slotId(), CKF_SERIAL_SESSION, nullptr,
                                                  nullptr, &s),
              CKR_OK);
    CK_SESSION_INFO info{};
    ASSERT_EQ(module_->functions()->C_GetSessionInfo(s, &info), CKR_OK);
    EXPECT_EQ(info.state, CKS_RO_PUBLIC_SESSION);
    module_->functions()->C_CloseSession(s);
}

// SoftHSM counts nothing but sets CKF_USER_PIN_COUNT_LOW after a wrong PIN (and never
// CKF_USER_PIN_FINAL_TRY or CKF_USER_PIN_LOCKED).
TEST_F(SoftHsm, VerifyPin_Wrong_ReportsPinIncorrectWithCountLowTries) {
    try {
        token_->verifyPin(pin("999999"));
        FAIL() << "a wrong PIN was accepted";
    } catch (const card::PinIncorrect& e) {
        EXPECT_EQ(e.retriesLeft(), 2);
    }
    EXPECT_EQ(token_->pinStatus().retriesLeft, 2);
    EXPECT_NO_THROW(token_->verifyPin(pin(kSoftHsmPin)));
}

TEST_F(SoftHsm, VerifyPin_TooShortOrMissing_RefusedBeforeTheToken) {
    EXPECT_THROW(token_->verifyPin(pin("12")), card::PinFormat);
    EXPECT_THROW(token_->verifyPin(card::PinInput{}), card::PinRequired);
}

TEST_F(SoftHsm, ChangePin_NewPinWorksOldDoesNot) {
    token_->changePin(change(kSoftHsmPin, "654321"));
    EXPECT_THROW(token_->verifyPin(pin(kSoftHsmPin)), card::PinIncorrect);
    EXPECT_NO_THROW(token_->verifyPin(pin("654321")));
}

TEST_F(SoftHsm, ChangePin_WrongCurrent_ReportsPinIncorrect) {
    EXPECT_THROW(token_->changePin(change("999999", "654321")), card::PinIncorrect);
    EXPECT_NO_THROW(token_->verifyPin(pin(kSoftHsmPin)));
}

TEST_F(SoftHsm, UnblockPin_WithSoPin_SetsNewPin) {
    token_->unblockPin(change(kSoftHsmSoPin, "111111"));
    EXPECT_THROW(token_->verifyPin(pin(kSoftHsmPin)), card::PinIncorrect);
    EXPECT_NO_THROW(token_->verifyPin(pin("111111")));
}

TEST_F(SoftHsm, UnblockPin_WrongSoPin_ReportsPukIncorrect) {
    EXPECT_THROW(token_->unblockPin(change("87654321", "111111")), card::PukIncorrect);
    EXPECT_NO_THROW(token_->verifyPin(pin(kSoftHsmPin)));
}

TEST_F(SoftHsm, ChangePuk_NewSoPinUnblocks) {
    token_->changePuk(change(kSoftHsmSoPin, "abcdefgh"));
    EXPECT_THROW(token_->unblockPin(change(kSoftHsmSoPin, "111111")), card::PukIncorrect);
    EXPECT_NO_THROW(token_->unblockPin(change("abcdefgh", "111111")));
}

TEST_F(SoftHsm, SignRsaPkcs1v15_EveryHash_VerifiedByOpenSsl) {
    for (const HashAlgorithm hash :
         {HashAlgorithm::Sha256, HashAlgorithm::Sha384, HashAlgorithm::Sha512}) {
        const card::Bytes signature =
            signAndCheck("01", SignatureScheme::RsaPkcs1v15, hash, hsm_.rsaCertificate());
        EXPECT_EQ(signature.size(), 256u);
    }
}

TEST_F(SoftHsm, SignRsaPss_EveryHash_VerifiedByOpenSsl) {
    for (const HashAlgorithm hash :
         {HashAlgorithm::Sha256, HashAlgorithm::Sha384, HashAlgorithm::Sha512}) {
        signAndCheck("01", SignatureScheme::RsaPss, hash, hsm_.rsaCertificate());
    }
}

TEST_F(SoftHsm, SignEcdsaP256_DerSignatureVerifiedByOpenSsl) {
    for (const HashAlgorithm hash : {HashAlgorithm::Sha256, HashAlgorithm::Sha384}) {
        const card::Bytes signature =
            signAndCheck("02", SignatureScheme::Ecdsa, hash, hsm_.ecCertificate());
        ASSERT_FALSE(signature.empty());
        EXPECT_EQ(signature[0], 0x30);  // DER SEQUENCE, not r || s
    }
}

TEST_F(SoftHsm, Sign_WrongPin_PinIncorrectAndNoSignature) {
    card::SignRequest request;
    request.slot = "01";
    request.digest = opensslDigest(HashAlgorithm::Sha256, randomBytes(10));
    request.pin = pin("999999");
    EXPECT_THROW(token_->sign(request), card::PinIncorrect);
}

TEST_F(SoftHsm, Sign_SchemeDoesNotFitKey_UnsupportedAlgorithm) {
    card::SignRequest request;
    request.slot = "01";
    request.scheme = SignatureScheme::Ecdsa;
    request.digest = opensslDigest(HashAlgorithm::Sha256, randomBytes(10));
    request.pin = pin(kSoftHsmPin);
    EXPECT_THROW(token_->sign(request), card::UnsupportedAlgorithm);
    request.slot = "07";
    EXPECT_THROW(token_->sign(request), card::KeyNotFound);
}

TEST_F(SoftHsm, DecryptRsa_Pkcs1v15AndOaep_RecoverOpenSslPlaintext) {
    const card::Bytes plaintext = randomBytes(32);
    for (const auto& [padding, hash] :
         {std::pair{card::RsaDecryptPadding::Pkcs1v15, HashAlgorithm::Sha256},
          std::pair{card::RsaDecryptPadding::Oaep, HashAlgorithm::Sha256},
          std::pair{card::RsaDecryptPadding::Oaep, HashAlgorithm::Sha384}}) {
        card::DecryptRequest request;
        request.slot = "01";
        request.padding = padding;
        request.oaepHash = hash;
        request.ciphertext = opensslEncrypt(hsm_.rsaCertificate(), padding, hash, plaintext);
        request.pin = pin(kSoftHsmPin);
        const card::SecureBytes result = token_->decrypt(request);
        EXPECT_EQ(card::Bytes(result.begin(), result.end()), plaintext);
    }
}

TEST_F(SoftHsm, Decrypt_WrongPadding_DecryptFailed) {
    card::DecryptRequest request;
    request.slot = "01";
    request.padding = card::RsaDecryptPadding::Oaep;
    request.ciphertext = opensslEncrypt(hsm_.rsaCertificate(), card::RsaDecryptPadding::Pkcs1v15,
                                        HashAlgorithm::Sha256, randomBytes(16));
    request.pin = pin(kSoftHsmPin);
    EXPECT_THROW(token_->decrypt(request), card::Error);
}

TEST_F(SoftHsm, DeriveEcdh_SameSecretAsOpenSsl) {
    const EcdhPeer peer = opensslEcdhPeer(hsm_.ecCertificate());
    card::DeriveRequest request;
    request.slot = "02";
    request.peerPoint = peer.point;
    request.pin = pin(kSoftHsmPin);
    const card::SecureBytes secret = token_->deriveSharedSecret(request);
    EXPECT_EQ(card::Bytes(secret.begin(), secret.end()), peer.secret);
}

TEST_F(SoftHsm, DeriveEcdh_PointOffCurve_InvalidInput) {
    card::DeriveRequest request;
    request.slot = "02";
    request.peerPoint = card::Bytes(65, 0x01);
    request.peerPoint[0] = 0x04;
    request.pin = pin(kSoftHsmPin);
    EXPECT_THROW(token_->deriveSharedSecret(request), card::InvalidInput);
}

}  // namespace
}  // namespace tk::test
