#include "pcsc/errors.hpp"

#include "pcsc/detail/winscard.hpp"

#include <cstdio>
#include <utility>

namespace tk::pcsc {
namespace {

constexpr std::uint32_t u32(LONG code) {
    return static_cast<std::uint32_t>(code);
}

// Windows defines SCARD_E_UNSUPPORTED_FEATURE as 0x80100022; pcsc-lite reuses 0x8010001F
// (SCARD_E_UNEXPECTED) for it. Both mean the same to us: canonical() folds the Windows value
// into this platform's SCARD_E_UNSUPPORTED_FEATURE (on Windows they are the same value).
constexpr std::uint32_t kWindowsUnsupportedFeature = 0x80100022;

constexpr std::uint32_t canonical(std::uint32_t code) {
    return code == kWindowsUnsupportedFeature ? u32(SCARD_E_UNSUPPORTED_FEATURE) : code;
}

std::string_view describe(std::uint32_t code) {
    switch (canonical(code)) {
        case u32(SCARD_E_NO_SERVICE):
            return "the smart-card service is not running";
        case u32(SCARD_E_SERVICE_STOPPED):
            return "the smart-card service stopped";
        case u32(SCARD_F_COMM_ERROR):
            return "the connection to the smart-card service broke";
        case u32(SCARD_E_INVALID_HANDLE):
            return "invalid handle (the smart-card service may have restarted)";
        case u32(SCARD_E_NO_READERS_AVAILABLE):
            return "no smart-card readers";
        case u32(SCARD_E_READER_UNAVAILABLE):
            return "the reader is not available";
        case u32(SCARD_E_UNKNOWN_READER):
            return "unknown reader";
        case u32(SCARD_E_NO_SMARTCARD):
            return "no card in the reader";
        case u32(SCARD_W_REMOVED_CARD):
            return "the card was removed";
        case u32(SCARD_W_RESET_CARD):
            return "the card was reset";
        case u32(SCARD_W_UNPOWERED_CARD):
            return "the card was powered down";
        case u32(SCARD_E_SHARING_VIOLATION):
            return "the card is in use by another application";
        case u32(SCARD_E_NOT_TRANSACTED):
            return "transaction failed";
        case u32(SCARD_E_CANCELLED):
            return "cancelled";
        case u32(SCARD_E_SYSTEM_CANCELLED):
            return "cancelled by the system";
        case u32(SCARD_E_TIMEOUT):
            return "timed out";
        case u32(SCARD_W_UNRESPONSIVE_CARD):
            return "the card does not respond";
        case u32(SCARD_W_UNSUPPORTED_CARD):
            return "the reader cannot communicate with the card";
        case u32(SCARD_E_PROTO_MISMATCH):
            return "protocol mismatch";
        case u32(SCARD_E_INSUFFICIENT_BUFFER):
            return "buffer too small";
        case u32(SCARD_E_PCI_TOO_SMALL):
            return "protocol information buffer too small";
        case u32(SCARD_E_UNSUPPORTED_FEATURE):
            return "not supported by the reader";
        case u32(SCARD_E_READER_UNSUPPORTED):
            return "reader not supported";
        case u32(SCARD_E_CARD_UNSUPPORTED):
            return "card not supported";
        case u32(SCARD_E_INVALID_PARAMETER):
            return "invalid parameter";
        case u32(SCARD_E_INVALID_VALUE):
            return "invalid value";
        case u32(SCARD_E_NO_MEMORY):
            return "out of memory";
        case u32(SCARD_E_COMM_DATA_LOST):
            return "communication with the card failed";
        case u32(SCARD_E_NOT_READY):
            return "the reader or card is not ready";
        default:
            return "PC/SC error";
    }
}

std::string message(std::uint32_t code, const std::string& function, std::string_view detail) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%08X", static_cast<unsigned>(code));
    std::string text = function + ": " + std::string(describe(code));
    if (!detail.empty()) {
        text += ": ";
        text += detail;
    }
    text += " (";
    text += hex;
    text += ")";
    return text;
}

}  // namespace

Error::Error(std::uint32_t code, std::string function, std::string_view detail)
    : std::runtime_error(message(code, function, detail)),
      code_(code),
      function_(std::move(function)) {}

void throwError(std::uint32_t code, std::string_view function) {
    const std::string name(function);
    switch (canonical(code)) {
        case u32(SCARD_E_NO_SERVICE):
        case u32(SCARD_E_SERVICE_STOPPED):
        case u32(SCARD_F_COMM_ERROR):
            throw ServiceNotRunning(code, name);
        case u32(SCARD_E_INVALID_HANDLE):
        // A pcscd restarted under a live handle may call it another client's (seen from
        // SCardBeginTransaction): the handle is stale all the same.
        case u32(SCARD_W_SECURITY_VIOLATION):
            throw InvalidHandle(code, name);
        case u32(SCARD_E_NO_READERS_AVAILABLE):
            throw NoReaders(code, name);
        case u32(SCARD_E_READER_UNAVAILABLE):
            throw ReaderUnavailable(code, name);
        case u32(SCARD_E_UNKNOWN_READER):
            throw UnknownReader(code, name);
        case u32(SCARD_E_NO_SMARTCARD):
            throw NoCard(code, name);
        case u32(SCARD_W_REMOVED_CARD):
            throw CardRemoved(code, name);
        // Powered down by another handle: like a reset, the card forgot its state and a
        // reconnect brings it back.
        case u32(SCARD_W_RESET_CARD):
        case u32(SCARD_W_UNPOWERED_CARD):
            throw CardReset(code, name);
        case u32(SCARD_E_SHARING_VIOLATION):
            throw SharingViolation(code, name);
        case u32(SCARD_E_NOT_TRANSACTED):
            throw TransactionFailed(code, name);
        case u32(SCARD_E_CANCELLED):
        case u32(SCARD_E_SYSTEM_CANCELLED):
            throw Cancelled(code, name);
        case u32(SCARD_E_TIMEOUT):
            throw Timeout(code, name);
        case u32(SCARD_W_UNRESPONSIVE_CARD):
        case u32(SCARD_W_UNSUPPORTED_CARD):
            throw UnresponsiveCard(code, name);
        case u32(SCARD_E_PROTO_MISMATCH):
            throw ProtocolMismatch(code, name);
        case u32(SCARD_E_INSUFFICIENT_BUFFER):
        case u32(SCARD_E_PCI_TOO_SMALL):
            throw InsufficientBuffer(code, name);
        case u32(SCARD_E_UNSUPPORTED_FEATURE):
        case u32(SCARD_E_READER_UNSUPPORTED):
            throw Unsupported(code, name);
        default:
            throw Error(code, name);
    }
}

}  // namespace tk::pcsc
