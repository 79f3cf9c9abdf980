#include "service/hipki/error_codes.hpp"

#include <array>
#include <utility>

namespace tk::service::hipki {
namespace {

// Every reason of service/reasons.hpp and its ret_code. A page shows `message` for any
// non-zero code; the codes only steer the pages' own texts (no card, wrong PIN, ...).
constexpr std::array<std::pair<Reason, std::int64_t>, 33> kTable{{
    {Reason::ParseError, code::kBadJson},
    {Reason::InvalidRequest, code::kBadJson},
    {Reason::MethodNotFound, code::kUnsupportedMethod},
    {Reason::InvalidParams, code::kBadParameter},
    {Reason::Internal, code::kInternal},
    {Reason::ServiceUnavailable, code::kNoReader},
    {Reason::NoReader, code::kNoReader},
    {Reason::NoCard, code::kNoCard},
    {Reason::CardRemoved, code::kNoCard},
    {Reason::UnsupportedCard, code::kNoCard},
    {Reason::CardError, code::kInternal},
    {Reason::AmbiguousCard, code::kBadParameter},
    {Reason::Busy, code::kInternal},
    {Reason::Timeout, code::kInternal},
    {Reason::PayloadTooLarge, code::kBadParameter},
    {Reason::PinRequired, code::kLoginFailed},
    {Reason::PinFormat, code::kLoginFailed},
    {Reason::PinIncorrect, code::kLoginFailed},
    {Reason::PinBlocked, code::kLoginFailed},
    {Reason::PukIncorrect, code::kLoginFailed},
    {Reason::PukBlocked, code::kLoginFailed},
    {Reason::PinpadCancelled, code::kUserCancelled},
    {Reason::PinpadTimeout, code::kInternal},
    {Reason::PinLastAttempt, code::kLoginFailed},
    {Reason::NotPermitted, code::kSiteNotAuthorised},
    {Reason::CertificateNotFound, code::kCertificateNotFound},
    {Reason::UnsupportedAlgorithm, code::kBadParameter},
    {Reason::KeyUsage, code::kKeyNotFound},
    {Reason::DecryptFailed, code::kDecryptFailed},
    {Reason::NotAttached, code::kSiteNotAuthorised},
    {Reason::AlreadyAttached, code::kSiteNotAuthorised},
    {Reason::OriginNotAllowed, code::kSiteNotAuthorised},
    {Reason::PagePinRefused, code::kSiteNotAuthorised},
}};

std::optional<Reason> reasonNamed(std::string_view name) {
    for (const ReasonInfo& info : allReasons()) {
        if (info.name == name) {
            return info.reason;
        }
    }
    return std::nullopt;
}

std::int64_t wrongPinLastError(const nlohmann::json& data) {
    const auto it = data.find("retriesLeft");
    if (it == data.end() || !it->is_number_integer()) {
        return last_error::kWrongPin;
    }
    const int left = it->get<int>();
    if (left <= 0) {
        return last_error::kPinBlocked;
    }
    if (left == 1) {
        return last_error::kOneTryLeft;
    }
    if (left == 2) {
        return last_error::kTwoTriesLeft;
    }
    return last_error::kWrongPin;
}

}  // namespace

std::optional<std::int64_t> retCodeOf(Reason reason) {
    for (const auto& [each, retCode] : kTable) {
        if (each == reason) {
            return retCode;
        }
    }
    return std::nullopt;
}

HipkiCode codeOf(const ApiError& error) {
    const std::optional<Reason> reason = reasonNamed(error.reason);
    if (!reason) {
        return {code::kInternal, 0};
    }
    HipkiCode result{retCodeOf(*reason).value_or(code::kInternal), 0};
    switch (*reason) {
        case Reason::PinIncorrect:
        case Reason::PukIncorrect:
            result.lastError = wrongPinLastError(error.data);
            break;
        case Reason::PinLastAttempt:
            result.lastError = last_error::kOneTryLeft;
            break;
        case Reason::PinBlocked:
        case Reason::PukBlocked:
            result.lastError = last_error::kPinBlocked;
            break;
        case Reason::PinFormat:
        case Reason::PinRequired:
            result.lastError = last_error::kWrongPinLength;
            break;
        default:
            break;
    }
    return result;
}

}  // namespace tk::service::hipki
