#include "card/session/reattachable_token.hpp"

#include <stdexcept>

#include "card/piv/piv_objects.hpp"

namespace tk::card {
namespace {

// A PIN or PUK travels in the data field of these three (ISO 7816-4 and SP 800-73-4); without
// a data field, VERIFY only asks for the retry counter (or, with P1=FF, logs out).
bool carriesCredential(std::span<const std::uint8_t> command) {
    constexpr std::size_t kHeaderAndLc = 5;
    if (command.size() <= kHeaderAndLc) {
        return false;
    }
    const std::uint8_t ins = command[1];
    return ins == piv::kInsVerify || ins == piv::kInsChangeReferenceData ||
           ins == piv::kInsResetRetryCounter;
}

}  // namespace

pcsc::CardChannel& ReattachableToken::Relay::channel() const {
    if (target == nullptr) {
        throw std::logic_error("card token used while no connection is attached");
    }
    return *target;
}

pcsc::Bytes ReattachableToken::Relay::transmit(std::span<const std::uint8_t> command) {
    pcsc::CardChannel& to = channel();
    if (carriesCredential(command)) {
        credentialPresented = true;
    }
    return to.transmit(command);
}

pcsc::Bytes ReattachableToken::Relay::transmitSecret(std::span<const std::uint8_t> command) {
    return channel().transmitSecret(command);
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
