#include "crypto/certificate.hpp"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <chrono>

#include "crypto/detail/openssl.hpp"
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
    return info;
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
