#include "pcsc/card_connection.hpp"

#include "pcsc/detail/native.hpp"
#include "pcsc/detail/scard.hpp"
#include "pcsc/detail/secure_wipe.hpp"
#include "pcsc/response_completion.hpp"

namespace tk::pcsc {
namespace {

Protocol fromNative(std::uint32_t protocol) {
    switch (protocol) {
        case SCARD_PROTOCOL_T0:
            return Protocol::T0;
        case SCARD_PROTOCOL_T1:
            return Protocol::T1;
        default:
            return Protocol::Raw;
    }
}

const SCARD_IO_REQUEST* sendPci(Protocol protocol) {
    switch (protocol) {
        case Protocol::T0:
            return SCARD_PCI_T0;
        case Protocol::T1:
            return SCARD_PCI_T1;
        case Protocol::Raw:
            break;
    }
    return SCARD_PCI_RAW;
}

SCARDHANDLE toCard(std::uintptr_t handle) {
    return static_cast<SCARDHANDLE>(handle);
}

}  // namespace

CardConnection::CardConnection(std::shared_ptr<const Context> context, std::string reader)
    : context_(std::move(context)), reader_(std::move(reader)) {
    std::uint32_t active = 0;
    card_ = detail::connect(context_->handle(), reader_, active);
    protocol_ = fromNative(active);
    // Sized for an extended APDU response (64 KiB of data plus SW1 SW2) so a card that
    // answers with more than 256 bytes never hits SCARD_E_INSUFFICIENT_BUFFER.
    receiveBuffer_.resize(detail::kMaxBufferExtended);
}

CardConnection::~CardConnection() noexcept {
    if (card_ != 0) {
        (void)detail::succeeds(SCardDisconnect, toCard(card_), detail::toNative(disposition_));
    }
}

void CardConnection::disconnect() {
    detail::call("SCardDisconnect", SCardDisconnect, toCard(card_), detail::toNative(disposition_));
    card_ = 0;
}

Bytes CardConnection::transmit(std::span<const std::uint8_t> command) {
    return completeResponse(
        command, [this](std::span<const std::uint8_t> apdu) { return transmitRaw(apdu); });
}

Bytes CardConnection::transmitSecret(std::span<const std::uint8_t> command) {
    return completeResponse(
        command, [this](std::span<const std::uint8_t> apdu) { return transmitRaw(apdu); },
        Resend::Never);
}

Bytes CardConnection::transmitRaw(std::span<const std::uint8_t> command) {
    DWORD length = static_cast<DWORD>(receiveBuffer_.size());
    detail::call("SCardTransmit", SCardTransmit, toCard(card_), sendPci(protocol_), command.data(),
                 static_cast<DWORD>(command.size()), nullptr, receiveBuffer_.data(), &length);
    const auto received = std::span(receiveBuffer_).first(length);
    Bytes response(received.begin(), received.end());
    detail::secureWipe(received);
    return response;
}

std::optional<std::uint32_t> CardConnection::featureControlCode(std::uint8_t feature) {
    if (!features_) {
        try {
            features_ = parseFeatureList(control(detail::kFeatureRequestCode, {}));
        } catch (const Unsupported&) {
            features_ = FeatureMap{};
        }
    }
    const auto found = features_->find(feature);
    if (found == features_->end()) {
        return std::nullopt;
    }
    return found->second;
}

Bytes CardConnection::control(std::uint32_t code, std::span<const std::uint8_t> input) {
    DWORD returned = 0;
    detail::call("SCardControl", SCardControl, toCard(card_), DWORD{code}, input.data(),
                 static_cast<DWORD>(input.size()), receiveBuffer_.data(),
                 static_cast<DWORD>(receiveBuffer_.size()), &returned);
    const auto received = std::span(receiveBuffer_).first(returned);
    Bytes output(received.begin(), received.end());
    detail::secureWipe(received);
    return output;
}

Bytes CardConnection::atr() const {
    DWORD state = 0;
    DWORD protocol = 0;
    BYTE atr[detail::kMaxAtrSize];
    DWORD atrLength = sizeof atr;
    DWORD readerLength = 0;
    detail::call("SCardStatus", SCardStatus, toCard(card_), nullptr, &readerLength, &state,
                 &protocol, atr, &atrLength);
    return Bytes(atr, atr + atrLength);
}

void CardConnection::reconnect(Disposition initialization) {
    DWORD active = 0;
    detail::call("SCardReconnect", SCardReconnect, toCard(card_), DWORD{SCARD_SHARE_SHARED},
                 DWORD{detail::kProtocols}, detail::toNative(initialization), &active);
    protocol_ = fromNative(active);
}

}  // namespace tk::pcsc
