#include "cli/exit_status.hpp"

#include "card/errors.hpp"
#include "card/session/readers.hpp"
#include "crypto/errors.hpp"
#include "pcsc/errors.hpp"
#include "service/config.hpp"

namespace tk::cli {
namespace {

std::string credentialName(card::Credential credential) {
    return credential == card::Credential::Pin ? "PIN" : "PUK";
}

std::string triesText(int n) {
    return std::to_string(n) + (n == 1 ? " try left" : " tries left");
}

Failure failure(ExitStatus status, std::string reason, std::string message,
                std::optional<int> retriesLeft = std::nullopt) {
    return {status, std::move(reason), std::move(message), retriesLeft};
}

}  // namespace

Failure describeFailure(const std::exception_ptr& error) {
    try {
        std::rethrow_exception(error);
    } catch (const UsageError& e) {
        return failure(ExitStatus::Usage, "USAGE", e.what());
    } catch (const FileError& e) {
        return failure(ExitStatus::FileError, "FILE_ERROR", e.what());
    } catch (const NoCardFound& e) {
        return failure(ExitStatus::NoCard, "NO_CARD", e.what());
    } catch (const CertificateNotFound& e) {
        return failure(ExitStatus::KeyUnusable, "CERTIFICATE_NOT_FOUND", e.what());
    } catch (const SecretMismatch& e) {
        return failure(ExitStatus::PinFormat, "PIN_MISMATCH", e.what());
    } catch (const NoSecretSource& e) {
        return failure(ExitStatus::PinRequired, "PIN_REQUIRED", e.what());
    } catch (const ConfigProblem& e) {
        return failure(ExitStatus::ConfigInvalid, "CONFIG_INVALID", e.what());
    } catch (const service::ConfigError& e) {
        return failure(ExitStatus::ConfigInvalid, "CONFIG_INVALID", e.what());
    } catch (const ConfigBusy& e) {
        return failure(ExitStatus::ConfigBusy, "CONFIG_BUSY", e.what());
    } catch (const ReloadFailed& e) {
        return failure(ExitStatus::ReloadFailed, "RELOAD_FAILED", e.what());
    }
    // Card layer.
    catch (const card::ReaderNotFound& e) {
        return failure(ExitStatus::NoCard, "NO_READER", e.what());
    } catch (const card::PinIncorrect& e) {
        return failure(ExitStatus::PinIncorrect, "PIN_INCORRECT",
                       "wrong PIN, " + triesText(e.retriesLeft()), e.retriesLeft());
    } catch (const card::PukIncorrect& e) {
        return failure(ExitStatus::PinIncorrect, "PUK_INCORRECT",
                       "wrong PUK, " + triesText(e.retriesLeft()), e.retriesLeft());
    } catch (const card::PinBlocked&) {
        return failure(ExitStatus::PinBlocked, "PIN_BLOCKED",
                       "the PIN is blocked; unblock it with the PUK (tenderkey pin unblock)", 0);
    } catch (const card::PukBlocked&) {
        return failure(ExitStatus::PinBlocked, "PUK_BLOCKED", "the PUK is blocked", 0);
    } catch (const card::PinFormat& e) {
        const std::string what = credentialName(e.credential());
        const std::string rule =
            e.credential() == card::Credential::Pin ? "6 to 8 digits" : "8 digits";
        return failure(ExitStatus::PinFormat, "PIN_FORMAT",
                       "the " + what + " must be " + rule + "; the card was not used");
    } catch (const card::PinLastAttempt& e) {
        return failure(ExitStatus::PinLastAttempt, "PIN_LAST_ATTEMPT",
                       "the " + credentialName(e.credential()) +
                           " has 1 try left; a wrong one blocks it. Add --last-attempt to "
                           "use it; the card was not used",
                       1);
    } catch (const card::PinRequired& e) {
        return failure(ExitStatus::PinRequired, "PIN_REQUIRED", e.what());
    } catch (const card::PinpadCancelled&) {
        return failure(ExitStatus::PinRequired, "PINPAD_CANCELLED",
                       "PIN entry cancelled on the reader");
    } catch (const card::PinpadTimeout&) {
        return failure(ExitStatus::PinRequired, "PINPAD_TIMEOUT",
                       "no PIN entered on the reader in time");
    } catch (const card::KeyNotFound& e) {
        return failure(ExitStatus::KeyUnusable, "CERTIFICATE_NOT_FOUND", e.what());
    } catch (const card::UnsupportedAlgorithm& e) {
        return failure(ExitStatus::KeyUnusable, "UNSUPPORTED_ALGORITHM", e.what());
    } catch (const card::InvalidInput& e) {
        return failure(ExitStatus::KeyUnusable, "INVALID_PARAMS", e.what());
    } catch (const card::DecryptFailed& e) {
        return failure(ExitStatus::DecryptFailed, "DECRYPT_FAILED", e.what());
    } catch (const card::UnsupportedCard& e) {
        return failure(ExitStatus::CardError, "UNSUPPORTED_CARD", e.what());
    } catch (const card::Error& e) {
        // CardError (status word), MalformedData, and anything new.
        return failure(ExitStatus::CardError, "CARD_ERROR", e.what());
    }
    // PC/SC.
    catch (const pcsc::ServiceNotRunning&) {
        return failure(ExitStatus::ServiceUnavailable, "SERVICE_UNAVAILABLE",
                       "the PC/SC service (pcscd) is not running");
    } catch (const pcsc::InvalidHandle&) {
        return failure(ExitStatus::ServiceUnavailable, "SERVICE_UNAVAILABLE",
                       "the PC/SC service (pcscd) restarted; run the command again");
    } catch (const pcsc::NoReaders&) {
        return failure(ExitStatus::NoCard, "NO_READER", "no card reader");
    } catch (const pcsc::UnknownReader& e) {
        return failure(ExitStatus::NoCard, "NO_READER", e.what());
    } catch (const pcsc::ReaderUnavailable& e) {
        return failure(ExitStatus::NoCard, "NO_READER", e.what());
    } catch (const pcsc::NoCard&) {
        return failure(ExitStatus::NoCard, "NO_CARD", "no card in the reader");
    } catch (const pcsc::CardRemoved&) {
        return failure(ExitStatus::CardRemoved, "CARD_REMOVED",
                       "the card was removed during the operation");
    } catch (const pcsc::CardReset&) {
        return failure(ExitStatus::CardRemoved, "CARD_REMOVED",
                       "another application reset the card; the operation did not complete, "
                       "run the command again");
    } catch (const pcsc::SharingViolation&) {
        return failure(ExitStatus::CardInUse, "CARD_IN_USE",
                       "another application is using the card exclusively");
    } catch (const pcsc::Error& e) {
        return failure(ExitStatus::CardError, "CARD_ERROR", e.what());
    } catch (const crypto::Error& e) {
        return failure(ExitStatus::KeyUnusable, "UNSUPPORTED_ALGORITHM", e.what());
    } catch (const std::exception& e) {
        return failure(ExitStatus::Internal, "INTERNAL",
                       std::string("internal error: ") + e.what());
    } catch (...) {
        return failure(ExitStatus::Internal, "INTERNAL", "internal error");
    }
}

}  // namespace tk::cli
