#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "card/bytes.hpp"

namespace tk::card {

// An ISO/IEC 7816-4 command APDU. `ne` is the number of response bytes expected (Ne), absent
// for commands that expect no data; it is encoded as Le (256 -> 00 short, 65536 -> 0000
// extended).
class CommandApdu {
  public:
    static constexpr std::size_t kMaxShortLc = 255;
    static constexpr std::size_t kMaxShortNe = 256;
    static constexpr std::size_t kMaxExtendedLc = 65535;
    static constexpr std::size_t kMaxExtendedNe = 65536;
    static constexpr std::uint8_t kChainingBit = 0x10;

    // Throws std::invalid_argument for data longer than 65535 bytes or Ne outside 1..65536.
    CommandApdu(std::uint8_t cla, std::uint8_t ins, std::uint8_t p1, std::uint8_t p2,
                Bytes data = {}, std::optional<std::size_t> ne = std::nullopt);

    std::uint8_t cla() const noexcept { return cla_; }
    std::uint8_t ins() const noexcept { return ins_; }
    std::uint8_t p1() const noexcept { return p1_; }
    std::uint8_t p2() const noexcept { return p2_; }
    const Bytes& data() const noexcept { return data_; }
    std::optional<std::size_t> ne() const noexcept { return ne_; }

    // Whether Lc and Le fit the short form (data <= 255 bytes, Ne <= 256).
    bool fitsShort() const noexcept;

    // Short form when it fits, extended form otherwise.
    Bytes encode() const;
    // Throws std::length_error when the command does not fit the short form.
    Bytes encodeShort() const;
    // Extended form (only for readers and cards that announce support).
    Bytes encodeExtended() const;

    // ISO 7816-4 command chaining with short APDUs: data split into fragments of at most
    // `maxFragment` (1..255) bytes; every fragment but the last has CLA | 0x10 and no Le, the
    // last has the original CLA and the Le. Throws std::length_error when Ne > 256 and
    // std::invalid_argument for a bad fragment size.
    std::vector<Bytes> encodeChained(std::size_t maxFragment = kMaxShortLc) const;

  private:
    std::uint8_t cla_;
    std::uint8_t ins_;
    std::uint8_t p1_;
    std::uint8_t p2_;
    Bytes data_;
    std::optional<std::size_t> ne_;
};

namespace sw {
inline constexpr std::uint16_t kOk = 0x9000;
inline constexpr std::uint16_t kPinpadTimeout = 0x6400;
inline constexpr std::uint16_t kPinpadCancelled = 0x6401;
inline constexpr std::uint16_t kPinpadLengthError = 0x6403;
inline constexpr std::uint16_t kWrongLength = 0x6700;
inline constexpr std::uint16_t kSecurityStatusNotSatisfied = 0x6982;
inline constexpr std::uint16_t kAuthenticationBlocked = 0x6983;
inline constexpr std::uint16_t kConditionsNotSatisfied = 0x6985;
inline constexpr std::uint16_t kIncorrectData = 0x6A80;
inline constexpr std::uint16_t kFileNotFound = 0x6A82;
inline constexpr std::uint16_t kIncorrectP1P2 = 0x6A86;
inline constexpr std::uint16_t kReferenceNotFound = 0x6A88;
inline constexpr std::uint16_t kInsNotSupported = 0x6D00;
inline constexpr std::uint16_t kClaNotSupported = 0x6E00;
}  // namespace sw

// A response APDU: data followed by SW1 SW2.
class ResponseApdu {
  public:
    // Throws MalformedData when `raw` is shorter than the two status bytes.
    explicit ResponseApdu(ByteView raw);
    // Takes the buffer over without copying: the data stays where the transport put it, so a
    // secret response can be wiped in place (wipeData).
    explicit ResponseApdu(Bytes&& raw);
    ResponseApdu(Bytes data, std::uint16_t sw);

    const Bytes& data() const noexcept { return data_; }
    Bytes& data() noexcept { return data_; }
    std::uint16_t sw() const noexcept { return sw_; }
    std::uint8_t sw1() const noexcept { return static_cast<std::uint8_t>(sw_ >> 8); }
    std::uint8_t sw2() const noexcept { return static_cast<std::uint8_t>(sw_ & 0xFF); }
    bool ok() const noexcept { return sw_ == sw::kOk; }
    void wipeData() noexcept;

    // X of 63CX (counter of remaining tries), nullopt for any other status word.
    std::optional<int> retriesLeft() const noexcept { return retriesFromSw(sw_); }
    static std::optional<int> retriesFromSw(std::uint16_t sw) noexcept;

  private:
    Bytes data_;
    std::uint16_t sw_;
};

}  // namespace tk::card
