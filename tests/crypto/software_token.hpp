#pragma once

// A card::Token whose keys are OpenSSL keys in memory: the private-key steps (sign, decrypt,
// derive) behave as a card's do, everything else is refused. For testing the crypto layer
// without a card.

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "card/token.hpp"

namespace tk::test {

using PKeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;

// "RSA-2048", "RSA-3072", "EC-P256", "EC-P384".
PKeyPtr generateKey(const std::string& type);

// A test CA and certificates it issues.
struct TestCa {
    TestCa();
    PKeyPtr key;
    X509Ptr certificate;
    // A leaf certificate for `key` with the given keyUsage (OpenSSL config syntax).
    card::Bytes issue(EVP_PKEY* subjectKey, const std::string& commonName,
                      const std::string& keyUsage) const;
    std::string pem() const;
};

class SoftwareToken : public card::Token {
  public:
    SoftwareToken() = default;
    ~SoftwareToken() override;
    void addKey(const std::string& slot, EVP_PKEY* key, card::Bytes certificate);

    // Number of sign/decrypt/derive calls that reached a key.
    int operations = 0;
    // When set, the next private-key operation throws it instead.
    std::exception_ptr failNext;
    // What the last operation was asked to do.
    card::SignatureScheme lastScheme = card::SignatureScheme::RsaPkcs1v15;
    card::HashAlgorithm lastHash = card::HashAlgorithm::Sha256;
    bool lastHadPin = false;
    card::RsaDecryptPadding lastPadding = card::RsaDecryptPadding::Pkcs1v15;

    std::string_view type() const override { return "software"; }
    const std::string& cardId() override { return id_; }
    const std::vector<card::CertificateEntry>& certificates() override { return entries_; }
    const std::vector<card::SkippedCertificate>& skippedCertificates() override { return skipped_; }
    void invalidateCache() override {}
    bool hasPinpad() override { return false; }
    card::PinStatus pinStatus() override { return {3, false}; }
    void verifyPin(const card::PinInput&) override { refuse(); }
    void changePin(const card::ReferenceDataChange&) override { refuse(); }
    void changePuk(const card::ReferenceDataChange&) override { refuse(); }
    void unblockPin(const card::ReferenceDataChange&) override { refuse(); }
    card::Bytes sign(const card::SignRequest& request) override;
    card::SecureBytes decrypt(const card::DecryptRequest& request) override;
    card::SecureBytes deriveSharedSecret(const card::DeriveRequest& request) override;
    bool resetRequired() const override { return false; }
    void cardWasReset() override {}

  private:
    [[noreturn]] static void refuse();
    EVP_PKEY* key(const std::string& slot);
    void begin();

    std::string id_ = "software";
    std::map<std::string, EVP_PKEY*> keys_;
    std::vector<card::CertificateEntry> entries_;
    std::vector<card::SkippedCertificate> skipped_;
};

}  // namespace tk::test
