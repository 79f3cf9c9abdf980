#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "card/algorithms.hpp"
#include "card/token.hpp"

// Constants of the PIV card application (NIST SP 800-73-4) that PivToken uses.
namespace tk::card::piv {

// Right-truncated PIV AID (RID A0 00 00 03 08, PIX 00 00 10 00): matches every version.
inline constexpr std::array<std::uint8_t, 9> kAid = {0xA0, 0x00, 0x00, 0x03, 0x08,
                                                     0x00, 0x00, 0x10, 0x00};

inline constexpr std::uint8_t kInsVerify = 0x20;
inline constexpr std::uint8_t kInsChangeReferenceData = 0x24;
inline constexpr std::uint8_t kInsResetRetryCounter = 0x2C;
inline constexpr std::uint8_t kInsGeneralAuthenticate = 0x87;
inline constexpr std::uint8_t kInsGetData = 0xCB;

inline constexpr std::uint8_t kRefPin = 0x80;
inline constexpr std::uint8_t kRefPuk = 0x81;

inline constexpr std::uint32_t kObjectChuid = 0x5FC102;
inline constexpr std::uint32_t kObjectKeyHistory = 0x5FC10C;
inline constexpr std::uint32_t kObjectFirstRetiredCertificate = 0x5FC10D;
inline constexpr int kMaxRetiredKeys = 20;  // keys 82..95
inline constexpr std::uint8_t kFirstRetiredKey = 0x82;

// Tags of the dynamic authentication template (GENERAL AUTHENTICATE).
inline constexpr std::uint32_t kTagTemplate = 0x7C;
inline constexpr std::uint32_t kTagResponse = 0x82;
inline constexpr std::uint32_t kTagChallenge = 0x81;
inline constexpr std::uint32_t kTagExponentiation = 0x85;

// PIN: 6 to 8 digits; PUK: 8 digits (PROTOCOL.md). Both are sent as an 8-byte block padded
// with FF.
inline constexpr std::size_t kMinPinLength = 6;
inline constexpr std::size_t kMaxPinLength = 8;
inline constexpr std::size_t kPukLength = 8;
inline constexpr std::size_t kReferenceDataBlock = 8;

struct KeySlot {
    std::uint8_t keyRef;
    std::uint32_t certificateObject;
    std::string label;
    PinPolicy pinPolicy;
};

// 9A, 9C, 9D, 9E in the order they are read.
const std::array<KeySlot, 4>& standardSlots();
// Retired key management key `index` (0 -> key 82, object 5FC10D).
KeySlot retiredSlot(int index);

// "9c" -> 0x9C for the key references PIV defines (9A, 9C, 9D, 9E, 82..95); nullopt otherwise.
std::optional<std::uint8_t> parseSlot(std::string_view slot) noexcept;
std::string slotName(std::uint8_t keyRef);
// 9C: always; 9E: never; every other key: once.
PinPolicy pinPolicyOf(std::uint8_t keyRef) noexcept;

// Algorithm identifier (SP 800-78-4) used as P1 of GENERAL AUTHENTICATE.
std::uint8_t algorithmId(KeyAlgorithm algorithm) noexcept;

bool isValidPin(ByteView pin) noexcept;
bool isValidPuk(ByteView puk) noexcept;

}  // namespace tk::card::piv
