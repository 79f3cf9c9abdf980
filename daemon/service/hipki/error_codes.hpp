#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "service/api.hpp"
#include "service/reasons.hpp"

namespace tk::service::hipki {

// The ret_code values of the HiPKI dialect (docs/hipki.md).
namespace code {
inline constexpr std::int64_t kOk = 0;
inline constexpr std::int64_t kNoDataToSign = 0x76000003;
inline constexpr std::int64_t kNoCard = 0x76000006;
inline constexpr std::int64_t kBadJson = 0x7600000B;
inline constexpr std::int64_t kBadParameter = 0x7600000C;
inline constexpr std::int64_t kInternal = 0x7600000D;  // timeout or internal failure
inline constexpr std::int64_t kUnsupportedMethod = 0x7600000E;
inline constexpr std::int64_t kSiteNotAuthorised = 0x76000031;
inline constexpr std::int64_t kUserCancelled = 0x76000999;
inline constexpr std::int64_t kNoReader = 0x76100003;
inline constexpr std::int64_t kLoginFailed = 0x76100006;
inline constexpr std::int64_t kCertificateNotFound = 0x7610000C;
inline constexpr std::int64_t kKeyNotFound = 0x7610000D;
// DecryptData answers this one code for every failure of the decryption itself (no
// recipient, wrong key, bad padding, an unreadable or unsupported envelope): no padding oracle.
inline constexpr std::int64_t kDecryptFailed = kInternal;
}  // namespace code

// last_error of a failed card login (ret_code kLoginFailed).
namespace last_error {
inline constexpr std::int64_t kWrongPin = 0xA0;
inline constexpr std::int64_t kWrongPinLength = 0xA2;
inline constexpr std::int64_t kPinBlocked = 0xA4;
inline constexpr std::int64_t kOneTryLeft = -2147483647;
inline constexpr std::int64_t kTwoTriesLeft = -2147483646;
}  // namespace last_error

struct HipkiCode {
    std::int64_t retCode = code::kOk;
    std::int64_t lastError = 0;
};

// The ret_code of every TenderKey reason (the table of docs/hipki.md); nullopt only for a
// reason the table does not hold (a unit test holds it complete).
std::optional<std::int64_t> retCodeOf(Reason reason);

// ret_code and last_error of an API error: the table above, and for the PIN reasons
// last_error from the tries left.
HipkiCode codeOf(const ApiError& error);

}  // namespace tk::service::hipki
