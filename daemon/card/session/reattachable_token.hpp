#pragma once

#include <optional>
#include <string>

#include "card/piv/piv_token.hpp"
#include "card/token.hpp"
#include "pcsc/card_channel.hpp"

namespace tk::card {

// A PIV token that outlives the connection it talks through. Its channel can be pointed at a
// new connection to the same card, so what the token read (certificate list, card id) does not
// have to be read again when the card is taken out and put back. It also notes the card id as
// soon as the token has read it, so the owner can learn the id without touching the card.
//
// Every Token call goes to the PIV token unchanged; a call while no channel is attached is a
// programming error (std::logic_error).
class ReattachableToken final : public Token {
  public:
    explicit ReattachableToken(PivTokenOptions options = {});
    ~ReattachableToken() override;
    ReattachableToken(const ReattachableToken&) = delete;
    ReattachableToken& operator=(const ReattachableToken&) = delete;
    ReattachableToken(ReattachableToken&&) = delete;
    ReattachableToken& operator=(ReattachableToken&&) = delete;

    void attach(pcsc::CardChannel& channel) noexcept { relay_.target = &channel; }
    void detach() noexcept { relay_.target = nullptr; }
    bool attached() const noexcept { return relay_.target != nullptr; }

    // Whether a PIN or PUK went to the card (or a PIN pad entry was started) since the last
    // forgetCredentialUse(): a VERIFY, CHANGE REFERENCE DATA or RESET RETRY COUNTER with its
    // data field, or any reader control call (the token makes those only for PIN pad entry).
    // Counted when the command is handed to PC/SC, whether or not an answer came back. The
    // session reads it to decide whether an operation cut short by a card reset may run again.
    bool credentialPresented() const noexcept { return relay_.credentialPresented; }
    void forgetCredentialUse() noexcept { relay_.credentialPresented = false; }

    // The card id once the token has read the card's identity (after a successful cardId(),
    // certificates(), sign(), decrypt() or deriveSharedSecret()); nullopt before. Sends nothing.
    const std::optional<std::string>& knownCardId() const noexcept { return cardId_; }

    std::string_view type() const override { return piv_.type(); }
    const std::string& cardId() override;
    const std::vector<CertificateEntry>& certificates() override;
    const std::vector<SkippedCertificate>& skippedCertificates() override;
    void invalidateCache() override;
    bool hasPinpad() override { return piv_.hasPinpad(); }
    PinStatus pinStatus() override { return piv_.pinStatus(); }
    void verifyPin(const PinInput& pin) override { piv_.verifyPin(pin); }
    void changePin(const ReferenceDataChange& change) override { piv_.changePin(change); }
    void changePuk(const ReferenceDataChange& change) override { piv_.changePuk(change); }
    void unblockPin(const ReferenceDataChange& change) override { piv_.unblockPin(change); }
    Bytes sign(const SignRequest& request) override;
    SecureBytes decrypt(const DecryptRequest& request) override;
    SecureBytes deriveSharedSecret(const DeriveRequest& request) override;
    // PivToken::matchesCard(): whether the card still holds the certificate objects this token
    // read (sends the APDUs to find out).
    bool matchesCard() { return piv_.matchesCard(); }
    bool resetRequired() const override { return piv_.resetRequired(); }
    void cardWasReset() override { piv_.cardWasReset(); }

  private:
    // Forwards to whichever connection is attached.
    struct Relay final : pcsc::CardChannel {
        pcsc::Bytes transmit(std::span<const std::uint8_t> command) override;
        pcsc::Bytes transmitSecret(std::span<const std::uint8_t> command) override;
        std::optional<std::uint32_t> featureControlCode(std::uint8_t feature) override;
        pcsc::Bytes control(std::uint32_t code, std::span<const std::uint8_t> input) override;
        pcsc::Bytes atr() const override;
        pcsc::CardChannel& channel() const;

        pcsc::CardChannel* target = nullptr;
        bool credentialPresented = false;
    };

    // Called after operations that cannot succeed without the card's identity having been
    // read, so asking the PIV token for the id sends no APDU.
    void noteIdentity();

    Relay relay_;
    PivToken piv_;
    std::optional<std::string> cardId_;
};

}  // namespace tk::card
