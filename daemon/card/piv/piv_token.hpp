#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "card/apdu.hpp"
#include "card/errors.hpp"
#include "card/pinpad.hpp"
#include "card/token.hpp"
#include "pcsc/card_channel.hpp"

namespace tk::card {

struct PivTokenOptions {
    // bTimerOut of the pinpad structures.
    std::uint8_t pinpadTimeoutSeconds = 60;
};

// Token over the PIV card application (NIST SP 800-73-4), speaking APDUs through a
// pcsc::CardChannel the owner keeps connected (and inside a PC/SC transaction for the length of
// each call).
//
// Every operation that touches the card starts with SELECT, since another program may have
// selected another application between two transactions. PIN rules it keeps:
// - a PIN/PUK is checked against the format rules before any APDU;
// - before a PIN is presented, an empty VERIFY reads the retry counter (it consumes no try);
//   a blocked PIN is never presented, and a PIN with one try left only when the request
//   allows the last attempt; a PIN is presented once per call and never retried;
// - the VERIFY is the APDU right before GENERAL AUTHENTICATE (9C is PIN-always);
// - after an operation that verified the PIN, VERIFY P1=FF resets the security status; if that
//   fails, resetRequired() asks the owner for SCARD_RESET_CARD.
// The certificate list and the card id are read once and kept until invalidateCache();
// matchesCard() tells whether the card still holds what was read (for a token kept while its
// card was out of the reader).
//
// APDUs per operation (transmit calls; GET RESPONSE below the channel not counted):
//   certificates()/cardId() cold  SELECT, GET DATA CHUID, key history, 9A 9C 9D 9E certificates
//                                 (+1 per retired certificate)                           7
//   certificates()/cardId() warm  none                                                   0
//   matchesCard()                 key history, 9A 9C 9D 9E certificates
//                                 (+1 per retired certificate)                           5
//   pinStatus()                   SELECT, VERIFY (empty)                                 2
//   verifyPin()                   SELECT, VERIFY (empty), VERIFY, VERIFY P1=FF            4
//   sign() RSA-2048, 9A/9C/9D     SELECT, VERIFY (empty), VERIFY, GENERAL AUTHENTICATE
//                                 in 2 chained parts, VERIFY P1=FF                        6
//   sign() ECDSA                  SELECT, VERIFY (empty), VERIFY, GENERAL AUTHENTICATE,
//                                 VERIFY P1=FF                                            5
//   sign() 9E                     SELECT, GENERAL AUTHENTICATE                            2
//   decrypt() RSA-2048            as RSA sign                                             6
//   deriveSharedSecret()          as ECDSA sign                                           5
//   changePin()                   SELECT, VERIFY (empty), CHANGE REFERENCE DATA, P1=FF    4
//   changePuk()                   SELECT, CHANGE REFERENCE DATA                           2
//   unblockPin()                  SELECT, RESET RETRY COUNTER, VERIFY P1=FF               3
class PivToken final : public Token {
  public:
    explicit PivToken(pcsc::CardChannel& channel, PivTokenOptions options = {});
    ~PivToken() override;
    PivToken(const PivToken&) = delete;
    PivToken& operator=(const PivToken&) = delete;
    PivToken(PivToken&&) = delete;
    PivToken& operator=(PivToken&&) = delete;

    std::string_view type() const override { return "piv"; }
    const std::string& cardId() override;
    const std::vector<CertificateEntry>& certificates() override;
    const std::vector<SkippedCertificate>& skippedCertificates() override;
    void invalidateCache() override;
    bool hasPinpad() override;
    PinStatus pinStatus() override;
    void verifyPin(const PinInput& pin) override;
    void changePin(const ReferenceDataChange& change) override;
    void changePuk(const ReferenceDataChange& change) override;
    void unblockPin(const ReferenceDataChange& change) override;
    Bytes sign(const SignRequest& request) override;
    SecureBytes decrypt(const DecryptRequest& request) override;
    SecureBytes deriveSharedSecret(const DeriveRequest& request) override;
    bool resetRequired() const override { return resetRequired_; }
    void cardWasReset() override { resetRequired_ = false; }

    // Reads the key history and the certificate objects again and tells whether they are
    // byte for byte what the certificate list was built from (same answers for absent or
    // refused objects). True, sending nothing, when nothing has been read yet. A card whose
    // certificates were replaced, added or removed while the token was kept answers false: the
    // owner then starts over with a fresh token.
    // The one call that sends no SELECT first: it is meant for right after the owner selected
    // the application and read the CHUID in the same transaction (the CHUID gave the card id by
    // which the owner found this token). Without that selection the card refuses the reads and
    // the answer is false, which costs a fresh read and nothing else.
    bool matchesCard();

  private:
    struct KeyData;
    class SecurityStatusGuard;
    struct PinReading {
        std::optional<int> retriesLeft;
        bool blocked = false;
        bool verified = false;
    };

    void load();
    std::size_t keyIndex(std::uint8_t keyRef);

    // The key a sign/decrypt/derive request names, with its PIN input checked when it needs one.
    struct KeyUse {
        std::size_t key;
        bool needsPin;
    };
    KeyUse resolveKeyUse(const std::string& slot, const PinInput& pin);

    ResponseApdu transmit(ByteView command);
    // A command with the PIN or PUK in it: sent once, never resent after a 6Cxx.
    ResponseApdu transmitSecret(ByteView command);
    // Sends the fragments of a chained command; stops at the first fragment the card refuses
    // and returns that answer.
    ResponseApdu transmitChained(const CommandApdu& command);
    void selectApplication();
    ResponseApdu getDataResponse(std::uint32_t objectTag);
    std::optional<Bytes> getData(std::uint32_t objectTag);
    std::optional<Bytes> getData(std::uint32_t objectTag, const ResponseApdu& answer);
    // getData() for the objects the certificate list is built from, noting the card's answer in
    // objectsRead_ for matchesCard().
    std::optional<Bytes> getNotedData(std::uint32_t objectTag);

    std::optional<std::uint32_t> featureCode(std::uint8_t feature);
    pinpad::EntryFormat pinpadFormat(std::uint8_t minDigits, std::uint8_t maxDigits) const;
    void checkPinInput(const PinInput& pin);
    void checkChangeInput(const ReferenceDataChange& change, Credential current,
                          Credential replacement);
    void checkKnownPukState(bool allowLastAttempt) const;
    void notePukAnswer(std::uint16_t sw);

    PinReading readPinStatus();
    void presentPin(const PinInput& pin, SecurityStatusGuard& guard);
    std::uint16_t sendReferenceData(std::uint8_t ins, std::uint8_t p2, const SecureBytes& first,
                                    const SecureBytes& second);
    std::uint16_t pinpadModify(std::uint8_t ins, std::uint8_t p2,
                               const pinpad::EntryFormat& format);
    bool logout() noexcept;

    SecureBytes generalAuthenticate(std::size_t key, std::uint32_t inputTag, ByteView input);

    pcsc::CardChannel& channel_;
    PivTokenOptions options_;

    bool loaded_ = false;
    std::string cardId_;
    std::vector<CertificateEntry> entries_;
    std::vector<KeyData> keys_;  // parallel to entries_
    std::vector<SkippedCertificate> skipped_;
    // The card's answers to the GET DATA of load() (key history, certificate objects), in order.
    struct ObjectAnswer {
        std::uint32_t tag;
        std::uint16_t sw;
        Bytes data;
    };
    std::vector<ObjectAnswer> objectsRead_;

    std::map<std::uint8_t, std::optional<std::uint32_t>> features_;
    // PIV has no way to read the PUK counter without presenting a PUK; what the card said last
    // time is kept for the last-attempt rule.
    std::optional<int> knownPukRetries_;
    bool resetRequired_ = false;
    bool logoutUnsupported_ = false;
};

}  // namespace tk::card
