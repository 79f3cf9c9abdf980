#include "card/tlv.hpp"

#include <stdexcept>

namespace tk::card {

namespace {

struct Header {
    std::uint32_t tag;
    std::size_t headerLength;
    std::size_t valueLength;
};

Header parseHeader(ByteView input) {
    std::size_t pos = 0;
    if (input.empty()) {
        throw TlvError("TLV: no tag");
    }
    const std::uint8_t first = input[pos++];
    // 00 and FF are not valid first tag bytes in ISO 7816 (they are padding).
    if (first == 0x00 || first == 0xFF) {
        throw TlvError("TLV: invalid first tag byte");
    }
    std::uint32_t tag = first;
    if ((first & 0x1F) == 0x1F) {
        // Subsequent tag bytes: bit 8 set means another byte follows.
        for (;;) {
            if (pos >= input.size()) {
                throw TlvError("TLV: truncated tag");
            }
            if (pos >= kMaxTagBytes) {
                throw TlvError("TLV: tag longer than four bytes");
            }
            const std::uint8_t b = input[pos++];
            tag = (tag << 8) | b;
            if ((b & 0x80) == 0) {
                break;
            }
        }
    }
    if (pos >= input.size()) {
        throw TlvError("TLV: no length");
    }
    const std::uint8_t l0 = input[pos++];
    std::size_t length = 0;
    if (l0 < 0x80) {
        length = l0;
    } else if (l0 == 0x81 || l0 == 0x82) {
        const std::size_t n = l0 & 0x7F;
        if (input.size() - pos < n) {
            throw TlvError("TLV: truncated length");
        }
        for (std::size_t i = 0; i < n; ++i) {
            length = (length << 8) | input[pos++];
        }
    } else if (l0 == 0x80) {
        throw TlvError("TLV: indefinite length");
    } else {
        throw TlvError("TLV: length field longer than three bytes");
    }
    if (length > input.size() - pos) {
        throw TlvError("TLV: value runs past the end of the data");
    }
    return {tag, pos, length};
}

}  // namespace

Tlv parseTlv(ByteView input) {
    const Header h = parseHeader(input);
    Tlv tlv;
    tlv.tag = h.tag;
    tlv.value = input.subspan(h.headerLength, h.valueLength);
    tlv.encoded = input.first(h.headerLength + h.valueLength);
    return tlv;
}

std::vector<Tlv> parseTlvs(ByteView input) {
    std::vector<Tlv> out;
    while (!input.empty()) {
        Tlv tlv = parseTlv(input);
        input = input.subspan(tlv.encoded.size());
        out.push_back(tlv);
    }
    return out;
}

std::optional<Tlv> findTlv(ByteView input, std::uint32_t tag) {
    for (const Tlv& tlv : parseTlvs(input)) {
        if (tlv.tag == tag) {
            return tlv;
        }
    }
    return std::nullopt;
}

std::optional<Tlv> findTlvPath(ByteView input, std::initializer_list<std::uint32_t> path) {
    std::optional<Tlv> current;
    ByteView scope = input;
    bool first = true;
    for (const std::uint32_t tag : path) {
        if (!first) {
            scope = current->value;
        }
        first = false;
        current = findTlv(scope, tag);
        if (!current) {
            return std::nullopt;
        }
    }
    return current;
}

Bytes encodeTlvLength(std::size_t length) {
    if (length < 0x80) {
        return {static_cast<std::uint8_t>(length)};
    }
    if (length <= 0xFF) {
        return {0x81, static_cast<std::uint8_t>(length)};
    }
    if (length <= kMaxTlvValueLength) {
        return {0x82, static_cast<std::uint8_t>(length >> 8), static_cast<std::uint8_t>(length)};
    }
    throw std::length_error("TLV value longer than 65535 bytes");
}

Bytes encodeTlvTag(std::uint32_t tag) {
    if (tag == 0) {
        throw std::invalid_argument("TLV tag 0");
    }
    Bytes out;
    for (int shift = 24; shift >= 0; shift -= 8) {
        const auto b = static_cast<std::uint8_t>(tag >> shift);
        if (!out.empty() || b != 0) {
            out.push_back(b);
        }
    }
    return out;
}

void appendTlv(Bytes& out, std::uint32_t tag, ByteView value) {
    const Bytes t = encodeTlvTag(tag);
    const Bytes l = encodeTlvLength(value.size());
    out.insert(out.end(), t.begin(), t.end());
    out.insert(out.end(), l.begin(), l.end());
    out.insert(out.end(), value.begin(), value.end());
}

Bytes encodeTlv(std::uint32_t tag, ByteView value) {
    Bytes out;
    appendTlv(out, tag, value);
    return out;
}

}  // namespace tk::card
