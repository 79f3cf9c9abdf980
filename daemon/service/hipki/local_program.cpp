#include "service/hipki/local_program.hpp"

#include <openssl/crypto.h>

#include <string>

#include "card/bytes.hpp"

namespace tk::service::hipki {
namespace {

constexpr std::string_view kField = "tbsPackage=";

// Wipes a string that held a piece of the body, then empties it.
struct WipedString {
    std::string text;
    WipedString() = default;
    WipedString(const WipedString&) = delete;
    WipedString& operator=(const WipedString&) = delete;
    WipedString(WipedString&&) = delete;
    WipedString& operator=(WipedString&&) = delete;
    ~WipedString() {
        if (!text.empty()) {
            OPENSSL_cleanse(text.data(), text.size());
        }
    }
};

// application/x-www-form-urlencoded decoding of one value: "+" is a space, %XX a byte.
// false when a "%" is not followed by two hex digits.
bool formDecode(std::string_view text, std::string& out) {
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '+') {
            out.push_back(' ');
        } else if (text[i] != '%') {
            out.push_back(text[i]);
        } else {
            if (i + 2 >= text.size()) {
                return false;
            }
            const int high = card::hexDigitValue(text[i + 1]);
            const int low = card::hexDigitValue(text[i + 2]);
            if (high < 0 || low < 0) {
                return false;
            }
            out.push_back(static_cast<char>(high * 16 + low));
            i += 2;
        }
    }
    return true;
}

nlohmann::json objectOrNull(std::string_view text) {
    nlohmann::json value = nlohmann::json::parse(text, nullptr, false);
    return value.is_object() ? value : nlohmann::json();
}

}  // namespace

std::optional<std::string_view> localProgramFunction(std::string_view path, bool withCert) {
    if (path == "/sign") {
        return "MakeSignature";
    }
    if (path == "/decrypt") {
        return "DecryptData";
    }
    if (path == "/pkcs11info") {
        return withCert ? "GetUserCert" : "CheckEnvir";
    }
    return std::nullopt;
}

nlohmann::json localProgramPackage(std::string_view function, std::string_view body) {
    nlohmann::json package = nlohmann::json::object();
    if (function == "MakeSignature" || function == "DecryptData") {
        while (!body.empty() && (body.back() == '\r' || body.back() == '\n')) {
            body.remove_suffix(1);
        }
        if (body.substr(0, kField.size()) == kField) {
            body.remove_prefix(kField.size());
            // The vendor's clients send the JSON as it is; a form encodes it.
            package = objectOrNull(body);
            if (package.is_null()) {
                WipedString decoded;
                if (formDecode(body, decoded.text)) {
                    package = objectOrNull(decoded.text);
                }
            }
        } else {
            package = objectOrNull(body);
        }
    }
    if (package.is_object()) {
        package["func"] = std::string(function);
    }
    return package;
}

}  // namespace tk::service::hipki
