#pragma once

#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "service/api.hpp"

namespace tk::service {

// The error reasons of PROTOCOL.md §5, the one C++ copy of protocol/errors.json (a unit test
// keeps the two equal).
enum class Reason {
    ParseError,
    InvalidRequest,
    MethodNotFound,
    InvalidParams,
    Internal,
    ServiceUnavailable,
    NoReader,
    NoCard,
    CardRemoved,
    UnsupportedCard,
    CardError,
    AmbiguousCard,
    Busy,
    Timeout,
    PayloadTooLarge,
    PinRequired,
    PinFormat,
    PinIncorrect,
    PinBlocked,
    PukIncorrect,
    PukBlocked,
    PinpadCancelled,
    PinpadTimeout,
    PinLastAttempt,
    NotPermitted,
    CertificateNotFound,
    UnsupportedAlgorithm,
    KeyUsage,
    DecryptFailed,
    NotAttached,
    AlreadyAttached,
    OriginNotAllowed,
    PagePinRefused,
};

struct ReasonInfo {
    Reason reason;
    std::string_view name;     // "PIN_INCORRECT"
    int code;                  // -32032
    std::string_view message;  // default English text for logs
};

// Every reason, in the order of PROTOCOL.md §5.
std::span<const ReasonInfo> allReasons() noexcept;
const ReasonInfo& reasonInfo(Reason reason) noexcept;

// An ApiError for `reason`: its code, the default message (followed by ": detail" when a
// detail is given) and `data` (the reason-specific members; `reason` itself is added by the
// server).
ApiError makeError(Reason reason, std::string_view detail = {},
                   nlohmann::json data = nlohmann::json::object());

}  // namespace tk::service
