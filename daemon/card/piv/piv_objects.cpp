#include "card/piv/piv_objects.hpp"

#include <algorithm>

#include "card/bytes.hpp"

namespace tk::card::piv {

const std::array<KeySlot, 4>& standardSlots() {
    static const std::array<KeySlot, 4> kSlots = {{
        {0x9A, 0x5FC105, "PIV Authentication", PinPolicy::Once},
        {0x9C, 0x5FC10A, "Digital Signature", PinPolicy::Always},
        {0x9D, 0x5FC10B, "Key Management", PinPolicy::Once},
        {0x9E, 0x5FC101, "Card Authentication", PinPolicy::Never},
    }};
    return kSlots;
}

KeySlot retiredSlot(int index) {
    return {static_cast<std::uint8_t>(kFirstRetiredKey + index),
            kObjectFirstRetiredCertificate + static_cast<std::uint32_t>(index),
            "Retired Key Management " + std::to_string(index + 1), PinPolicy::Once};
}

std::optional<std::uint8_t> parseSlot(std::string_view slot) noexcept {
    if (slot.size() != 2) {
        return std::nullopt;
    }
    Bytes b;
    try {
        b = fromHex(slot);
    } catch (...) {
        return std::nullopt;
    }
    // Only the lowercase spelling is a slot name, so one key has one certificateId.
    if (slotName(b[0]) != slot) {
        return std::nullopt;
    }
    const std::uint8_t ref = b[0];
    const bool standard = ref == 0x9A || ref == 0x9C || ref == 0x9D || ref == 0x9E;
    const bool retired = ref >= kFirstRetiredKey && ref < kFirstRetiredKey + kMaxRetiredKeys;
    if (!standard && !retired) {
        return std::nullopt;
    }
    return ref;
}

std::string slotName(std::uint8_t keyRef) {
    const std::uint8_t b[1] = {keyRef};
    return toHex(b);
}

PinPolicy pinPolicyOf(std::uint8_t keyRef) noexcept {
    switch (keyRef) {
        case 0x9C:
            return PinPolicy::Always;
        case 0x9E:
            return PinPolicy::Never;
        default:
            return PinPolicy::Once;
    }
}

std::uint8_t algorithmId(KeyAlgorithm algorithm) noexcept {
    switch (algorithm) {
        case KeyAlgorithm::Rsa2048:
            return 0x07;
        case KeyAlgorithm::Rsa3072:
            return 0x05;
        case KeyAlgorithm::Rsa4096:
            return 0x16;
        case KeyAlgorithm::EcP256:
            return 0x11;
        case KeyAlgorithm::EcP384:
            return 0x14;
    }
    return 0x00;
}

namespace {

bool allDigits(ByteView v) noexcept {
    return std::all_of(v.begin(), v.end(), [](std::uint8_t c) { return c >= '0' && c <= '9'; });
}

}  // namespace

bool isValidPin(ByteView pin) noexcept {
    return pin.size() >= kMinPinLength && pin.size() <= kMaxPinLength && allDigits(pin);
}

bool isValidPuk(ByteView puk) noexcept {
    return puk.size() == kPukLength && allDigits(puk);
}

}  // namespace tk::card::piv
