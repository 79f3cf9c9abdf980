#pragma once

// Small builders for card-layer requests, shared by the test files.

#include <string>
#include <vector>

#include "card/token.hpp"

namespace tk::test {

inline constexpr const char* kPin = "123456";
inline constexpr const char* kPuk = "12345678";

card::PinInput pin(const std::string& value, bool lastAttempt = false);
card::PinInput noPin();
card::ReferenceDataChange change(const std::string& current, const std::string& replacement,
                                 bool lastAttempt = false);

// The entry for `slot`; throws when the list has none.
const card::CertificateEntry& entryFor(const std::vector<card::CertificateEntry>& entries,
                                       const std::string& slot);

card::SignRequest signRequest(const std::string& slot, card::SignatureScheme scheme,
                              card::HashAlgorithm hash, const card::Bytes& message,
                              card::PinInput pinInput);

}  // namespace tk::test
