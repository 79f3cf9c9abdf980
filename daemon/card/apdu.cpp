#include "card/apdu.hpp"

#include <stdexcept>

#include "card/errors.hpp"
#include "card/secure_bytes.hpp"

namespace tk::card {

CommandApdu::CommandApdu(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2,
                         Bytes data, std::optional<std::size_t> ne)
    : cla_(cla), ins_(ins), p1_(p1), p2_(p2), data_(std::move(data)), ne_(ne) {
    if (data_.size() > kMaxExtendedLc) {
        throw std::invalid_argument("command data longer than 65535 bytes");
    }
    if (ne_ && (*ne_ == 0 || *ne_ > kMaxExtendedNe)) {
        throw std::invalid_argument("Ne outside 1..65536");
    }
}

bool CommandApdu::fitsShort() const noexcept {
    return data_.size() <= kMaxShortLc && (!ne_ || *ne_ <= kMaxShortNe);
}

Bytes CommandApdu::encode() const {
    return fitsShort() ? encodeShort() : encodeExtended();
}

Bytes CommandApdu::encodeShort() const {
    if (!fitsShort()) {
        throw std::length_error("command does not fit a short APDU");
    }
    Bytes out{cla_, ins_, p1_, p2_};
    out.reserve(4 + 1 + data_.size() + 1);
    if (!data_.empty()) {
        out.push_back(static_cast<std::uint8_t>(data_.size()));
        out.insert(out.end(), data_.begin(), data_.end());
    }
    if (ne_) {
        // Ne = 256 is encoded as 00.
        out.push_back(static_cast<std::uint8_t>(*ne_ & 0xFF));
    }
    return out;
}

Bytes CommandApdu::encodeExtended() const {
    Bytes out{cla_, ins_, p1_, p2_};
    out.reserve(4 + 3 + data_.size() + 2);
    if (!data_.empty()) {
        out.push_back(0x00);
        out.push_back(static_cast<std::uint8_t>(data_.size() >> 8));
        out.push_back(static_cast<std::uint8_t>(data_.size() & 0xFF));
        out.insert(out.end(), data_.begin(), data_.end());
    }
    if (ne_) {
        // Without data the extended Le has its own leading 00; after Lc it has two bytes.
        if (data_.empty()) {
            out.push_back(0x00);
        }
        // Ne = 65536 is encoded as 0000.
        out.push_back(static_cast<std::uint8_t>((*ne_ >> 8) & 0xFF));
        out.push_back(static_cast<std::uint8_t>(*ne_ & 0xFF));
    }
    return out;
}

std::vector<Bytes> CommandApdu::encodeChained(std::size_t maxFragment) const {
    if (maxFragment == 0 || maxFragment > kMaxShortLc) {
        throw std::invalid_argument("chaining fragment size outside 1..255");
    }
    if (ne_ && *ne_ > kMaxShortNe) {
        throw std::length_error("Ne larger than 256 in a chained short command");
    }
    std::vector<Bytes> fragments;
    if (data_.size() <= maxFragment) {
        fragments.push_back(encodeShort());
        return fragments;
    }
    std::size_t offset = 0;
    while (offset < data_.size()) {
        const std::size_t n = std::min(maxFragment, data_.size() - offset);
        const bool last = offset + n == data_.size();
        Bytes fragment{static_cast<std::uint8_t>(last ? cla_ : (cla_ | kChainingBit)), ins_, p1_,
                       p2_, static_cast<std::uint8_t>(n)};
        fragment.insert(fragment.end(), data_.begin() + static_cast<std::ptrdiff_t>(offset),
                        data_.begin() + static_cast<std::ptrdiff_t>(offset + n));
        if (last && ne_) {
            fragment.push_back(static_cast<std::uint8_t>(*ne_ & 0xFF));
        }
        fragments.push_back(std::move(fragment));
        offset += n;
    }
    return fragments;
}

ResponseApdu::ResponseApdu(ByteView raw) {
    if (raw.size() < 2) {
        throw MalformedData("response shorter than a status word");
    }
    data_.assign(raw.begin(), raw.end() - 2);
    sw_ = static_cast<std::uint16_t>((raw[raw.size() - 2] << 8) | raw[raw.size() - 1]);
}

ResponseApdu::ResponseApdu(Bytes&& raw) {
    if (raw.size() < 2) {
        throw MalformedData("response shorter than a status word");
    }
    sw_ = static_cast<std::uint16_t>((raw[raw.size() - 2] << 8) | raw[raw.size() - 1]);
    raw.resize(raw.size() - 2);  // shrinking never reallocates
    data_ = std::move(raw);
}

void ResponseApdu::wipeData() noexcept {
    secureWipe(data_.data(), data_.size());
}

ResponseApdu::ResponseApdu(Bytes data, std::uint16_t sw) : data_(std::move(data)), sw_(sw) {}

std::optional<int> ResponseApdu::retriesFromSw(std::uint16_t sw) noexcept {
    if ((sw & 0xFFF0) == 0x63C0) {
        return static_cast<int>(sw & 0x0F);
    }
    return std::nullopt;
}

}  // namespace tk::card
