#include "service/client_text.hpp"

namespace tk::service {

std::string clientText(std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    const std::string_view shown = text.substr(0, kMaxLoggedClientText);
    std::string out;
    out.reserve(shown.size() + 24);
    for (const char c : shown) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte >= 0x20 && byte < 0x7F && c != '\\') {
            out += c;
        } else {
            out += "\\x";
            out += kHex[byte >> 4];
            out += kHex[byte & 0xF];
        }
    }
    if (text.size() > shown.size()) {
        out += "...(" + std::to_string(text.size()) + " bytes)";
    }
    return out;
}

}  // namespace tk::service
