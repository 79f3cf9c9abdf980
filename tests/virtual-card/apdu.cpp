#include "apdu.hpp"

#include <cstdio>

namespace tk::vcard {

std::optional<CommandApdu> CommandApdu::parse(ByteView raw) {
    if (raw.size() < 4) {
        return std::nullopt;
    }
    CommandApdu c;
    c.cla = raw[0];
    c.ins = raw[1];
    c.p1 = raw[2];
    c.p2 = raw[3];
    const ByteView body = raw.subspan(4);
    if (body.empty()) {
        return c;  // case 1
    }
    if (body.size() == 1) {  // case 2 short
        c.le_present = true;
        c.ne = body[0] == 0 ? 256 : body[0];
        return c;
    }
    if (body[0] != 0) {  // short case 3 or 4
        const std::size_t lc = body[0];
        if (body.size() == 1 + lc) {
            c.data.assign(body.begin() + 1, body.end());
            return c;
        }
        if (body.size() == 2 + lc) {
            c.data.assign(body.begin() + 1, body.begin() + 1 + static_cast<std::ptrdiff_t>(lc));
            c.le_present = true;
            c.ne = body.back() == 0 ? 256 : body.back();
            return c;
        }
        return std::nullopt;
    }
    // Extended: body starts with 00.
    if (body.size() < 3) {
        return std::nullopt;
    }
    c.extended = true;
    const std::size_t n = (static_cast<std::size_t>(body[1]) << 8) | body[2];
    if (body.size() == 3) {  // case 2 extended
        c.le_present = true;
        c.ne = n == 0 ? 65536 : n;
        return c;
    }
    if (n == 0) {
        return std::nullopt;
    }
    if (body.size() == 3 + n) {
        c.data.assign(body.begin() + 3, body.end());
        return c;
    }
    if (body.size() == 5 + n) {
        c.data.assign(body.begin() + 3, body.begin() + 3 + static_cast<std::ptrdiff_t>(n));
        c.le_present = true;
        const std::size_t le = (static_cast<std::size_t>(body[3 + n]) << 8) | body[4 + n];
        c.ne = le == 0 ? 65536 : le;
        return c;
    }
    return std::nullopt;
}

std::string CommandApdu::header_text() const {
    char buf[96];
    std::snprintf(buf, sizeof buf, "cla=%02x ins=%02x p1=%02x p2=%02x lc=%zu le=%zu", cla, ins, p1,
                  p2, data.size(), le_present ? ne : 0);
    return buf;
}

}  // namespace tk::vcard
