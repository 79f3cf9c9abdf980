#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "card/algorithms.hpp"
#include "card/bytes.hpp"

namespace tk::crypto {

// What the daemon tells clients about an X.509 certificate.
struct CertificateInfo {
    std::string subject;  // RFC 4514, UTF-8 (non-ASCII characters are not escaped)
    std::string issuer;
    std::string subjectCommonName;  // empty when the subject has no CN
    std::string serialNumber;       // lowercase hex of the serial's bytes, "-" for a negative one
    std::time_t notBefore = 0;
    std::time_t notAfter = 0;
    std::optional<card::KeyAlgorithm> keyAlgorithm;  // nullopt: a key type we do not support
    bool hasKeyUsage = false;
    // RFC 5280 names of the key usage bits set, in bit order: digitalSignature,
    // nonRepudiation, keyEncipherment, dataEncipherment, keyAgreement, keyCertSign, cRLSign,
    // encipherOnly, decipherOnly.
    std::vector<std::string> keyUsage;
    bool hasExtendedKeyUsage = false;
    bool clientAuth = false;            // the extended key usage lists id-kp-clientAuth
    bool certificateAuthority = false;  // basicConstraints with cA TRUE
};

// Parses one DER certificate (exactly, no trailing bytes). Throws crypto::Error.
CertificateInfo parseCertificate(card::ByteView der);

// "2030-01-31T23:59:59Z".
std::string formatRfc3339(std::time_t t);

}  // namespace tk::crypto
