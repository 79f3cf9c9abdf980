#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "pcsc/card_connection.hpp"
#include "pcsc/context.hpp"

namespace tk::test {

// A second PC/SC client on the same card, as another program on the machine would be: its own
// context and shared connection, raw APDUs.
class OtherApplication {
  public:
    explicit OtherApplication(const std::string& reader);

    // SELECT PIV, then VERIFY without data: 9000 when the PIN is verified, 63Cx when not.
    std::uint16_t pinState();
    // SELECT PIV, then a raw RSA-2048 GENERAL AUTHENTICATE with key 9A and no PIN: a card left
    // unlocked signs (9000), a locked one answers 6982.
    std::uint16_t signWith9aWithoutPin();
    // SELECT PIV, then VERIFY with `pin`, leaving the card as it is (verified).
    std::uint16_t verifyAndLeave(const std::string& pin);
    // Disconnects with SCARD_RESET_CARD: every other handle sees a reset.
    void resetCard();
    // What a program such as `yubico-piv-tool -a status` does to the card: a transaction that
    // selects another application (the OpenPGP AID), then a disconnect with SCARD_RESET_CARD.
    void selectOtherApplicationAndReset();

  private:
    std::uint16_t transmit(const pcsc::Bytes& apdu);
    void select();

    std::shared_ptr<pcsc::Context> context_;
    std::unique_ptr<pcsc::CardConnection> card_;
};

}  // namespace tk::test
