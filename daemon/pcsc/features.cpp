#include "pcsc/features.hpp"

namespace tk::pcsc {

FeatureMap parseFeatureList(std::span<const std::uint8_t> tlv) {
    FeatureMap features;
    std::size_t pos = 0;
    while (pos + 2 <= tlv.size()) {
        const std::uint8_t tag = tlv[pos];
        const std::size_t length = tlv[pos + 1];
        pos += 2;
        if (pos + length > tlv.size()) {
            break;
        }
        if (length == 4) {
            const std::uint32_t code = (std::uint32_t{tlv[pos]} << 24) |
                                       (std::uint32_t{tlv[pos + 1]} << 16) |
                                       (std::uint32_t{tlv[pos + 2]} << 8) | tlv[pos + 3];
            features.emplace(tag, code);
        }
        pos += length;
    }
    return features;
}

}  // namespace tk::pcsc
