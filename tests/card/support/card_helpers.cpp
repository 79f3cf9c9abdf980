#include "support/card_helpers.hpp"

#include <stdexcept>

#include "support/openssl_checks.hpp"

namespace tk::test {

card::PinInput pin(const std::string& value, bool lastAttempt) {
    card::PinInput in;
    in.pin = card::SecureBytes::fromText(value);
    in.allowLastAttempt = lastAttempt;
    return in;
}

card::PinInput noPin() {
    return {};
}

card::ReferenceDataChange change(const std::string& current, const std::string& replacement,
                                 bool lastAttempt) {
    card::ReferenceDataChange c;
    c.current = card::SecureBytes::fromText(current);
    c.replacement = card::SecureBytes::fromText(replacement);
    c.allowLastAttempt = lastAttempt;
    return c;
}

const card::CertificateEntry& entryFor(const std::vector<card::CertificateEntry>& entries,
                                       const std::string& slot) {
    for (const card::CertificateEntry& e : entries) {
        if (e.slot == slot) {
            return e;
        }
    }
    throw std::runtime_error("no certificate in slot " + slot);
}

card::SignRequest signRequest(const std::string& slot, card::SignatureScheme scheme,
                              card::HashAlgorithm hash, const card::Bytes& message,
                              card::PinInput pinInput) {
    card::SignRequest r;
    r.slot = slot;
    r.scheme = scheme;
    r.hash = hash;
    r.digest = opensslDigest(hash, message);
    r.pin = std::move(pinInput);
    return r;
}

}  // namespace tk::test
