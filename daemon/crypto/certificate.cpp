#include "crypto/certificate.hpp"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <memory>

#include "crypto/detail/openssl.hpp"
#include "crypto/digest.hpp"
#include "crypto/errors.hpp"
#include "crypto/public_key.hpp"

namespace tk::crypto {

using detail::openSslMessage;

namespace {

std::string nameToString(const X509_NAME* name) {
    detail::BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio) {
        throw Error(openSslMessage("BIO allocation failed"));
    }
    // RFC 2253 printing escapes bytes above 0x7F unless ESC_MSB is dropped; without it the
    // UTF-8 (converted from BMPString etc. by UTF8_CONVERT) comes out as is.
    const unsigned long flags = XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB;
    if (X509_NAME_print_ex(bio.get(), name, 0, flags) < 0) {
        throw Error(openSslMessage("name printing failed"));
    }
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio.get(), &data);
    return length > 0 ? std::string(data, static_cast<std::size_t>(length)) : std::string();
}

std::string commonName(const X509_NAME* name) {
    const int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (index < 0) {
        return {};
    }
    const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
    unsigned char* utf8 = nullptr;
    const int length = ASN1_STRING_to_UTF8(&utf8, value);
    if (length < 0) {
        ERR_clear_error();
        return {};
    }
    std::string out(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(length));
    OPENSSL_free(utf8);
    return out;
}

std::string serialToHex(const ASN1_INTEGER* serial) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    if (ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER) {
        out.push_back('-');
    }
    const unsigned char* bytes = ASN1_STRING_get0_data(serial);
    const int length = ASN1_STRING_length(serial);
    if (length == 0) {
        return out + "00";
    }
    for (int i = 0; i < length; ++i) {
        out.push_back(kDigits[bytes[i] >> 4]);
        out.push_back(kDigits[bytes[i] & 0x0F]);
    }
    return out;
}

template <class T, void (*Free)(T*)>
struct OpenSslFree {
    void operator()(T* p) const noexcept { Free(p); }
};

void freeTypeStack(STACK_OF(ASN1_TYPE) * stack) {
    sk_ASN1_TYPE_pop_free(stack, ASN1_TYPE_free);
}
void freePolicies(CERTIFICATEPOLICIES* policies) {
    CERTIFICATEPOLICIES_free(policies);
}
void freeKeyUsages(EXTENDED_KEY_USAGE* usages) {
    EXTENDED_KEY_USAGE_free(usages);
}

using TypeStackPtr =
    std::unique_ptr<STACK_OF(ASN1_TYPE), OpenSslFree<STACK_OF(ASN1_TYPE), freeTypeStack>>;
using AttributePtr =
    std::unique_ptr<X509_ATTRIBUTE, OpenSslFree<X509_ATTRIBUTE, X509_ATTRIBUTE_free>>;
using PoliciesPtr =
    std::unique_ptr<CERTIFICATEPOLICIES, OpenSslFree<CERTIFICATEPOLICIES, freePolicies>>;
using KeyUsagesPtr =
    std::unique_ptr<EXTENDED_KEY_USAGE, OpenSslFree<EXTENDED_KEY_USAGE, freeKeyUsages>>;

// Dotted form of an OID, whatever OpenSSL knows about it.
std::string dottedOid(const ASN1_OBJECT* object) {
    const int length = OBJ_obj2txt(nullptr, 0, object, 1);
    if (length <= 0) {
        throw Error(openSslMessage("OID unprintable"));
    }
    std::string text(static_cast<std::size_t>(length) + 1, '\0');
    OBJ_obj2txt(text.data(), length + 1, object, 1);
    text.resize(static_cast<std::size_t>(length));
    return text;
}

// OpenSSL's short name for a name attribute type (C, O, OU, CN, serialNumber...), else dotted.
std::string attributeTypeName(const ASN1_OBJECT* object) {
    const int nid = OBJ_obj2nid(object);
    if (nid != NID_undef) {
        if (const char* sn = OBJ_nid2sn(nid); sn != nullptr) {
            return sn;
        }
    }
    return dottedOid(object);
}

std::string stringToUtf8(const ASN1_STRING* value) {
    unsigned char* utf8 = nullptr;
    const int length = ASN1_STRING_to_UTF8(&utf8, value);
    if (length < 0) {
        throw Error(openSslMessage("attribute value is not a readable string"));
    }
    std::string out(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(length));
    OPENSSL_free(utf8);
    return out;
}

std::string hexOf(const unsigned char* bytes, std::size_t length) {
    return card::toHex(card::ByteView(bytes, length));
}

// The text of one attribute value (see NameAttribute).
std::string typeToText(const ASN1_TYPE* value) {
    switch (ASN1_TYPE_get(value)) {
        case V_ASN1_OBJECT:
            return dottedOid(value->value.object);
        case V_ASN1_BOOLEAN:
            return value->value.boolean != 0 ? "true" : "false";
        case V_ASN1_INTEGER:
        case V_ASN1_ENUMERATED: {
            detail::BignumPtr number(ASN1_INTEGER_to_BN(value->value.integer, nullptr));
            char* decimal = number ? BN_bn2dec(number.get()) : nullptr;
            if (decimal == nullptr) {
                throw Error(openSslMessage("integer attribute unreadable"));
            }
            std::string out(decimal);
            OPENSSL_free(decimal);
            return out;
        }
        case V_ASN1_UTF8STRING:
        case V_ASN1_PRINTABLESTRING:
        case V_ASN1_IA5STRING:
        case V_ASN1_T61STRING:
        case V_ASN1_BMPSTRING:
        case V_ASN1_UNIVERSALSTRING:
        case V_ASN1_VISIBLESTRING:
        case V_ASN1_NUMERICSTRING:
            return stringToUtf8(value->value.asn1_string);
        default: {
            unsigned char* der = nullptr;
            const int length = i2d_ASN1_TYPE(value, &der);
            if (length < 0) {
                throw Error(openSslMessage("attribute value unencodable"));
            }
            std::string out = hexOf(der, static_cast<std::size_t>(length));
            OPENSSL_free(der);
            return out;
        }
    }
}

std::vector<NameAttribute> nameAttributes(const X509_NAME* name) {
    std::vector<NameAttribute> out;
    const int count = X509_NAME_entry_count(name);
    for (int i = 0; i < count; ++i) {
        const X509_NAME_ENTRY* entry = X509_NAME_get_entry(name, i);
        const ASN1_STRING* data = X509_NAME_ENTRY_get_data(entry);
        std::string value;
        try {
            value = stringToUtf8(data);
        } catch (const Error&) {
            // Not a string type: "#" and the hex of its contents, as RFC 4514 prints them.
            ERR_clear_error();
            value = "#" + hexOf(ASN1_STRING_get0_data(data),
                                static_cast<std::size_t>(ASN1_STRING_length(data)));
        }
        out.push_back({attributeTypeName(X509_NAME_ENTRY_get_object(entry)), std::move(value)});
    }
    return out;
}

// subjectDirectoryAttributes ::= SEQUENCE SIZE (1..MAX) OF Attribute (RFC 5280 4.2.1.8). The
// outer SEQUENCE is split by OpenSSL's generic SEQUENCE OF ANY; each element is decoded as an
// X509_ATTRIBUTE (type, SET OF values).
std::vector<NameAttribute> directoryAttributes(X509* x) {
    std::vector<NameAttribute> out;
    const int index = X509_get_ext_by_NID(x, NID_subject_directory_attributes, -1);
    if (index < 0) {
        return out;
    }
    const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(X509_get_ext(x, index));
    const unsigned char* p = ASN1_STRING_get0_data(data);
    const long length = ASN1_STRING_length(data);
    TypeStackPtr sequence(d2i_ASN1_SEQUENCE_ANY(nullptr, &p, length));
    if (!sequence || p != ASN1_STRING_get0_data(data) + length) {
        throw Error(openSslMessage("subjectDirectoryAttributes does not decode"));
    }
    for (int i = 0; i < sk_ASN1_TYPE_num(sequence.get()); ++i) {
        const ASN1_TYPE* element = sk_ASN1_TYPE_value(sequence.get(), i);
        if (ASN1_TYPE_get(element) != V_ASN1_SEQUENCE) {
            throw Error("subjectDirectoryAttributes holds something other than an Attribute");
        }
        const ASN1_STRING* encoded = element->value.sequence;
        const unsigned char* q = ASN1_STRING_get0_data(encoded);
        AttributePtr attribute(d2i_X509_ATTRIBUTE(nullptr, &q, ASN1_STRING_length(encoded)));
        if (!attribute) {
            throw Error(openSslMessage("subjectDirectoryAttributes Attribute does not decode"));
        }
        const std::string type = dottedOid(X509_ATTRIBUTE_get0_object(attribute.get()));
        for (int v = 0; v < X509_ATTRIBUTE_count(attribute.get()); ++v) {
            out.push_back({type, typeToText(X509_ATTRIBUTE_get0_type(attribute.get(), v))});
        }
    }
    return out;
}

std::vector<std::string> policyOids(X509* x) {
    std::vector<std::string> out;
    int critical = 0;
    PoliciesPtr policies(static_cast<CERTIFICATEPOLICIES*>(
        X509_get_ext_d2i(x, NID_certificate_policies, &critical, nullptr)));
    if (!policies) {
        return out;
    }
    for (int i = 0; i < sk_POLICYINFO_num(policies.get()); ++i) {
        out.push_back(dottedOid(sk_POLICYINFO_value(policies.get(), i)->policyid));
    }
    return out;
}

std::vector<std::string> extendedKeyUsages(X509* x) {
    static constexpr std::array<std::pair<int, const char*>, 7> kNames{{
        {NID_server_auth, "serverAuth"},
        {NID_client_auth, "clientAuth"},
        {NID_code_sign, "codeSigning"},
        {NID_email_protect, "emailProtection"},
        {NID_time_stamp, "timeStamping"},
        {NID_OCSP_sign, "OCSPSigning"},
        {NID_anyExtendedKeyUsage, "anyExtendedKeyUsage"},
    }};
    std::vector<std::string> out;
    int critical = 0;
    KeyUsagesPtr usages(static_cast<EXTENDED_KEY_USAGE*>(
        X509_get_ext_d2i(x, NID_ext_key_usage, &critical, nullptr)));
    if (!usages) {
        return out;
    }
    for (int i = 0; i < sk_ASN1_OBJECT_num(usages.get()); ++i) {
        const ASN1_OBJECT* object = sk_ASN1_OBJECT_value(usages.get(), i);
        const int nid = OBJ_obj2nid(object);
        const auto known = std::find_if(kNames.begin(), kNames.end(),
                                        [nid](const auto& entry) { return entry.first == nid; });
        out.push_back(known != kNames.end() ? std::string(known->second) : dottedOid(object));
    }
    return out;
}

const std::string* firstValue(const std::vector<NameAttribute>& attributes, std::string_view type) {
    for (const NameAttribute& attribute : attributes) {
        if (attribute.type == type) {
            return &attribute.value;
        }
    }
    return nullptr;
}

bool startsWith(std::string_view text, std::string_view prefix) {
    return text.substr(0, prefix.size()) == prefix;
}

std::optional<SubjectType> gpkiSubjectType(const std::vector<NameAttribute>& directory) {
    const std::string* oid = firstValue(directory, kGpkiSubjectTypeOid);
    if (oid == nullptr) {
        return std::nullopt;
    }
    const std::string_view value = *oid;
    constexpr std::string_view kBase = "2.16.886.1.100.3.";
    if (!startsWith(value, kBase)) {
        return SubjectType::Other;
    }
    const std::string_view rest = value.substr(kBase.size());
    const auto under = [rest](std::string_view arc) {
        return rest == arc || startsWith(rest, std::string(arc) + ".");
    };
    if (under("2.2.1")) {
        return SubjectType::Company;
    }
    if (under("2.2")) {
        return SubjectType::Organisation;
    }
    if (under("2.1.1")) {
        return SubjectType::Agency;
    }
    if (under("2.1.2")) {
        return SubjectType::Unit;
    }
    if (under("1")) {
        return SubjectType::Person;
    }
    return SubjectType::Other;
}

// The card-type attribute: BOOLEAN as is; INTEGER (or its decimal text in a string) 1 is the
// primary card (正卡), any other number a secondary card (附卡). Anything else says nothing.
std::optional<bool> gpkiPrimaryCard(const std::vector<NameAttribute>& directory) {
    const std::string* value = firstValue(directory, kGpkiCardTypeOid);
    if (value == nullptr) {
        return std::nullopt;
    }
    if (*value == "true" || *value == "false") {
        return *value == "true";
    }
    if (!value->empty() && value->size() <= 9 &&
        std::all_of(value->begin(), value->end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return std::stoi(*value) == 1;
    }
    return std::nullopt;
}

bool isUniformBusinessNumber(const std::string& text) {
    return text.size() == 8 &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<OrganizationId> gpkiOrganizationId(const std::vector<NameAttribute>& subject,
                                                 const std::vector<NameAttribute>& directory) {
    const std::string* fromExtension = firstValue(directory, kGpkiOrganizationIdOid);
    const std::string* serial = firstValue(subject, "serialNumber");
    // A citizen certificate's serialNumber (16 characters) is no business number.
    const std::string* fromSubject =
        serial != nullptr && isUniformBusinessNumber(*serial) ? serial : nullptr;
    if (fromExtension == nullptr && fromSubject == nullptr) {
        return std::nullopt;
    }
    OrganizationId id;
    if (fromExtension != nullptr) {
        id.extensionValue = *fromExtension;
    }
    if (fromSubject != nullptr) {
        id.subjectValue = *fromSubject;
    }
    id.value = fromExtension != nullptr ? *fromExtension : *fromSubject;
    id.source = fromExtension == nullptr ? OrganizationIdSource::Subject
                : fromSubject == nullptr ? OrganizationIdSource::Extension
                                         : OrganizationIdSource::Both;
    id.mismatch =
        fromExtension != nullptr && fromSubject != nullptr && *fromExtension != *fromSubject;
    return id;
}

std::time_t toTime(const ASN1_TIME* t) {
    std::tm tm{};
    if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
        throw Error(openSslMessage("certificate validity time unreadable"));
    }
    // UTC calendar time to seconds since the epoch (timegm, which Windows lacks).
    using namespace std::chrono;
    const sys_days date = year{tm.tm_year + 1900} / month{static_cast<unsigned>(tm.tm_mon + 1)} /
                          day{static_cast<unsigned>(tm.tm_mday)};
    return system_clock::to_time_t(date + hours{tm.tm_hour} + minutes{tm.tm_min} +
                                   seconds{tm.tm_sec});
}

}  // namespace

CertificateInfo parseCertificate(card::ByteView der) {
    const unsigned char* p = der.data();
    detail::X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    if (!cert) {
        throw Error(openSslMessage("not a DER certificate"));
    }
    if (p != der.data() + der.size()) {
        throw Error("trailing bytes after the certificate");
    }
    X509* x = cert.get();
    CertificateInfo info;
    info.subject = nameToString(X509_get_subject_name(x));
    info.issuer = nameToString(X509_get_issuer_name(x));
    info.subjectCommonName = commonName(X509_get_subject_name(x));
    info.serialNumber = serialToHex(X509_get0_serialNumber(x));
    info.notBefore = toTime(X509_get0_notBefore(x));
    info.notAfter = toTime(X509_get0_notAfter(x));
    info.keyAlgorithm = PublicKey::fromCertificate(der).algorithm();

    // The getters below fill OpenSSL's extension cache; EXFLAG_INVALID marks extensions that
    // did not decode.
    const std::uint32_t flags = X509_get_extension_flags(x);
    if ((flags & EXFLAG_INVALID) != 0) {
        throw Error("certificate extensions do not decode");
    }
    info.hasKeyUsage = (flags & EXFLAG_KUSAGE) != 0;
    if (info.hasKeyUsage) {
        const std::uint32_t ku = X509_get_key_usage(x);
        static constexpr std::pair<std::uint32_t, const char*> kBits[] = {
            {KU_DIGITAL_SIGNATURE, "digitalSignature"},
            {KU_NON_REPUDIATION, "nonRepudiation"},
            {KU_KEY_ENCIPHERMENT, "keyEncipherment"},
            {KU_DATA_ENCIPHERMENT, "dataEncipherment"},
            {KU_KEY_AGREEMENT, "keyAgreement"},
            {KU_KEY_CERT_SIGN, "keyCertSign"},
            {KU_CRL_SIGN, "cRLSign"},
            {KU_ENCIPHER_ONLY, "encipherOnly"},
            {KU_DECIPHER_ONLY, "decipherOnly"},
        };
        for (const auto& [bit, name] : kBits) {
            if ((ku & bit) != 0) {
                info.keyUsage.emplace_back(name);
            }
        }
    }
    info.hasExtendedKeyUsage = (flags & EXFLAG_XKUSAGE) != 0;
    info.clientAuth = info.hasExtendedKeyUsage && (X509_get_extended_key_usage(x) & XKU_SSL_CLIENT);
    info.certificateAuthority = (flags & EXFLAG_CA) != 0;

    info.subjectAttributes = nameAttributes(X509_get_subject_name(x));
    info.issuerAttributes = nameAttributes(X509_get_issuer_name(x));
    // An extension this daemon only reads for information does not make the certificate
    // unusable: one that does not decode reads as absent.
    try {
        info.directoryAttributes = directoryAttributes(x);
    } catch (const Error&) {
        ERR_clear_error();
        info.directoryAttributes.clear();
    }
    info.policies = policyOids(x);
    info.extendedKeyUsage = extendedKeyUsages(x);
    info.fingerprintSha256 = card::toHex(digest(card::HashAlgorithm::Sha256, der));
    info.organizationId = gpkiOrganizationId(info.subjectAttributes, info.directoryAttributes);
    info.subjectType = gpkiSubjectType(info.directoryAttributes);
    info.primaryCard = gpkiPrimaryCard(info.directoryAttributes);
    return info;
}

const char* subjectTypeName(SubjectType type) {
    switch (type) {
        case SubjectType::Company:
            return "company";
        case SubjectType::Organisation:
            return "organisation";
        case SubjectType::Agency:
            return "agency";
        case SubjectType::Unit:
            return "unit";
        case SubjectType::Person:
            return "person";
        case SubjectType::Other:
            return "other";
    }
    return "other";
}

const char* organizationIdSourceName(OrganizationIdSource source) {
    switch (source) {
        case OrganizationIdSource::Extension:
            return "extension";
        case OrganizationIdSource::Subject:
            return "subject";
        case OrganizationIdSource::Both:
            return "both";
    }
    return "extension";
}

std::string formatRfc3339(std::time_t t) {
    std::tm tm{};
    if (OPENSSL_gmtime(&t, &tm) == nullptr) {
        throw Error("time outside the calendar");
    }
    char buf[32];
    const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::string(buf, n);
}

}  // namespace tk::crypto
