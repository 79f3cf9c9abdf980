#include "pcsc/response_completion.hpp"

#include "pcsc/detail/winscard.hpp"

#include <optional>
#include <string>

#include "pcsc/detail/secure_wipe.hpp"
#include "pcsc/errors.hpp"

namespace tk::pcsc {
namespace {

constexpr std::uint8_t kMoreData = 0x61;
constexpr std::uint8_t kWrongLe = 0x6C;

constexpr std::uint32_t kCommDataLost = static_cast<std::uint32_t>(SCARD_E_COMM_DATA_LOST);

std::uint8_t sw1(const Bytes& response) {
    return response[response.size() - 2];
}

std::uint8_t sw2(const Bytes& response) {
    return response[response.size() - 1];
}

Bytes transmitChecked(std::span<const std::uint8_t> command, const RawTransmit& transmit) {
    Bytes response = transmit(command);
    if (response.size() < 2) {
        detail::secureWipe(response);
        throw Error(kCommDataLost, "SCardTransmit", "response shorter than SW1 SW2");
    }
    return response;
}

// The command with its Le replaced by (or extended with) the value a 6Cxx asked for, or
// nullopt when the bytes are not a well-formed command APDU (then the 6Cxx stands).
std::optional<Bytes> withLe(std::span<const std::uint8_t> c, std::uint8_t le) {
    const auto prefix = [&](std::size_t n) { return Bytes(c.begin(), c.begin() + n); };
    const auto shortLe = [&](Bytes head) {
        head.push_back(le);
        return head;
    };
    // In an extended APDU, xx = 00 still means 256, which needs two Le bytes.
    const auto extendedLe = [&](Bytes head) {
        const unsigned n = le == 0 ? 256U : le;
        head.push_back(static_cast<std::uint8_t>(n >> 8));
        head.push_back(static_cast<std::uint8_t>(n & 0xFF));
        return head;
    };

    if (c.size() < 4) {
        return std::nullopt;
    }
    if (c.size() == 4) {  // case 1
        return shortLe(prefix(4));
    }
    if (c.size() == 5) {  // case 2 short
        return shortLe(prefix(4));
    }
    if (c[4] != 0) {  // short Lc
        const std::size_t lc = c[4];
        if (c.size() == 5 + lc) {  // case 3 short
            return shortLe(prefix(c.size()));
        }
        if (c.size() == 6 + lc) {  // case 4 short
            return shortLe(prefix(5 + lc));
        }
        return std::nullopt;
    }
    if (c.size() < 7) {
        return std::nullopt;
    }
    if (c.size() == 7) {  // case 2 extended: 00 Le1 Le2
        return extendedLe(prefix(5));
    }
    const std::size_t lc = (std::size_t{c[5]} << 8) | c[6];
    if (lc == 0) {
        return std::nullopt;
    }
    if (c.size() == 7 + lc) {  // case 3 extended
        return extendedLe(prefix(c.size()));
    }
    if (c.size() == 9 + lc) {  // case 4 extended
        return extendedLe(prefix(7 + lc));
    }
    return std::nullopt;
}

std::uint8_t getResponseClass(std::span<const std::uint8_t> command) {
    if (command.empty()) {
        return 0x00;
    }
    const std::uint8_t cla = command[0];
    if ((cla & 0xE0) == 0x00) {  // first interindustry class: channels 0-3 in b2 b1
        return cla & 0x03;
    }
    if ((cla & 0xC0) == 0x40) {  // further interindustry class: channels 4-19 in b4..b1
        return cla & 0x4F;
    }
    return 0x00;
}

}  // namespace

Bytes completeResponse(std::span<const std::uint8_t> command, const RawTransmit& transmit,
                       Resend resend) {
    Bytes response = transmitChecked(command, transmit);

    if (sw1(response) == kWrongLe && resend == Resend::Allowed) {
        if (auto fixed = withLe(command, sw2(response))) {
            detail::WipedBytes resent(std::move(*fixed));
            detail::secureWipe(response);
            response = transmitChecked(resent.get(), transmit);
        }
    }
    if (sw1(response) != kMoreData) {
        return response;
    }

    detail::WipedBytes data;
    Bytes getResponse{getResponseClass(command), 0xC0, 0x00, 0x00, 0x00};
    std::size_t rounds = 0;
    const auto sendGetResponse = [&] {
        if (++rounds > kMaxGetResponseRounds) {
            throw Error(kCommDataLost, "SCardTransmit",
                        "the card did not end its answer after " +
                            std::to_string(kMaxGetResponseRounds) + " GET RESPONSE commands");
        }
        return transmitChecked(getResponse, transmit);
    };
    while (sw1(response) == kMoreData) {
        detail::appendWiping(data.get(), std::span(response).first(response.size() - 2));
        getResponse[4] = sw2(response);
        detail::secureWipe(response);
        if (data.get().size() > kMaxCompletedResponse) {
            throw Error(kCommDataLost, "SCardTransmit",
                        "the card's answer is longer than " +
                            std::to_string(kMaxCompletedResponse) + " bytes");
        }
        response = sendGetResponse();
        if (sw1(response) == kWrongLe) {
            getResponse[4] = sw2(response);
            detail::secureWipe(response);
            response = sendGetResponse();
        }
    }
    detail::appendWiping(data.get(), response);
    detail::secureWipe(response);
    return std::move(data.get());
}

}  // namespace tk::pcsc
