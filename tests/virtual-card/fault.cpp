#include "fault.hpp"

#include <algorithm>
#include <cstdio>

#include "card_crypto.hpp"

namespace tk::vcard {

std::optional<Fault> Fault::parse(std::string_view text) {
    while (!text.empty() && text.back() == ' ') {
        text.remove_suffix(1);
    }
    if (text == "none") {
        return Fault{};
    }
    if (text == "garbage") {
        return Fault{Kind::Garbage, 0};
    }
    if (text == "truncate") {
        return Fault{Kind::Truncate, 0};
    }
    constexpr std::string_view kRemove = "remove-on-ins";
    if (text.substr(0, kRemove.size()) == kRemove && text.size() == kRemove.size() + 3) {
        const char sep = text[kRemove.size()];
        if (sep != ' ' && sep != ':' && sep != '=') {
            return std::nullopt;
        }
        try {
            const Bytes ins = from_hex(text.substr(kRemove.size() + 1));
            return Fault{Kind::RemoveOnIns, ins.at(0)};
        } catch (const std::exception&) {
            return std::nullopt;
        }
    }
    return std::nullopt;
}

std::string Fault::describe() const {
    switch (kind) {
        case Kind::Garbage:
            return "garbage";
        case Kind::Truncate:
            return "truncate";
        case Kind::RemoveOnIns: {
            char buf[32];
            std::snprintf(buf, sizeof buf, "remove-on-ins:%02x", ins);
            return buf;
        }
        case Kind::None:
            break;
    }
    return "none";
}

Bytes apply_fault(const Fault& fault, const Bytes& response) {
    switch (fault.kind) {
        case Fault::Kind::Garbage: {
            Bytes out = random_bytes(16);
            out.push_back(0xDE);  // SW1 outside 6x/9x: no valid status word
            out.push_back(0xAD);
            return out;
        }
        case Fault::Kind::Truncate:
            return Bytes(response.begin(),
                         response.begin() + static_cast<std::ptrdiff_t>(
                                                std::max<std::size_t>(1, response.size() / 2)));
        case Fault::Kind::None:
        case Fault::Kind::RemoveOnIns:
            break;
    }
    return response;
}

}  // namespace tk::vcard
