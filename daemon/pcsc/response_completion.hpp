#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "pcsc/card_channel.hpp"

namespace tk::pcsc {

// Sends one APDU exactly as given and returns exactly what came back (data and SW1 SW2).
using RawTransmit = std::function<Bytes(std::span<const std::uint8_t>)>;

// The one place where the two ISO 7816-4 follow-ups are handled:
//   - 6Cxx: the card wants Le = xx; the command is sent once more with that Le.
//   - 61xx: more data waits; GET RESPONSE (`CLA C0 00 00 xx`) is sent until the card stops
//     answering 61xx, and the data of every part is joined in order. A 6Cxx answer to a
//     GET RESPONSE is followed the same way.
// The result is the whole response: all data followed by the final SW1 SW2.
// GET RESPONSE keeps the logical channel of the command's CLA and drops its chaining and
// secure-messaging bits (a proprietary CLA gets 00). Intermediate buffers are wiped: a
// response may carry a decrypted key.
// Throws pcsc::Error (SCARD_E_COMM_DATA_LOST) for a response shorter than SW1 SW2 or a
// GET RESPONSE chain longer than kMaxCompletedResponse, and whatever `transmit` throws.
Bytes completeResponse(std::span<const std::uint8_t> command, const RawTransmit& transmit);

inline constexpr std::size_t kMaxCompletedResponse = std::size_t{1} << 20;

}  // namespace tk::pcsc
