#include "support/other_application.hpp"

#include <stdexcept>

#include "pcsc/transaction.hpp"

namespace tk::test {
namespace {

std::uint16_t statusWord(const pcsc::Bytes& response) {
    if (response.size() < 2) {
        throw std::runtime_error("response without a status word");
    }
    return static_cast<std::uint16_t>((response[response.size() - 2] << 8) | response.back());
}

}  // namespace

OtherApplication::OtherApplication(const std::string& reader)
    : context_(std::make_shared<pcsc::Context>()),
      card_(std::make_unique<pcsc::CardConnection>(context_, reader)) {}

std::uint16_t OtherApplication::transmit(const pcsc::Bytes& apdu) {
    return statusWord(card_->transmit(apdu));
}

void OtherApplication::select() {
    const pcsc::Bytes selectPiv{0x00, 0xA4, 0x04, 0x00, 0x09, 0xA0, 0x00, 0x00,
                                0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x00};
    if (transmit(selectPiv) != 0x9000) {
        throw std::runtime_error("SELECT PIV failed");
    }
}

std::uint16_t OtherApplication::pinState() {
    const pcsc::Transaction transaction(*card_);
    select();
    return transmit({0x00, 0x20, 0x00, 0x80});
}

std::uint16_t OtherApplication::signWith9aWithoutPin() {
    const pcsc::Transaction transaction(*card_);
    select();
    // 7C 82 01 06 { 82 00, 81 82 01 00 <256 bytes> } in two chained parts.
    pcsc::Bytes data{0x7C, 0x82, 0x01, 0x06, 0x82, 0x00, 0x81, 0x82, 0x01, 0x00};
    data.push_back(0x00);
    data.push_back(0x01);
    data.insert(data.end(), 254, 0x5A);
    pcsc::Bytes first{0x10, 0x87, 0x07, 0x9A, 0xFF};
    first.insert(first.end(), data.begin(), data.begin() + 255);
    const std::uint16_t sw = transmit(first);
    if (sw != 0x9000) {
        return sw;
    }
    pcsc::Bytes last{0x00, 0x87, 0x07, 0x9A, static_cast<std::uint8_t>(data.size() - 255)};
    last.insert(last.end(), data.begin() + 255, data.end());
    last.push_back(0x00);
    return transmit(last);
}

std::uint16_t OtherApplication::verifyAndLeave(const std::string& pin) {
    const pcsc::Transaction transaction(*card_);
    select();
    pcsc::Bytes apdu{0x00, 0x20, 0x00, 0x80, 0x08};
    apdu.insert(apdu.end(), pin.begin(), pin.end());
    apdu.resize(13, 0xFF);
    return transmit(apdu);
}

void OtherApplication::resetCard() {
    card_->setDisconnectDisposition(pcsc::Disposition::Reset);
    card_->disconnect();
    card_ = std::make_unique<pcsc::CardConnection>(context_, card_->reader());
}

void OtherApplication::selectOtherApplicationAndReset() {
    {
        const pcsc::Transaction transaction(*card_);
        const pcsc::Bytes selectOpenPgp{0x00, 0xA4, 0x04, 0x00, 0x06, 0xD2,
                                        0x76, 0x00, 0x01, 0x24, 0x01, 0x00};
        (void)transmit(selectOpenPgp);  // the virtual card has no such application: 6A82
    }
    resetCard();
}

}  // namespace tk::test
