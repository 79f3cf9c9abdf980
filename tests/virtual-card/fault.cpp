#include "fault.hpp"

#include <algorithm>
#include <cstdio>
#include <utility>

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
    if (text == "more-data-forever") {
        return Fault{Kind::MoreDataForever, 0};
    }
    for (const auto& [name, kind] :
         {std::pair{std::string_view("remove-on-ins"), Kind::RemoveOnIns},
          std::pair{std::string_view("wrong-le-on-ins"), Kind::WrongLeOnIns}}) {
        if (text.substr(0, name.size()) != name || text.size() != name.size() + 3) {
            continue;
        }
        const char sep = text[name.size()];
        if (sep != ' ' && sep != ':' && sep != '=') {
            return std::nullopt;
        }
        try {
            const Bytes ins = from_hex(text.substr(name.size() + 1));
            return Fault{kind, ins.at(0)};
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
        case Kind::RemoveOnIns:
        case Kind::WrongLeOnIns: {
            char buf[32];
            std::snprintf(buf, sizeof buf, "%s:%02x",
                          kind == Kind::RemoveOnIns ? "remove-on-ins" : "wrong-le-on-ins", ins);
            return buf;
        }
        case Kind::MoreDataForever:
            return "more-data-forever";
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
        case Fault::Kind::MoreDataForever:
        case Fault::Kind::WrongLeOnIns:
            break;
    }
    return response;
}

std::optional<Bytes> fault_answer(const Fault& fault, ByteView command) {
    if (command.size() < 4) {
        return std::nullopt;
    }
    if (fault.kind == Fault::Kind::MoreDataForever && command[1] == 0xC0) {
        return Bytes{0x61, 0x00};
    }
    // A body: a short Lc that is not zero (case 3 or 4), or an extended one.
    if (fault.kind == Fault::Kind::WrongLeOnIns && command[1] == fault.ins && command.size() > 5) {
        return Bytes{0x6C, 0x08};
    }
    return std::nullopt;
}

}  // namespace tk::vcard
