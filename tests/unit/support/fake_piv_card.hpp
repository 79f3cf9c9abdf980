#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "pcsc/card_channel.hpp"
#include "support/test_keys.hpp"

namespace tk::test {

// Stands in for a PC/SC transport failure (card removed mid-operation).
class FakeTransportError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// A PIV card (and its reader) in memory, behind the same CardChannel the real connection
// implements. It behaves like a SP 800-73-4 card in the ways PivToken depends on: SELECT,
// GET DATA, VERIFY (status, PIN, P1=FF), CHANGE REFERENCE DATA, RESET RETRY COUNTER, GENERAL
// AUTHENTICATE with command chaining, PIN retry counters, the PIN-always rule of 9C, and a
// pinpad reader. Its keys are real OpenSSL keys, so what it returns can be verified with
// OpenSSL. Responses come back whole, as CardChannel::transmit promises.
class FakePivCard final : public pcsc::CardChannel {
  public:
    FakePivCard();

    // ---- card contents
    void putObject(std::uint32_t tag, Bytes contents);  // stored as 53 <contents>
    void removeObject(std::uint32_t tag);
    // Certificate container 70/71/FE for the key reference's object (9A, 9C, 9D, 9E, 82..95).
    void putCertificate(std::uint8_t keyRef, ByteView der, bool gzip = false);
    void putKey(std::uint8_t keyRef, KeyPtr key);
    void setChuid(std::optional<Bytes> fascn, std::optional<Bytes> guid);
    void setKeyHistory(int retiredOnCard);
    void setPin(const std::string& pin, int retries = 3);
    void setPuk(const std::string& puk, int retries = 3);
    int pinRetries() const { return pinRetries_; }
    int pukRetries() const { return pukRetries_; }
    bool pinVerified() const { return pinVerified_; }
    bool pinMatches(const std::string& pin) const;
    bool pukMatches(const std::string& puk) const;
    // A card older than SP 800-73-4: VERIFY P1=FF answers 6A86.
    void setLogoutSupported(bool supported) { logoutSupported_ = supported; }
    // Another program selected another application (PIV is no longer selected).
    void selectOtherApplication() { selected_ = false; }
    // Models the power cycle of SCARD_RESET_CARD: volatile state cleared.
    void reset();

    // ---- reader
    void setFeature(std::uint8_t feature, std::uint32_t code) { features_[feature] = code; }
    // Values the user types on the pinpad, one per prompt, in order.
    void setPinpadEntries(std::vector<std::string> entries);
    // The pinpad ends with this status word without reaching the card (6400, 6401).
    void setPinpadOutcome(std::uint16_t sw) { pinpadOutcome_ = sw; }

    // ---- fault injection: consulted before the card for every transmit (index counts from 0);
    // return a response to answer instead of the card, or throw.
    std::function<std::optional<Bytes>(std::size_t index, ByteView apdu)> interceptor;

    // ---- what happened
    const std::vector<Bytes>& transmitted() const { return transmitted_; }
    // The indexes in transmitted() of the commands sent with transmitSecret().
    const std::vector<std::size_t>& secretTransmits() const { return secretTransmits_; }
    // Every APDU the card processed, including those a pinpad built.
    const std::vector<Bytes>& cardSaw() const { return cardSaw_; }
    const std::vector<std::pair<std::uint32_t, Bytes>>& controls() const { return controls_; }
    std::size_t featureQueries() const { return featureQueries_; }
    void clearLog();

    // ---- CardChannel
    Bytes transmit(std::span<const std::uint8_t> command) override;
    Bytes transmitSecret(std::span<const std::uint8_t> command) override;
    std::optional<std::uint32_t> featureControlCode(std::uint8_t feature) override;
    Bytes control(std::uint32_t code, std::span<const std::uint8_t> input) override;
    Bytes atr() const override;

  private:
    struct Command {
        std::uint8_t cla, ins, p1, p2;
        Bytes data;
    };

    Bytes process(ByteView apdu);
    Bytes dispatch(const Command& c, bool verifyBefore);
    Bytes select(const Command& c);
    Bytes getData(const Command& c);
    Bytes verify(const Command& c);
    Bytes changeReferenceData(const Command& c);
    Bytes resetRetryCounter(const Command& c);
    Bytes generalAuthenticate(const Command& c, bool verifyBefore);
    Bytes pinpad(ByteView structure, bool modify);

    std::map<std::uint32_t, Bytes> objects_;
    std::map<std::uint8_t, KeyPtr> keys_;
    Bytes pin_;
    Bytes puk_;
    int pinRetries_ = 3;
    int pinMax_ = 3;
    int pukRetries_ = 3;
    int pukMax_ = 3;
    bool pinVerified_ = false;
    bool selected_ = false;
    bool logoutSupported_ = true;
    bool lastWasVerifyOk_ = false;
    bool chaining_ = false;
    bool chainVerifyBefore_ = false;
    Command chain_{};

    std::map<std::uint8_t, std::uint32_t> features_;
    std::deque<std::string> pinpadEntries_;
    std::optional<std::uint16_t> pinpadOutcome_;

    std::vector<Bytes> transmitted_;

    std::vector<std::size_t> secretTransmits_;
    std::vector<Bytes> cardSaw_;
    std::vector<std::pair<std::uint32_t, Bytes>> controls_;
    std::size_t featureQueries_ = 0;
};

// Builds a card with certificates for the standard slots from the fixed test keys:
//   9A RSA-2048 (a) clientAuth, 9C RSA-2048 (b) nonRepudiation, 9D P-256 (a) keyAgreement,
//   9E P-256 (b); a CHUID with GUID 00 01 .. 0F; PIN 123456, PUK 12345678.
struct StandardCard {
    StandardCard();
    FakePivCard card;
    Bytes cert9a, cert9c, cert9d, cert9e;
};

// Hex string to bytes ("00 a4 04" with spaces allowed).
Bytes hex(const std::string& text);

}  // namespace tk::test
