#include "service/card_info.hpp"

#include <algorithm>
#include <charconv>

#include "service/base64.hpp"

namespace tk::service {
namespace {

bool hasUsage(const crypto::CertificateInfo& info, std::string_view name) {
    return std::find(info.keyUsage.begin(), info.keyUsage.end(), name) != info.keyUsage.end();
}

nlohmann::json attributesJson(const std::vector<crypto::NameAttribute>& attributes) {
    nlohmann::json list = nlohmann::json::array();
    for (const crypto::NameAttribute& attribute : attributes) {
        list.push_back({{"type", attribute.type}, {"value", attribute.value}});
    }
    return list;
}

template <class T>
nlohmann::json orNull(const std::optional<T>& value) {
    return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

nlohmann::json organizationIdJson(const std::optional<crypto::OrganizationId>& id) {
    if (!id) {
        return nullptr;
    }
    return {
        {"value", id->value},
        {"source", crypto::organizationIdSourceName(id->source)},
        {"mismatch", id->mismatch},
        {"extensionValue", orNull(id->extensionValue)},
        {"subjectValue", orNull(id->subjectValue)},
    };
}

}  // namespace

const CardCertificate* CardInfo::findSlot(std::string_view slot) const {
    for (const CardCertificate& certificate : certificates) {
        if (certificate.entry.slot == slot) {
            return &certificate;
        }
    }
    return nullptr;
}

nlohmann::json CardInfo::toJson() const {
    return {
        {"id", id.empty() ? nlohmann::json(nullptr) : nlohmann::json(id)},
        {"type", type},
        {"atr", card::toHex(atr)},
        {"label", label},
    };
}

namespace {

// KU(x): the bit is set, or there is no key usage extension.
bool allows(const crypto::CertificateInfo& info, std::string_view name) {
    return !info.hasKeyUsage || hasUsage(info, name);
}

bool allowsSigning(const crypto::CertificateInfo& info) {
    return allows(info, "digitalSignature") || allows(info, "nonRepudiation");
}

// keyEncipherment for RSA (key transport), keyAgreement for EC (ECDH, CMS kari).
bool allowsDecryption(const CardCertificate& certificate) {
    return allows(certificate.info,
                  card::isRsa(certificate.entry.keyAlgorithm) ? "keyEncipherment" : "keyAgreement");
}

// The rule for keys no slot table names: what the certificate says, at most one use except
// decrypt next to sign or register (used for PIV 9E when no-PIN keys are allowed).
KeyUses certificateDrivenUses(const CardCertificate& certificate) {
    const crypto::CertificateInfo& info = certificate.info;
    KeyUses uses;
    uses.registration = info.clientAuth;
    uses.sign = !uses.registration && allowsSigning(info);
    uses.decrypt = allowsDecryption(certificate);
    return uses;
}

bool isRetiredKeyManagementSlot(std::string_view slot) {
    unsigned value = 0;
    const auto [end, error] = std::from_chars(slot.data(), slot.data() + slot.size(), value, 16);
    return slot.size() == 2 && error == std::errc() && end == slot.data() + slot.size() &&
           value >= 0x82 && value <= 0x95;
}

KeyUses pivUses(const CardCertificate& certificate, bool allowNoPinKeys) {
    const std::string& slot = certificate.entry.slot;
    KeyUses uses;
    if (slot == "9a") {
        uses.registration = true;
    } else if (slot == "9c") {
        uses.sign = allowsSigning(certificate.info);
    } else if (slot == "9d" || isRetiredKeyManagementSlot(slot)) {
        uses.decrypt = allowsDecryption(certificate);
    } else if (slot == "9e" && allowNoPinKeys) {
        uses = certificateDrivenUses(certificate);
    }
    return uses;
}

// The PKCS#11 rules without the token-wide pairing.
KeyUses pkcs11Uses(const CardCertificate& certificate) {
    const crypto::CertificateInfo& info = certificate.info;
    const card::KeyPermissions allowed =
        certificate.entry.permissions.value_or(card::KeyPermissions{});
    KeyUses uses;
    uses.registration = info.clientAuth && allows(info, "digitalSignature") && allowed.sign;
    uses.sign = !uses.registration && allowsSigning(info) && allowed.sign;
    uses.decrypt = info.hasKeyUsage && !hasUsage(info, "digitalSignature") &&
                   !hasUsage(info, "nonRepudiation") && allowsDecryption(certificate) &&
                   allowed.decrypt;
    return uses;
}

bool usable(const CardCertificate& certificate, bool allowNoPinKeys) {
    return certificate.entry.pinPolicy != card::PinPolicy::Never || allowNoPinKeys;
}

}  // namespace

KeyUses keyUses(const CardInfo& card, const CardCertificate& certificate, bool allowNoPinKeys) {
    if (!usable(certificate, allowNoPinKeys)) {
        return {};
    }
    if (card.type == "piv") {
        return pivUses(certificate, allowNoPinKeys);
    }
    KeyUses uses = pkcs11Uses(certificate);
    if (uses.sign && !certificate.info.hasExtendedKeyUsage) {
        const bool tokenHasRegisterKey =
            std::any_of(card.certificates.begin(), card.certificates.end(),
                        [allowNoPinKeys](const CardCertificate& other) {
                            return usable(other, allowNoPinKeys) && pkcs11Uses(other).registration;
                        });
        uses.registration = !tokenHasRegisterKey;
    }
    return uses;
}

nlohmann::json keyUsesJson(const KeyUses& uses) {
    nlohmann::json list = nlohmann::json::array();
    if (uses.sign) {
        list.push_back("sign");
    }
    if (uses.decrypt) {
        list.push_back("decrypt");
    }
    if (uses.registration) {
        list.push_back("register");
    }
    return list;
}

std::string certificateId(std::string_view cardId, std::string_view slot) {
    std::string id(cardId);
    id += ':';
    id += slot;
    return id;
}

long long expiresInDays(std::time_t notAfter, std::time_t now) {
    const long long seconds = static_cast<long long>(notAfter) - static_cast<long long>(now);
    constexpr long long kDay = 86400;
    // Floor division: 1 second after expiry is day -1, not day 0.
    return seconds >= 0 ? seconds / kDay : -((-seconds + kDay - 1) / kDay);
}

nlohmann::json certificateFactsJson(const crypto::CertificateInfo& info) {
    return {
        {"subjectAttributes", attributesJson(info.subjectAttributes)},
        {"issuerAttributes", attributesJson(info.issuerAttributes)},
        {"organizationId", organizationIdJson(info.organizationId)},
        {"subjectType", info.subjectType
                            ? nlohmann::json(crypto::subjectTypeName(*info.subjectType))
                            : nlohmann::json(nullptr)},
        {"primaryCard", orNull(info.primaryCard)},
        {"policies", info.policies},
        {"extendedKeyUsage", info.extendedKeyUsage},
        {"fingerprintSha256", info.fingerprintSha256},
    };
}

nlohmann::json authorityCertificateJson(const CardInfo& card,
                                        const CardAuthorityCertificate& certificate,
                                        std::string_view reader) {
    const crypto::CertificateInfo& info = certificate.info;
    return {
        {"cardId", card.id},
        {"reader", reader},
        {"label", certificate.entry.label},
        {"der", encodeBase64(certificate.entry.der)},
        {"subject", info.subject},
        {"issuer", info.issuer},
        {"serialNumber", info.serialNumber},
        {"notBefore", crypto::formatRfc3339(info.notBefore)},
        {"notAfter", crypto::formatRfc3339(info.notAfter)},
    };
}

nlohmann::json certificateJson(const CardInfo& card, const CardCertificate& certificate,
                               std::string_view reader, bool allowNoPinKeys, std::time_t now) {
    const crypto::CertificateInfo& info = certificate.info;
    nlohmann::json json = {
        {"id", certificateId(card.id, certificate.entry.slot)},
        {"cardId", card.id},
        {"reader", reader},
        {"slot", certificate.entry.slot},
        {"label", certificate.entry.label},
        {"der", encodeBase64(certificate.entry.der)},
        {"subject", info.subject},
        {"issuer", info.issuer},
        {"serialNumber", info.serialNumber},
        {"notBefore", crypto::formatRfc3339(info.notBefore)},
        {"notAfter", crypto::formatRfc3339(info.notAfter)},
        {"keyAlgorithm", card::keyAlgorithmName(certificate.entry.keyAlgorithm)},
        {"keyUsage", info.keyUsage},
        {"usableFor", keyUsesJson(keyUses(card, certificate, allowNoPinKeys))},
        {"expiresInDays", expiresInDays(info.notAfter, now)},
    };
    json.update(certificateFactsJson(info));
    return json;
}

std::string pivCardLabel(const std::vector<CardCertificate>& certificates) {
    for (const CardCertificate& certificate : certificates) {
        if (certificate.entry.slot == "9a" && !certificate.info.subjectCommonName.empty()) {
            return certificate.info.subjectCommonName;
        }
    }
    return "PIV card";
}

}  // namespace tk::service
