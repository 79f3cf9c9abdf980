#pragma once

#include <string>
#include <vector>

#include "card/bytes.hpp"
#include "support/fake_piv_card.hpp"

// The exact command APDUs PivToken is expected to send, spelled out independently of its code.
namespace tk::test::apdu {

inline Bytes select() {
    return hex("00 A4 04 00 09 A0 00 00 03 08 00 00 10 00 00");
}
inline Bytes pinStatus() {
    return hex("00 20 00 80");
}
inline Bytes logout() {
    return hex("00 20 FF 80");
}
inline Bytes getData(const std::string& tagHex) {
    return hex("00 CB 3F FF 05 5C 03" + tagHex + "00");
}
inline Bytes block8(const std::string& value) {
    Bytes out(8, 0xFF);
    std::copy(value.begin(), value.end(), out.begin());
    return out;
}
inline Bytes verify(const std::string& pin) {
    Bytes out = hex("00 20 00 80 08");
    const Bytes b = block8(pin);
    out.insert(out.end(), b.begin(), b.end());
    return out;
}
inline Bytes referenceData(const std::string& insP2, const std::string& first,
                           const std::string& second) {
    Bytes out = hex("00" + insP2 + "10");
    for (const auto& v : {first, second}) {
        const Bytes b = block8(v);
        out.insert(out.end(), b.begin(), b.end());
    }
    return out;
}
inline bool isGeneralAuthenticate(const Bytes& apdu) {
    return apdu.size() > 4 && apdu[1] == 0x87;
}

// Readable listing for assertion messages.
inline std::string listing(const std::vector<Bytes>& apdus) {
    std::string out;
    for (const Bytes& a : apdus) {
        const std::string h = card::toHex(a);
        out += "  " +
               (h.size() > 40 ? h.substr(0, 40) + "...(" + std::to_string(a.size()) + ")" : h) +
               "\n";
    }
    return out;
}

}  // namespace tk::test::apdu
