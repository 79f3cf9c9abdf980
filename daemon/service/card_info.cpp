#include "service/card_info.hpp"

#include <algorithm>

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

KeyUses keyUses(std::string_view cardType, const CardCertificate& certificate,
                bool allowNoPinKeys) {
    KeyUses uses;
    if (certificate.entry.pinPolicy == card::PinPolicy::Never && !allowNoPinKeys) {
        return uses;
    }
    const crypto::CertificateInfo& info = certificate.info;
    const bool unrestricted = !info.hasKeyUsage;
    uses.registration = (cardType == "piv" && certificate.entry.slot == "9a") || info.clientAuth;
    uses.sign = !uses.registration && (unrestricted || hasUsage(info, "digitalSignature") ||
                                       hasUsage(info, "nonRepudiation"));
    if (card::isRsa(certificate.entry.keyAlgorithm)) {
        uses.decrypt = unrestricted || hasUsage(info, "keyEncipherment");
    } else {
        uses.decrypt = unrestricted || hasUsage(info, "keyAgreement");
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
        {"usableFor", keyUsesJson(keyUses(card.type, certificate, allowNoPinKeys))},
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
