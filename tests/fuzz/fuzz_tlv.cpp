// BER-TLV (daemon/card/tlv) on hostile bytes: parsing raises TlvError or returns views inside
// the input, and every element parsed re-encodes to the same tag and value.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "card/tlv.hpp"

namespace {

using tk::card::ByteView;

bool inside(ByteView part, ByteView whole) {
    return part.empty() || (part.data() >= whole.data() &&
                            part.data() + part.size() <= whole.data() + whole.size());
}

// A broken expectation: says which one, then aborts (libFuzzer keeps the input as a crash).
void check(bool ok, int line = __builtin_LINE()) {
    if (!ok) {
        std::fprintf(stderr, "%s:%d: expectation failed\n", __FILE__, line);
        std::abort();
    }
}

// An element survives encodeTlv -> parseTlv unchanged (tag number and value bytes).
void checkRoundTrip(const tk::card::Tlv& tlv, ByteView input) {
    check(inside(tlv.value, input) && inside(tlv.encoded, input));
    check(tlv.encoded.size() >= tlv.value.size() + 2);
    if (tlv.tag == 0) {
        return;  // encodeTlvTag refuses tag number 0 by contract
    }
    const tk::card::Bytes again = tk::card::encodeTlv(tlv.tag, tlv.value);
    const tk::card::Tlv reparsed = tk::card::parseTlv(again);
    check(reparsed.tag == tlv.tag);
    check(reparsed.value.size() == tlv.value.size());
    check(std::equal(reparsed.value.begin(), reparsed.value.end(), tlv.value.begin()));
    check(reparsed.encoded.size() == again.size());
}

void walk(ByteView input, int depth) {
    std::vector<tk::card::Tlv> elements;
    try {
        elements = tk::card::parseTlvs(input);
    } catch (const tk::card::TlvError&) {
        return;
    }
    std::size_t covered = 0;
    for (const auto& tlv : elements) {
        checkRoundTrip(tlv, input);
        covered += tlv.encoded.size();
        if (tlv.constructed() && depth < 8) {
            walk(tlv.value, depth + 1);
        }
    }
    check(covered == input.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const ByteView input(data, size);
    try {
        checkRoundTrip(tk::card::parseTlv(input), input);
    } catch (const tk::card::TlvError&) {
    }
    walk(input, 0);
    // The lookups PIV parsing uses: discovery (7E), certificate objects (53/70), CHUID (53/34),
    // GENERAL AUTHENTICATE responses (7C/82).
    for (const std::uint32_t tag : {0x53U, 0x7EU, 0x7CU, 0x5FC102U}) {
        try {
            if (auto found = tk::card::findTlv(input, tag)) {
                check(found->tag == tag && inside(found->value, input));
            }
        } catch (const tk::card::TlvError&) {
        }
    }
    try {
        if (auto found = tk::card::findTlvPath(input, {0x53, 0x70})) {
            check(found->tag == 0x70 && inside(found->value, input));
        }
        if (auto found = tk::card::findTlvPath(input, {0x7E, 0x4F})) {
            check(found->tag == 0x4F && inside(found->value, input));
        }
        if (auto found = tk::card::findTlvPath(input, {0x7C, 0x82})) {
            check(found->tag == 0x82 && inside(found->value, input));
        }
    } catch (const tk::card::TlvError&) {
    }
    return 0;
}
