#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace tk::pcsc {

// Every failing SCard* call of this layer ends up as one of these exceptions, through
// throwError() below and nowhere else. `code()` keeps the raw PC/SC return code (as an
// unsigned 32-bit value, the same on pcsc-lite and Windows), `function()` the SCard* call
// that failed, so a log line says both without the caller translating anything.
class Error : public std::runtime_error {
  public:
    Error(std::uint32_t code, std::string function, std::string_view detail = {});

    std::uint32_t code() const noexcept { return code_; }
    const std::string& function() const noexcept { return function_; }

  private:
    std::uint32_t code_;
    std::string function_;
};

// pcscd is not running, was stopped, or the connection to it broke (SCARD_E_NO_SERVICE,
// SCARD_E_SERVICE_STOPPED, SCARD_F_COMM_ERROR). Contexts made before are useless now.
class ServiceNotRunning : public Error {
  public:
    using Error::Error;
};
// The context is no longer known to the service, typically because pcscd restarted.
class InvalidHandle : public Error {
  public:
    using Error::Error;
};
class NoReaders : public Error {
  public:
    using Error::Error;
};
class ReaderUnavailable : public Error {
  public:
    using Error::Error;
};
class UnknownReader : public Error {
  public:
    using Error::Error;
};
// SCardConnect on an empty reader.
class NoCard : public Error {
  public:
    using Error::Error;
};
// The card was removed since this handle last used it; reconnecting cannot help.
class CardRemoved : public Error {
  public:
    using Error::Error;
};
// Another handle reset or unpowered the card: card-side state (selected application,
// verified PIN) is gone. CardConnection::reconnect() makes the handle usable again.
class CardReset : public Error {
  public:
    using Error::Error;
};
class SharingViolation : public Error {
  public:
    using Error::Error;
};
// SCARD_E_NOT_TRANSACTED: a transaction could not be started or ended.
class TransactionFailed : public Error {
  public:
    using Error::Error;
};
// SCardCancel ended a waiting call.
class Cancelled : public Error {
  public:
    using Error::Error;
};
class Timeout : public Error {
  public:
    using Error::Error;
};
// The card does not answer its reset, or the reader cannot talk to it.
class UnresponsiveCard : public Error {
  public:
    using Error::Error;
};
class ProtocolMismatch : public Error {
  public:
    using Error::Error;
};
class InsufficientBuffer : public Error {
  public:
    using Error::Error;
};
// The reader or its driver does not offer the requested function (SCARD_E_UNSUPPORTED_FEATURE,
// which pcsc-lite also returns as SCARD_E_UNEXPECTED).
class Unsupported : public Error {
  public:
    using Error::Error;
};

// Throws the exception that matches `code`, naming `function` (e.g. "SCardTransmit").
// `code` must not be SCARD_S_SUCCESS.
[[noreturn]] void throwError(std::uint32_t code, std::string_view function);

}  // namespace tk::pcsc
