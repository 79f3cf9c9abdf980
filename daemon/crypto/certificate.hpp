#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "card/algorithms.hpp"
#include "card/bytes.hpp"

namespace tk::crypto {

// One attribute of a name or of the subjectDirectoryAttributes extension. `type` is OpenSSL's
// short name where it has one (C, O, OU, CN, serialNumber, ...), else the dotted OID; `value`
// is UTF-8 text (strings converted, OIDs dotted, integers in decimal, booleans true/false,
// other types as lowercase hex of their DER).
struct NameAttribute {
    std::string type;
    std::string value;

    bool operator==(const NameAttribute&) const = default;
};

// Taiwan GPKI (government root "Government Root Certification Authority") attribute types in
// subjectDirectoryAttributes.
inline constexpr const char* kGpkiSubjectTypeOid = "2.16.886.1.100.2.1";
inline constexpr const char* kGpkiCardTypeOid = "2.16.886.1.100.2.2";
inline constexpr const char* kGpkiOrganizationIdOid = "2.16.886.1.100.2.101";

// Where the organisation's Uniform Business Number (統一編號) was found: the GPKI attribute
// 2.16.886.1.100.2.101 in subjectDirectoryAttributes, the subject's serialNumber (when it is
// 8 digits), or both. Issuers differ in which they fill; when both are present and differ,
// `mismatch` is set and `value` is the extension's (the CA's dedicated field).
enum class OrganizationIdSource { Extension, Subject, Both };

struct OrganizationId {
    std::string value;
    OrganizationIdSource source = OrganizationIdSource::Extension;
    bool mismatch = false;
    std::optional<std::string> extensionValue;
    std::optional<std::string> subjectValue;
};

// The GPKI subject type (attribute 2.16.886.1.100.2.1, an OID under 2.16.886.1.100.3):
//   3.2.2.1.*  company (工商憑證: companies and firms)
//   3.2.2.*    organisation (other non-government organisations, XCA)
//   3.2.1.1    agency (government agency, GCA)
//   3.2.1.2    unit (government unit, GCA)
//   3.1.*      person (natural person, MOICA)
//   anything else, including other 3.2.1.* values: other.
enum class SubjectType { Company, Organisation, Agency, Unit, Person, Other };

// "company", "organisation", "agency", "unit", "person", "other".
const char* subjectTypeName(SubjectType type);
// "extension", "subject", "both".
const char* organizationIdSourceName(OrganizationIdSource source);

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

    // The facts below serve portals that identify the holder (Taiwan's GPKI cards first).

    // The attributes of the subject and issuer names in DER order (RDN by RDN, a multi-valued
    // RDN's attributes in their order), values in UTF-8.
    std::vector<NameAttribute> subjectAttributes;
    std::vector<NameAttribute> issuerAttributes;
    // The subjectDirectoryAttributes extension (2.5.29.9): one entry per attribute value, in
    // order, the type always as a dotted OID.
    std::vector<NameAttribute> directoryAttributes;
    std::vector<std::string> policies;          // certificatePolicies OIDs, in order
    std::vector<std::string> extendedKeyUsage;  // RFC 5280 names where known, else dotted OIDs
    std::string fingerprintSha256;              // lowercase hex SHA-256 of the DER

    std::optional<OrganizationId> organizationId;  // 統一編號
    std::optional<SubjectType> subjectType;        // nullopt: the certificate does not say
    std::optional<bool> primaryCard;               // nullopt: the certificate does not say
};

// Parses one DER certificate (exactly, no trailing bytes). Throws crypto::Error.
CertificateInfo parseCertificate(card::ByteView der);

// "2030-01-31T23:59:59Z".
std::string formatRfc3339(std::time_t t);

}  // namespace tk::crypto
