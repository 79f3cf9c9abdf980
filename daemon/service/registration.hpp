#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "card/algorithms.hpp"
#include "card/bytes.hpp"

namespace tk::service {

// The `register` result: a Web eID authentication token (format web-eid:1.0) plus every
// certificate on the card (PROTOCOL.md §4 `register`).

// The token algorithm that goes with a key: RS256 for RSA keys, ES256 for EC P-256, ES384 for
// EC P-384. `hash` is the algorithm's H, `scheme` what the card is asked to do.
struct RegistrationAlgorithm {
    std::string_view name;
    card::HashAlgorithm hash = card::HashAlgorithm::Sha256;
    card::SignatureScheme scheme = card::SignatureScheme::RsaPkcs1v15;
};

RegistrationAlgorithm registrationAlgorithm(card::KeyAlgorithm key) noexcept;

// The signed message H(origin) || H(challenge): `origin` is the ASCII serialisation of the
// handshake origin, `challenge` the portal's nonce, each taken as its bytes.
card::Bytes registrationMessage(card::HashAlgorithm hash, std::string_view origin,
                                std::string_view challenge);

// What the card signs: H(H(origin) || H(challenge)).
card::Bytes registrationDigest(card::HashAlgorithm hash, std::string_view origin,
                               std::string_view challenge);

// "urn:tenderkey:x.y.z" for the daemon version x.y.z.
std::string registrationAppVersion(std::string_view version);

struct RegistrationToken {
    card::KeyAlgorithm key = card::KeyAlgorithm::Rsa2048;
    card::ByteView signature;  // as the card returned it: DER Ecdsa-Sig-Value for EC keys
    card::ByteView certificate;
    std::vector<card::ByteView> certificates;  // the card's key certificates, in slot order
    std::string_view version;                  // the daemon's x.y.z
    // The CA certificates the card carries (certificates.list caCertificates), for a portal
    // whose trust store holds only the root: the `chain` member.
    std::vector<card::ByteView> chain;
};

// The result object; ECDSA signatures become r || s, each half padded to the field length.
nlohmann::json registrationResult(const RegistrationToken& token);

}  // namespace tk::service
