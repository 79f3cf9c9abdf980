#include "card/session/reattachable_token.hpp"

#include <stdexcept>

namespace tk::card {

pcsc::CardChannel& ReattachableToken::Relay::channel() const {
    if (target == nullptr) {
        throw std::logic_error("card token used while no connection is attached");
    }
    return *target;
}

pcsc::Bytes ReattachableToken::Relay::transmit(std::span<const std::uint8_t> command) {
    return channel().transmit(command);
}

// The PIV token sends every command that carries a PIN or PUK (VERIFY, CHANGE REFERENCE DATA,
// RESET RETRY COUNTER with a data field) through transmitSecret: from here on, a reset means
// the card may have seen the credential, and the operation is not run again.
pcsc::Bytes ReattachableToken::Relay::transmitSecret(std::span<const std::uint8_t> command) {
    pcsc::CardChannel& to = channel();
    credentialPresented = true;
    return to.transmitSecret(command);
}

std::optional<std::uint32_t> ReattachableToken::Relay::featureControlCode(std::uint8_t feature) {
    return channel().featureControlCode(feature);
}

pcsc::Bytes ReattachableToken::Relay::control(std::uint32_t code,
                                              std::span<const std::uint8_t> input) {
    pcsc::CardChannel& to = channel();
    credentialPresented = true;  // PIN pad entry: whatever the user types goes to the card
    return to.control(code, input);
}

pcsc::Bytes ReattachableToken::Relay::atr() const {
    return channel().atr();
}

ReattachableToken::ReattachableToken(PivTokenOptions options) : piv_(relay_, options) {}

ReattachableToken::~ReattachableToken() = default;

void ReattachableToken::noteIdentity() {
    if (!cardId_) {
        cardId_ = piv_.cardId();
    }
}

const std::string& ReattachableToken::cardId() {
    const std::string& id = piv_.cardId();
    cardId_ = id;
    return id;
}

const std::vector<CertificateEntry>& ReattachableToken::certificates() {
    const auto& entries = piv_.certificates();
    noteIdentity();
    return entries;
}

const std::vector<SkippedCertificate>& ReattachableToken::skippedCertificates() {
    const auto& skipped = piv_.skippedCertificates();
    noteIdentity();
    return skipped;
}

void ReattachableToken::invalidateCache() {
    piv_.invalidateCache();
    cardId_.reset();
}

Bytes ReattachableToken::sign(const SignRequest& request) {
    Bytes signature = piv_.sign(request);
    noteIdentity();
    return signature;
}

SecureBytes ReattachableToken::decrypt(const DecryptRequest& request) {
    SecureBytes plaintext = piv_.decrypt(request);
    noteIdentity();
    return plaintext;
}

SecureBytes ReattachableToken::deriveSharedSecret(const DeriveRequest& request) {
    SecureBytes secret = piv_.deriveSharedSecret(request);
    noteIdentity();
    return secret;
}

}  // namespace tk::card
