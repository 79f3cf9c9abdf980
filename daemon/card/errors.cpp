#include "card/errors.hpp"

#include <cstdio>

namespace tk::card {

namespace {

std::string swText(std::uint16_t sw) {
    char buf[5];
    std::snprintf(buf, sizeof buf, "%04x", static_cast<unsigned>(sw));
    return buf;
}

const char* credentialName(Credential credential) {
    return credential == Credential::Pin ? "PIN" : "PUK";
}

}  // namespace

CardError::CardError(std::uint16_t sw, const std::string& command)
    : Error("card answered " + swText(sw) + " to " + command), sw_(sw) {}

PinFormat::PinFormat(Credential credential)
    : Error(std::string(credentialName(credential)) + " does not meet the card's format rules"),
      credential_(credential) {}

PinRequired::PinRequired(Credential credential)
    : Error(std::string(credentialName(credential)) + " required and the reader has no pinpad"),
      credential_(credential) {}

PinLastAttempt::PinLastAttempt(Credential credential)
    : Error(std::string(credentialName(credential)) +
            " has one try left and the request did not allow the last attempt"),
      credential_(credential) {}

PinIncorrect::PinIncorrect(int retriesLeft)
    : Error("wrong PIN, " + std::to_string(retriesLeft) + " tries left"),
      retriesLeft_(retriesLeft) {}

PinBlocked::PinBlocked() : Error("PIN blocked") {}

PukIncorrect::PukIncorrect(int retriesLeft)
    : Error("wrong PUK, " + std::to_string(retriesLeft) + " tries left"),
      retriesLeft_(retriesLeft) {}

PukBlocked::PukBlocked() : Error("PUK blocked") {}

PinpadCancelled::PinpadCancelled() : Error("PIN entry cancelled on the pinpad") {}

PinpadTimeout::PinpadTimeout() : Error("no PIN entered on the pinpad in time") {}

}  // namespace tk::card
