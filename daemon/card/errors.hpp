#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace tk::card {

// Every error the card layer raises derives from Error. The service maps each class to one
// PROTOCOL.md reason; PC/SC transport errors (tk::pcsc::Error) pass through unchanged.
class Error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Which secret an error is about: PROTOCOL.md uses the same reason for PIN and PUK in some
// cases (PIN_FORMAT, PIN_REQUIRED, PIN_LAST_ATTEMPT) and the caller may want to say which.
enum class Credential { Pin, Puk };

// The card answered a status word the operation does not expect (CARD_ERROR, data.sw).
class CardError : public Error {
  public:
    CardError(std::uint16_t sw, const std::string& command);
    std::uint16_t sw() const noexcept { return sw_; }

  private:
    std::uint16_t sw_;
};

// The card answered 90 00 with data that does not have the required structure, or a
// signature that does not verify with the certificate's key (CARD_ERROR without data.sw).
class MalformedData : public Error {
  public:
    using Error::Error;
};

// No supported application on the card (UNSUPPORTED_CARD).
class UnsupportedCard : public Error {
  public:
    using Error::Error;
};

// The slot holds no certificate or the card has no key behind it (CERTIFICATE_NOT_FOUND).
class KeyNotFound : public Error {
  public:
    using Error::Error;
};

// Key, scheme and hash do not go together (UNSUPPORTED_ALGORITHM).
class UnsupportedAlgorithm : public Error {
  public:
    using Error::Error;
};

// A request value the card layer refuses before touching the card, e.g. a digest whose length
// does not match its hash, or an EC point not on the key's curve (INVALID_PARAMS).
class InvalidInput : public Error {
  public:
    using Error::Error;
};

// The ciphertext does not decrypt with this key (DECRYPT_FAILED).
class DecryptFailed : public Error {
  public:
    using Error::Error;
};

// The PIN or PUK breaks the card's rules; the card was not touched (PIN_FORMAT).
class PinFormat : public Error {
  public:
    explicit PinFormat(Credential credential);
    Credential credential() const noexcept { return credential_; }

  private:
    Credential credential_;
};

// No PIN/PUK given and the reader has no pinpad (PIN_REQUIRED).
class PinRequired : public Error {
  public:
    explicit PinRequired(Credential credential);
    Credential credential() const noexcept { return credential_; }

  private:
    Credential credential_;
};

// The card counts one try left and the request did not allow using it; card untouched
// (PIN_LAST_ATTEMPT, retriesLeft 1).
class PinLastAttempt : public Error {
  public:
    explicit PinLastAttempt(Credential credential);
    Credential credential() const noexcept { return credential_; }
    int retriesLeft() const noexcept { return 1; }

  private:
    Credential credential_;
};

// Wrong PIN (PIN_INCORRECT, retriesLeft >= 1).
class PinIncorrect : public Error {
  public:
    explicit PinIncorrect(int retriesLeft);
    int retriesLeft() const noexcept { return retriesLeft_; }

  private:
    int retriesLeft_;
};

// PIN blocked: either the card already said so (and no VERIFY was sent) or this attempt used
// the last try (PIN_BLOCKED, retriesLeft 0).
class PinBlocked : public Error {
  public:
    PinBlocked();
    int retriesLeft() const noexcept { return 0; }
};

// Wrong PUK (PUK_INCORRECT, retriesLeft >= 1).
class PukIncorrect : public Error {
  public:
    explicit PukIncorrect(int retriesLeft);
    int retriesLeft() const noexcept { return retriesLeft_; }

  private:
    int retriesLeft_;
};

// PUK blocked (PUK_BLOCKED).
class PukBlocked : public Error {
  public:
    PukBlocked();
};

// The user pressed cancel on the pinpad (PINPAD_CANCELLED).
class PinpadCancelled : public Error {
  public:
    PinpadCancelled();
};

// Nothing was entered on the pinpad in time (PINPAD_TIMEOUT).
class PinpadTimeout : public Error {
  public:
    PinpadTimeout();
};

}  // namespace tk::card
