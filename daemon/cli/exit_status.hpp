#pragma once

#include <exception>
#include <optional>
#include <stdexcept>
#include <string>

namespace tk::cli {

// The exit status of every tenderkey command; docs/cli.md lists them, scripts rely on them, so
// a value never changes meaning.
enum class ExitStatus : int {
    Ok = 0,
    Usage = 1,               // unknown command or option, missing or bad value, ambiguous card
    NoCard = 2,              // no reader, unknown reader, empty reader
    PinIncorrect = 3,        // wrong PIN or PUK; the message says how many tries are left
    PinBlocked = 4,          // PIN or PUK blocked
    PinFormat = 5,           // PIN or PUK breaks the card's rules, or the two new ones differ
    CardError = 6,           // the card answered something unexpected, or is not a PIV card
    ServiceUnavailable = 7,  // the PC/SC service (pcscd) is not running
    CardRemoved = 8,         // card removed or reset during the operation
    PinLastAttempt = 9,      // one try left and --last-attempt not given; card untouched
    PinRequired = 10,        // no PIN source (file, variable, pinpad, terminal), pinpad cancelled
    KeyUnusable = 11,        // certificate not found, or key and algorithm do not go together
    DecryptFailed = 12,      // the ciphertext does not decrypt with this key
    FileError = 13,          // an input or output file could not be read or written
    CardInUse = 14,          // another application holds the card exclusively
    ConfigInvalid = 15,      // the configuration does not load, or the change would break it
    ConfigBusy = 16,         // another `tenderkey origins` edits the configuration right now
    ReloadFailed = 17,       // the file was changed but the daemon could not be told
    DaemonDown = 18,         // status: the daemon does not answer on a configured listener
    Warnings = 19,           // status/doctor: something needs attention (see the output)
    ChecksFailed = 20,       // doctor: at least one check failed
    Internal = 70,           // a bug
};

// What a failed command reports: exit status, a stable reason (the protocol's names where one
// exists), a one-line message, and the tries left for PIN errors.
struct Failure {
    ExitStatus status = ExitStatus::Internal;
    std::string reason;
    std::string message;
    std::optional<int> retriesLeft;
};

// Maps the exception being handled (card, PC/SC, crypto and CLI errors) to what the user sees.
Failure describeFailure(const std::exception_ptr& error);

// Errors the CLI itself raises.
class UsageError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

class FileError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// No reader, or no card in the readers looked at.
class NoCardFound : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// The certificate id names no certificate on the cards present.
class CertificateNotFound : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// The two entries of a new PIN or PUK on the terminal differ.
class SecretMismatch : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// A PIN is needed and there is no way to get one (no file, variable, pinpad or terminal).
class NoSecretSource : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// The configuration file cannot be edited as asked (the loader's message, or why not).
class ConfigProblem : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Another process holds the configuration file's lock.
class ConfigBusy : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// The daemon could not be asked to reload.
class ReloadFailed : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// A command that printed its whole result and ends with a non-zero status (status, doctor):
// main() returns the status and prints nothing more.
class CommandStatus : public std::exception {
  public:
    explicit CommandStatus(ExitStatus status) : status_(status) {}
    ExitStatus status() const noexcept { return status_; }
    const char* what() const noexcept override { return "command status"; }

  private:
    ExitStatus status_;
};

}  // namespace tk::cli
