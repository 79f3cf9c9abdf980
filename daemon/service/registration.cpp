#include "service/registration.hpp"

#include "crypto/digest.hpp"
#include "crypto/ecdsa.hpp"
#include "service/base64.hpp"

namespace tk::service {

RegistrationAlgorithm registrationAlgorithm(card::KeyAlgorithm key) noexcept {
    switch (key) {
        case card::KeyAlgorithm::EcP256:
            return {"ES256", card::HashAlgorithm::Sha256, card::SignatureScheme::Ecdsa};
        case card::KeyAlgorithm::EcP384:
            return {"ES384", card::HashAlgorithm::Sha384, card::SignatureScheme::Ecdsa};
        case card::KeyAlgorithm::Rsa2048:
        case card::KeyAlgorithm::Rsa3072:
        case card::KeyAlgorithm::Rsa4096:
            break;
    }
    return {"RS256", card::HashAlgorithm::Sha256, card::SignatureScheme::RsaPkcs1v15};
}

namespace {

card::ByteView bytesOf(std::string_view text) {
    return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

}  // namespace

card::Bytes registrationMessage(card::HashAlgorithm hash, std::string_view origin,
                                std::string_view challenge) {
    card::Bytes message = crypto::digest(hash, bytesOf(origin));
    const card::Bytes challengeHash = crypto::digest(hash, bytesOf(challenge));
    message.insert(message.end(), challengeHash.begin(), challengeHash.end());
    return message;
}

card::Bytes registrationDigest(card::HashAlgorithm hash, std::string_view origin,
                               std::string_view challenge) {
    return crypto::digest(hash, registrationMessage(hash, origin, challenge));
}

std::string registrationAppVersion(std::string_view version) {
    return "urn:tenderkey:" + std::string(version);
}

nlohmann::json registrationResult(const RegistrationToken& token) {
    const RegistrationAlgorithm algorithm = registrationAlgorithm(token.key);
    const card::Bytes signature =
        algorithm.scheme == card::SignatureScheme::Ecdsa
            ? crypto::ecdsaDerToP1363(token.signature, card::keySizeBytes(token.key))
            : card::Bytes(token.signature.begin(), token.signature.end());
    nlohmann::json certificates = nlohmann::json::array();
    for (const card::ByteView der : token.certificates) {
        certificates.push_back(encodeBase64(der));
    }
    nlohmann::json chain = nlohmann::json::array();
    for (const card::ByteView der : token.chain) {
        chain.push_back(encodeBase64(der));
    }
    return {{"unverifiedCertificate", encodeBase64(token.certificate)},
            {"algorithm", algorithm.name},
            {"signature", encodeBase64(signature)},
            {"format", "web-eid:1.0"},
            {"appVersion", registrationAppVersion(token.version)},
            {"certificates", std::move(certificates)},
            {"chain", std::move(chain)}};
}

}  // namespace tk::service
