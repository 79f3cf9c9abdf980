#pragma once

#include <openssl/x509.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bytes.hpp"
#include "card_crypto.hpp"
#include "card_state.hpp"

namespace tk::vcard {

struct X509Deleter {
    void operator()(X509* p) const noexcept { X509_free(p); }
};
using Certificate = std::unique_ptr<X509, X509Deleter>;

// What goes into an end-entity certificate besides the key.
struct CertificateProfile {
    std::vector<std::pair<std::string, std::string>> subject;  // ("O", "國立臺灣大學"), UTF-8
    std::string key_usage;           // OpenSSL syntax, e.g. "digitalSignature,nonRepudiation"
    std::string extended_key_usage;  // empty = no EKU extension
    long validity_days = 5 * 365 + 1;
};

// The test certification authority that issues the card's certificates.
class TestCa {
  public:
    static TestCa create();
    static TestCa from_pem(const std::string& cert_pem, const std::string& key_pem);

    std::string certificate_pem() const;
    std::string private_key_pem() const;
    const X509* certificate() const { return cert_.get(); }

    // X.509 v3, notBefore = now - 1 day, random 16-byte serial, SKI/AKI, CA:FALSE.
    Certificate issue(EVP_PKEY* subject_key, const CertificateProfile& profile) const;

  private:
    TestCa(Certificate cert, Pkey key) : cert_(std::move(cert)), key_(std::move(key)) {}
    Certificate cert_;
    Pkey key_;
};

Bytes certificate_der(const X509* cert);
Certificate certificate_from_der(ByteView der);

// PIV data object contents (without the outer 53 tag), SP 800-73-4 Part 1 Appendix A.
Bytes certificate_container(ByteView der);  // 70 cert 71 00 FE 00
Bytes chuid_object(ByteView guid, const std::string& expiry_yyyymmdd);
Bytes discovery_object();  // contents of 7E
Bytes key_history_object(std::uint8_t on_card, std::uint8_t off_card);
Bytes ccc_object(ByteView card_identifier);

struct IssueOptions {
    unsigned rsa_bits = 2048;
    // The algorithm of the signature key (9C): 0 for RSA of rsa_bits, else alg::kEccP256 or
    // alg::kEccP384.
    std::uint8_t signature_algorithm = 0;
    std::string pin = "123456";
    std::string puk = "12345678";
    int pin_tries = 3;
    int puk_tries = 3;
    std::optional<std::uint32_t> serial;  // random when absent
    std::string organisation = "國立臺灣大學";
    std::string organisational_unit = "總務處採購組";
};

struct IssuedCard {
    CardState state;
    TestCa ca;
};

Bytes default_management_key();

// A fresh card: keys and CA-issued certificates in 9A, 9C, 9D (RSA), 9E (P-256) and the
// retired slot 82 (P-384), CHUID, CCC, Discovery and key history objects.
// Throws std::invalid_argument for options a card cannot hold (PIN format, tries, RSA size).
IssuedCard issue_card(const IssueOptions& options);

// True for 6 to 8 ASCII digits followed by FF padding to 8 bytes.
bool is_valid_pin_block(ByteView block);

}  // namespace tk::vcard
