#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "pcsc/card_channel.hpp"

namespace tk::pcsc {

// Sends one APDU exactly as given and returns exactly what came back (data and SW1 SW2).
using RawTransmit = std::function<Bytes(std::span<const std::uint8_t>)>;

// Whether the command may be sent a second time. A command that carries a secret (VERIFY,
// CHANGE REFERENCE DATA, RESET RETRY COUNTER with a PIN or PUK) is sent exactly once: a 6Cxx
// answer to it is returned as it is, never followed by a resend that would present the secret
// again (no such command expects response data, so the answer is an error anyway).
enum class Resend { Allowed, Never };

// The one place where the two ISO 7816-4 follow-ups are handled:
//   - 6Cxx: the card wants Le = xx; the command is sent once more with that Le (unless
//     `resend` is Never).
//   - 61xx: more data waits; GET RESPONSE (`CLA C0 00 00 xx`) is sent until the card stops
//     answering 61xx, and the data of every part is joined in order. A 6Cxx answer to a
//     GET RESPONSE is followed the same way.
// The result is the whole response: all data followed by the final SW1 SW2.
// GET RESPONSE keeps the logical channel of the command's CLA and drops its chaining and
// secure-messaging bits (a proprietary CLA gets 00). Intermediate buffers are wiped: a
// response may carry a decrypted key.
// Throws pcsc::Error (SCARD_E_COMM_DATA_LOST) for a response shorter than SW1 SW2, and for a
// card that does not end its GET RESPONSE chain: more than kMaxCompletedResponse bytes, or
// more than kMaxGetResponseRounds GET RESPONSE commands (a card answering 61xx forever, with
// or without data); and whatever `transmit` throws.
Bytes completeResponse(std::span<const std::uint8_t> command, const RawTransmit& transmit,
                       Resend resend = Resend::Allowed);

// The largest PIV data object (a facial image or a certificate chain) is well under 64 KiB;
// twice that is room for any card this daemon reads, in parts of 128 bytes or more.
inline constexpr std::size_t kMaxCompletedResponse = std::size_t{128} * 1024;
inline constexpr std::size_t kMaxGetResponseRounds = 1024;

}  // namespace tk::pcsc
