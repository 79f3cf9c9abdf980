#pragma once

#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "card/bytes.hpp"
#include "card/token.hpp"
#include "crypto/certificate.hpp"

namespace tk::service {

// What a key may be used for (PROTOCOL.md §4 usableFor): one use per key. The one pair is
// sign + registration, for the signing key of a PKCS#11 token that has no registration key
// (keyRoles below); a raw signature with such a key needs the sign-raw capability.
struct KeyUses {
    bool sign = false;
    bool decrypt = false;
    bool registration = false;

    bool dualSignAndRegister() const { return sign && registration; }
    bool operator==(const KeyUses&) const = default;
};

// One key of a card with its certificate, parsed once when the card was identified.
struct CardCertificate {
    card::CertificateEntry entry;
    crypto::CertificateInfo info;
};

// A certificate of the card with no key behind it (a CA certificate on a PKCS#11 token).
struct CardAuthorityCertificate {
    card::AuthorityCertificate entry;
    crypto::CertificateInfo info;
};

// An identified card: what readers.list, card.inserted and certificates.list say about it.
// Immutable once built; shared between the manager's view and the requests that read it.
struct CardInfo {
    std::string id;    // cardId; empty for a card of type "unknown"
    std::string type;  // "piv" or "unknown"
    card::Bytes atr;
    std::string label;
    bool pinpad = false;
    std::vector<CardCertificate> certificates;                    // in the token's slot order
    std::vector<CardAuthorityCertificate> authorityCertificates;  // never keys

    const CardCertificate* findSlot(std::string_view slot) const;
    // {id, type, atr, label} as in readers.list (id null for "unknown").
    nlohmann::json toJson() const;
};

// The key-role table of PROTOCOL.md §4 (usableFor). Every key has one use; a key that needs no
// PIN is usable for nothing unless `allowNoPinKeys`. "KU(x)": the certificate's key usage has
// bit x, or the certificate has no key usage extension (which allows every use).
//
// PIV, by slot: 9A register; 9C sign (KU digitalSignature or nonRepudiation); 9D and the
// retired key-management slots 82-95 decrypt (RSA: KU keyEncipherment, EC: KU keyAgreement),
// never sign, whatever else the key usage allows; 9E nothing, or with `allowNoPinKeys` the
// certificate-driven rule below.
//
// PKCS#11, by certificate and key object (CertificateEntry::permissions; an unknown one allows):
// register: clientAuth in the extended key usage, KU digitalSignature, CKA_SIGN;
// sign: not register, KU digitalSignature or nonRepudiation, CKA_SIGN;
// decrypt: a key usage extension with keyEncipherment (RSA) or keyAgreement (EC) and neither
// digitalSignature nor nonRepudiation, CKA_DECRYPT, CKA_UNWRAP or CKA_DERIVE.
// A token with no register key registers with its sign keys whose certificate has no extended
// key usage: those are ["sign", "register"], the one pair.
KeyUses keyUses(const CardInfo& card, const CardCertificate& certificate, bool allowNoPinKeys);

// ["sign", "decrypt", "register"] in that order, the ones set.
nlohmann::json keyUsesJson(const KeyUses& uses);

// `<cardId>:<slot>`.
std::string certificateId(std::string_view cardId, std::string_view slot);

// Whole days from `now` to `notAfter`, rounded down (negative once expired).
long long expiresInDays(std::time_t notAfter, std::time_t now);

// The certificate facts of the Certificate object (subjectAttributes, issuerAttributes,
// organizationId, subjectType, primaryCard, policies, extendedKeyUsage, fingerprintSha256),
// shared with `tenderkey certs --json`.
nlohmann::json certificateFactsJson(const crypto::CertificateInfo& info);

// The CA certificate object of certificates.list (caCertificates).
nlohmann::json authorityCertificateJson(const CardInfo& card,
                                        const CardAuthorityCertificate& certificate,
                                        std::string_view reader);

// The Certificate object of PROTOCOL.md §4.
nlohmann::json certificateJson(const CardInfo& card, const CardCertificate& certificate,
                               std::string_view reader, bool allowNoPinKeys, std::time_t now);

// The display label of a PIV card: the subject common name of its 9A certificate, else
// "PIV card".
std::string pivCardLabel(const std::vector<CardCertificate>& certificates);

}  // namespace tk::service
