#include "card/algorithms.hpp"

namespace tk::card {

std::string_view keyAlgorithmName(KeyAlgorithm algorithm) noexcept {
    switch (algorithm) {
        case KeyAlgorithm::Rsa2048:
            return "RSA-2048";
        case KeyAlgorithm::Rsa3072:
            return "RSA-3072";
        case KeyAlgorithm::Rsa4096:
            return "RSA-4096";
        case KeyAlgorithm::EcP256:
            return "EC-P256";
        case KeyAlgorithm::EcP384:
            return "EC-P384";
    }
    return "";
}

bool isRsa(KeyAlgorithm algorithm) noexcept {
    return algorithm == KeyAlgorithm::Rsa2048 || algorithm == KeyAlgorithm::Rsa3072 ||
           algorithm == KeyAlgorithm::Rsa4096;
}

std::size_t keySizeBytes(KeyAlgorithm algorithm) noexcept {
    switch (algorithm) {
        case KeyAlgorithm::Rsa2048:
            return 256;
        case KeyAlgorithm::Rsa3072:
            return 384;
        case KeyAlgorithm::Rsa4096:
            return 512;
        case KeyAlgorithm::EcP256:
            return 32;
        case KeyAlgorithm::EcP384:
            return 48;
    }
    return 0;
}

std::string_view hashAlgorithmName(HashAlgorithm hash) noexcept {
    switch (hash) {
        case HashAlgorithm::Sha256:
            return "SHA-256";
        case HashAlgorithm::Sha384:
            return "SHA-384";
        case HashAlgorithm::Sha512:
            return "SHA-512";
        case HashAlgorithm::Sha1:
            return "SHA-1";
    }
    return "";
}

std::optional<HashAlgorithm> hashAlgorithmFromName(std::string_view name) noexcept {
    for (const HashAlgorithm h :
         {HashAlgorithm::Sha256, HashAlgorithm::Sha384, HashAlgorithm::Sha512}) {
        if (hashAlgorithmName(h) == name) {
            return h;
        }
    }
    return std::nullopt;
}

std::size_t digestSize(HashAlgorithm hash) noexcept {
    switch (hash) {
        case HashAlgorithm::Sha256:
            return 32;
        case HashAlgorithm::Sha384:
            return 48;
        case HashAlgorithm::Sha512:
            return 64;
        case HashAlgorithm::Sha1:
            return 20;
    }
    return 0;
}

std::string_view signatureSchemeName(SignatureScheme scheme) noexcept {
    switch (scheme) {
        case SignatureScheme::RsaPkcs1v15:
            return "RSASSA-PKCS1-v1_5";
        case SignatureScheme::RsaPss:
            return "RSA-PSS";
        case SignatureScheme::Ecdsa:
            return "ECDSA";
    }
    return "";
}

}  // namespace tk::card
