#include "tlv.hpp"

namespace tk::vcard {

void put_length(Bytes& out, std::size_t length) {
    if (length < 0x80) {
        out.push_back(static_cast<std::uint8_t>(length));
    } else if (length <= 0xFF) {
        out.push_back(0x81);
        out.push_back(static_cast<std::uint8_t>(length));
    } else if (length <= 0xFFFF) {
        out.push_back(0x82);
        out.push_back(static_cast<std::uint8_t>(length >> 8));
        out.push_back(static_cast<std::uint8_t>(length));
    } else if (length <= 0xFFFFFF) {
        out.push_back(0x83);
        out.push_back(static_cast<std::uint8_t>(length >> 16));
        out.push_back(static_cast<std::uint8_t>(length >> 8));
        out.push_back(static_cast<std::uint8_t>(length));
    } else {
        throw TlvError("TLV value too long");
    }
}

void put_tag(Bytes& out, std::uint32_t tag) {
    if (tag > 0xFFFF) {
        out.push_back(static_cast<std::uint8_t>(tag >> 16));
    }
    if (tag > 0xFF) {
        out.push_back(static_cast<std::uint8_t>(tag >> 8));
    }
    out.push_back(static_cast<std::uint8_t>(tag));
}

void put_tlv(Bytes& out, std::uint32_t tag, ByteView value) {
    put_tag(out, tag);
    put_length(out, value.size());
    append(out, value);
}

Bytes make_tlv(std::uint32_t tag, ByteView value) {
    Bytes out;
    put_tlv(out, tag, value);
    return out;
}

std::vector<Tlv> parse_tlvs(ByteView data) {
    std::vector<Tlv> out;
    std::size_t pos = 0;
    while (pos < data.size()) {
        Tlv tlv;
        std::uint8_t b = data[pos++];
        tlv.tag = b;
        if ((b & 0x1F) == 0x1F) {
            int extra = 0;
            do {
                if (pos >= data.size() || ++extra > 2) {
                    throw TlvError("malformed tag");
                }
                b = data[pos++];
                tlv.tag = (tlv.tag << 8) | b;
            } while ((b & 0x80) != 0);
        }
        if (pos >= data.size()) {
            throw TlvError("missing length");
        }
        std::size_t length = data[pos++];
        if (length == 0x80 || length > 0x83) {
            throw TlvError("unsupported length encoding");
        }
        if (length > 0x80) {
            const std::size_t count = length - 0x80;
            if (data.size() - pos < count) {
                throw TlvError("truncated length");
            }
            length = 0;
            for (std::size_t i = 0; i < count; ++i) {
                length = (length << 8) | data[pos++];
            }
        }
        if (data.size() - pos < length) {
            throw TlvError("value runs past the end");
        }
        tlv.value = data.subspan(pos, length);
        pos += length;
        out.push_back(tlv);
    }
    return out;
}

const Tlv* find_tlv(const std::vector<Tlv>& tlvs, std::uint32_t tag) {
    for (const Tlv& t : tlvs) {
        if (t.tag == tag) {
            return &t;
        }
    }
    return nullptr;
}

}  // namespace tk::vcard
