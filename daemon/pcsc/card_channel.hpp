#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace tk::pcsc {

using Bytes = std::vector<std::uint8_t>;

// The PC/SC boundary as the card layer sees it: one connected card in one reader.
// CardConnection implements it over pcsc-lite; tests implement it to inject faults and
// to check the exact bytes sent to a pinpad reader.
class CardChannel {
  public:
    CardChannel() = default;
    virtual ~CardChannel() = default;
    CardChannel(const CardChannel&) = delete;
    CardChannel& operator=(const CardChannel&) = delete;
    CardChannel(CardChannel&&) = delete;
    CardChannel& operator=(CardChannel&&) = delete;

    // Sends one command APDU and returns the whole response (data followed by SW1 SW2).
    // 61xx (GET RESPONSE) and 6Cxx (resend with the right Le) are already followed.
    // Throws pcsc::Error subclasses (CardRemoved, CardReset, ...).
    virtual Bytes transmit(std::span<const std::uint8_t> command) = 0;

    // The same for a command that carries a secret (a PIN or PUK): it is sent exactly once, a
    // 6Cxx answer is returned as it is instead of being followed by a resend (Resend::Never of
    // response_completion.hpp). GET RESPONSE still follows 61xx.
    virtual Bytes transmitSecret(std::span<const std::uint8_t> command) = 0;

    // The ioctl code of a CCID/PC/SC part 10 feature (FEATURE_VERIFY_PIN_DIRECT = 0x06, ...),
    // or nullopt when the reader does not offer it.
    virtual std::optional<std::uint32_t> featureControlCode(std::uint8_t feature) = 0;

    // SCardControl: sends `input` to the reader's ioctl `code` and returns its output.
    virtual Bytes control(std::uint32_t code, std::span<const std::uint8_t> input) = 0;

    // The ATR of the card as PC/SC reports it.
    virtual Bytes atr() const = 0;
};

}  // namespace tk::pcsc
