#pragma once

#include <array>
#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "card/bytes.hpp"
#include "card/secure_bytes.hpp"

namespace tk::service {

// The PIN and PUK values of one request. takeSecrets() copies them out of the request's JSON
// into wiped-on-release buffers and overwrites the JSON strings at once, so the only copies
// left are these.
struct Secrets {
    std::optional<card::SecureBytes> pin;
    std::optional<card::SecureBytes> newPin;
    std::optional<card::SecureBytes> puk;
    std::optional<card::SecureBytes> newPuk;

    std::optional<card::SecureBytes>* find(std::string_view name);
};

inline constexpr std::array<std::string_view, 4> kSecretNames = {"pin", "newPin", "puk", "newPuk"};

// Takes every string member named pin, newPin, puk or newPuk out of `params` (whatever the
// method: a secret sent to the wrong method is wiped too) and overwrites the string in place
// (OPENSSL_cleanse) before emptying it. The caller's JSON must not be a const object at its
// definition; the server parses requests into mutable values. Non-string members are left for
// ParamReader to refuse.
Secrets takeSecrets(const nlohmann::json& params);

// Reads one method's params with the rules of PROTOCOL.md §2: an object (omitted is {}), no
// member outside `known` (INVALID_PARAMS naming the first unknown one), `null` never standing
// for an omitted parameter, and values of the right type and format. Every failure throws
// ApiFailure(INVALID_PARAMS) with data.field.
class ParamReader {
  public:
    ParamReader(const nlohmann::json& params, std::initializer_list<std::string_view> known);

    bool has(std::string_view name) const;

    std::string requiredString(std::string_view name) const;
    std::optional<std::string> optionalString(std::string_view name) const;
    std::optional<bool> optionalBool(std::string_view name) const;
    // One of `values`.
    std::optional<std::string> optionalEnum(std::string_view name,
                                            std::initializer_list<std::string_view> values) const;
    // Strict base64 (see base64.hpp). `maxBytes` 0: no limit; larger decoded values are
    // PAYLOAD_TOO_LARGE with data.field and data.limit.
    std::optional<card::Bytes> optionalBase64(std::string_view name, bool allowEmpty,
                                              std::size_t maxBytes) const;
    // A nested object; its members are read with a ParamReader of their own, whose field names
    // are prefixed ("cms.detached").
    std::optional<ParamReader> optionalObject(std::string_view name,
                                              std::initializer_list<std::string_view> known) const;

    // A secret's member: a string (already taken by takeSecrets) or absent.
    void checkSecret(std::string_view name) const;

    // cardId: 1-128 characters of A-Z a-z 0-9 . _ - ; certificateId: 1-256 of the same plus ":".
    std::string requiredCardId(std::string_view name) const;
    std::string requiredCertificateId(std::string_view name) const;

  private:
    ParamReader(const nlohmann::json* object, std::string prefix);
    const nlohmann::json* member(std::string_view name) const;
    std::string field(std::string_view name) const;
    void checkKnown(std::initializer_list<std::string_view> known) const;

    const nlohmann::json* object_;  // null: params omitted
    std::string prefix_;
};

}  // namespace tk::service
