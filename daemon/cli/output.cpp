#include "cli/output.hpp"

#include <openssl/evp.h>

#include <iostream>

namespace tk::cli {

std::string base64(card::ByteView bytes) {
    std::string text(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()), bytes.data(),
                                  static_cast<int>(bytes.size()));
    text.resize(static_cast<std::size_t>(n));
    return text;
}

std::string pem(card::ByteView der, const std::string& label) {
    const std::string body = base64(der);
    std::string text = "-----BEGIN " + label + "-----\n";
    for (std::size_t i = 0; i < body.size(); i += 64) {
        text += body.substr(i, 64) + "\n";
    }
    text += "-----END " + label + "-----\n";
    return text;
}

std::string pinPolicyName(card::PinPolicy policy) {
    switch (policy) {
        case card::PinPolicy::Never:
            return "never";
        case card::PinPolicy::Once:
            return "once";
        case card::PinPolicy::Always:
            return "always";
    }
    return "once";
}

namespace {

std::string joinedList(const std::vector<std::string>& items) {
    std::string text;
    for (const std::string& item : items) {
        text += (text.empty() ? "" : ", ") + item;
    }
    return text;
}

}  // namespace

std::string certificateFactsText(const crypto::CertificateInfo& info) {
    std::string text;
    if (const auto& id = info.organizationId) {
        text += "    org id   " + id->value;
        if (id->mismatch) {
            text += " (MISMATCH: the extension says " + id->extensionValue.value_or("") +
                    ", the subject " + id->subjectValue.value_or("") + ")";
        } else {
            text += std::string(" (") + crypto::organizationIdSourceName(id->source) + ")";
        }
        text += "\n";
    }
    if (info.subjectType || info.primaryCard) {
        std::vector<std::string> holder;
        if (info.subjectType) {
            holder.emplace_back(crypto::subjectTypeName(*info.subjectType));
        }
        if (info.primaryCard) {
            holder.emplace_back(*info.primaryCard ? "primary card" : "secondary card");
        }
        text += "    holder   " + joinedList(holder) + "\n";
    }
    if (!info.policies.empty()) {
        text += "    policy   " + joinedList(info.policies) + "\n";
    }
    if (!info.extendedKeyUsage.empty()) {
        text += "    ext use  " + joinedList(info.extendedKeyUsage) + "\n";
    }
    text += "    sha-256  " + info.fingerprintSha256 + "\n";
    return text;
}

void printJson(const nlohmann::json& document) {
    std::cout << document.dump(2) << std::endl;
}

}  // namespace tk::cli
