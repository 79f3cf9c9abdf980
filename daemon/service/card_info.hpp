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

// What a key may be used for (PROTOCOL.md §4 usableFor). Never both sign and registration.
struct KeyUses {
    bool sign = false;
    bool decrypt = false;
    bool registration = false;

    bool operator==(const KeyUses&) const = default;
};

// One key of a card with its certificate, parsed once when the card was identified.
struct CardCertificate {
    card::CertificateEntry entry;
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
    std::vector<CardCertificate> certificates;  // in the token's slot order

    const CardCertificate* findSlot(std::string_view slot) const;
    // {id, type, atr, label} as in readers.list (id null for "unknown").
    nlohmann::json toJson() const;
};

// The PROTOCOL.md rules, in order: a key that needs no PIN is usable for nothing unless
// `allowNoPinKeys`; `register` is the PIV Authentication key (9A) and any key whose certificate
// has the clientAuth extended key usage; `sign` is a key that is not `register` with
// digitalSignature or nonRepudiation; `decrypt` needs keyEncipherment (RSA) or keyAgreement
// (EC). A certificate without the key usage extension counts as having every bit.
KeyUses keyUses(std::string_view cardType, const CardCertificate& certificate, bool allowNoPinKeys);

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

// The Certificate object of PROTOCOL.md §4.
nlohmann::json certificateJson(const CardInfo& card, const CardCertificate& certificate,
                               std::string_view reader, bool allowNoPinKeys, std::time_t now);

// The display label of a PIV card: the subject common name of its 9A certificate, else
// "PIV card".
std::string pivCardLabel(const std::vector<CardCertificate>& certificates);

}  // namespace tk::service
