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

void printJson(const nlohmann::json& document) {
    std::cout << document.dump(2) << std::endl;
}

}  // namespace tk::cli
