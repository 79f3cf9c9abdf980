#pragma once

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "bytes.hpp"

namespace tk::vcard {

// BER-TLV as used by PIV: tags of one to three bytes, definite lengths up to three bytes.
struct Tlv {
    std::uint32_t tag = 0;
    ByteView value;
};

class TlvError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

void put_length(Bytes& out, std::size_t length);
void put_tag(Bytes& out, std::uint32_t tag);
void put_tlv(Bytes& out, std::uint32_t tag, ByteView value);
Bytes make_tlv(std::uint32_t tag, ByteView value);

// Splits `data` into consecutive TLVs; throws TlvError when a TLV runs past the end.
std::vector<Tlv> parse_tlvs(ByteView data);

// First TLV with `tag` at the top level of `tlvs`, or nullptr.
const Tlv* find_tlv(const std::vector<Tlv>& tlvs, std::uint32_t tag);

}  // namespace tk::vcard
