#include "service/reasons.hpp"

#include <array>

namespace tk::service {
namespace {

constexpr std::array<ReasonInfo, 33> kReasons{{
    {Reason::ParseError, "PARSE_ERROR", -32700, "Parse error: the message is not valid JSON"},
    {Reason::InvalidRequest, "INVALID_REQUEST", -32600,
     "Invalid request: not a JSON-RPC 2.0 request object"},
    {Reason::MethodNotFound, "METHOD_NOT_FOUND", -32601, "Method not found"},
    {Reason::InvalidParams, "INVALID_PARAMS", -32602, "Invalid params"},
    {Reason::Internal, "INTERNAL", -32603, "Internal error"},
    {Reason::ServiceUnavailable, "SERVICE_UNAVAILABLE", -32010, "The PC/SC service is not running"},
    {Reason::NoReader, "NO_READER", -32011, "No such reader"},
    {Reason::NoCard, "NO_CARD", -32012, "No card"},
    {Reason::CardRemoved, "CARD_REMOVED", -32013,
     "The card was removed or reset during the operation"},
    {Reason::UnsupportedCard, "UNSUPPORTED_CARD", -32014, "The card has no supported application"},
    {Reason::CardError, "CARD_ERROR", -32015, "The card answered with an unexpected status word"},
    {Reason::AmbiguousCard, "AMBIGUOUS_CARD", -32016,
     "The same card id is in more than one reader"},
    {Reason::Busy, "BUSY", -32020, "Too many requests in flight on this connection"},
    {Reason::Timeout, "TIMEOUT", -32021, "The operation exceeded its time limit"},
    {Reason::PayloadTooLarge, "PAYLOAD_TOO_LARGE", -32022,
     "A parameter exceeds its configured size"},
    {Reason::PinRequired, "PIN_REQUIRED", -32030,
     "A PIN is required and the reader has no PIN pad"},
    {Reason::PinFormat, "PIN_FORMAT", -32031, "The PIN or PUK does not meet the card's rules"},
    {Reason::PinIncorrect, "PIN_INCORRECT", -32032, "Incorrect PIN"},
    {Reason::PinBlocked, "PIN_BLOCKED", -32033, "The PIN is blocked"},
    {Reason::PukIncorrect, "PUK_INCORRECT", -32034, "Incorrect PUK"},
    {Reason::PukBlocked, "PUK_BLOCKED", -32035, "The PUK is blocked"},
    {Reason::PinpadCancelled, "PINPAD_CANCELLED", -32036, "PIN entry was cancelled on the PIN pad"},
    {Reason::PinpadTimeout, "PINPAD_TIMEOUT", -32037, "No PIN was entered on the PIN pad in time"},
    {Reason::PinLastAttempt, "PIN_LAST_ATTEMPT", -32038,
     "One try left and the request did not set lastAttempt"},
    {Reason::NotPermitted, "NOT_PERMITTED", -32050,
     "The origin is not permitted to call this method"},
    {Reason::CertificateNotFound, "CERTIFICATE_NOT_FOUND", -32040,
     "No card present holds this certificate"},
    {Reason::UnsupportedAlgorithm, "UNSUPPORTED_ALGORITHM", -32041,
     "Unsupported key, algorithm and hash combination"},
    {Reason::KeyUsage, "KEY_USAGE", -32042, "The key may not be used for this operation"},
    {Reason::DecryptFailed, "DECRYPT_FAILED", -32043,
     "The ciphertext does not decrypt with this key"},
    {Reason::NotAttached, "NOT_ATTACHED", -32051,
     "A bridge connection must first attach to an origin (bridge.attach)"},
    {Reason::AlreadyAttached, "ALREADY_ATTACHED", -32052,
     "The bridge connection is already attached to an origin"},
    {Reason::OriginNotAllowed, "ORIGIN_NOT_ALLOWED", -32053, "The origin is not on the allow-list"},
    {Reason::PagePinRefused, "PAGE_PIN_REFUSED", -32054,
     "PINs typed into web pages are refused: the PIN is entered in the TenderKey window or on "
     "the PIN pad"},
}};

// The table is indexed by the enum: keep them in the same order.
constexpr bool inEnumOrder() {
    for (std::size_t i = 0; i < kReasons.size(); ++i) {
        if (static_cast<std::size_t>(kReasons[i].reason) != i) {
            return false;
        }
    }
    return true;
}
static_assert(inEnumOrder());

}  // namespace

std::span<const ReasonInfo> allReasons() noexcept {
    return kReasons;
}

const ReasonInfo& reasonInfo(Reason reason) noexcept {
    return kReasons[static_cast<std::size_t>(reason)];
}

ApiError makeError(Reason reason, std::string_view detail, nlohmann::json data) {
    const ReasonInfo& info = reasonInfo(reason);
    ApiError error;
    error.reason = std::string(info.name);
    error.code = info.code;
    error.message = std::string(info.message);
    if (!detail.empty()) {
        error.message += ": ";
        error.message += detail;
    }
    error.data = std::move(data);
    return error;
}

}  // namespace tk::service
