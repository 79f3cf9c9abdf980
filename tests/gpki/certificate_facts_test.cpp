// The certificate facts of Taiwan's GPKI card profiles (the test PKI of make-gpki-pki.sh),
// parsed by crypto::parseCertificate and shown in the certificates.list Certificate object.
// Every expected value is the one the script wrote; the fingerprint is recomputed by OpenSSL.

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>

#include "cli/output.hpp"
#include "crypto/certificate.hpp"
#include "service/card_info.hpp"
#include "support/gpki.hpp"

namespace tk::test {
namespace {

using crypto::CertificateInfo;
using crypto::NameAttribute;
using crypto::OrganizationIdSource;
using crypto::SubjectType;
using nlohmann::json;

CertificateInfo parsed(const std::string& name) {
    return crypto::parseCertificate(gpkiDer(name));
}

TEST(GpkiCertificate, CompanySigning_AllFacts) {
    const CertificateInfo info = parsed("company-sign");
    EXPECT_EQ(info.subjectAttributes,
              (std::vector<NameAttribute>{
                  {"C", "TW"}, {"O", "測試科技股份有限公司"}, {"serialNumber", "12345678"}}));
    EXPECT_EQ(
        info.issuerAttributes,
        (std::vector<NameAttribute>{{"C", "TW"}, {"O", "行政院"}, {"OU", "工商憑證管理中心測試"}}));
    ASSERT_TRUE(info.organizationId.has_value());
    EXPECT_EQ(info.organizationId->value, "12345678");
    EXPECT_EQ(info.organizationId->source, OrganizationIdSource::Both);
    EXPECT_FALSE(info.organizationId->mismatch);
    EXPECT_EQ(info.subjectType, SubjectType::Company);
    EXPECT_EQ(info.primaryCard, true);
    EXPECT_EQ(info.policies, std::vector<std::string>{"2.16.886.101.0.3.3"});
    EXPECT_TRUE(info.extendedKeyUsage.empty());
    EXPECT_EQ(info.keyUsage, std::vector<std::string>{"digitalSignature"});
    EXPECT_EQ(info.directoryAttributes,
              (std::vector<NameAttribute>{{"2.16.886.1.100.2.1", "2.16.886.1.100.3.2.2.1.1"},
                                          {"2.16.886.1.100.2.2", "1"},
                                          {"2.16.886.1.100.2.101", "12345678"}}));
}

TEST(GpkiCertificate, CompanyEncryption_KeyEnciphermentAndSameFacts) {
    const CertificateInfo info = parsed("company-keyx");
    EXPECT_EQ(info.keyUsage, (std::vector<std::string>{"keyEncipherment", "dataEncipherment"}));
    ASSERT_TRUE(info.organizationId.has_value());
    EXPECT_EQ(info.organizationId->value, "12345678");
    EXPECT_EQ(info.subjectType, SubjectType::Company);
}

TEST(GpkiCertificate, OrganisationId_FromExtensionOnly) {
    for (const char* name : {"organisation-sign", "organisation-keyx"}) {
        const CertificateInfo info = parsed(name);
        ASSERT_TRUE(info.organizationId.has_value()) << name;
        EXPECT_EQ(info.organizationId->value, "87654321");
        EXPECT_EQ(info.organizationId->source, OrganizationIdSource::Extension);
        EXPECT_EQ(info.organizationId->extensionValue, "87654321");
        EXPECT_EQ(info.organizationId->subjectValue, std::nullopt);
        EXPECT_FALSE(info.organizationId->mismatch);
        EXPECT_EQ(info.subjectType, SubjectType::Organisation);
        EXPECT_EQ(info.primaryCard, false);  // a secondary card (附卡)
        EXPECT_EQ(info.subjectAttributes,
                  (std::vector<NameAttribute>{{"C", "TW"}, {"O", "財團法人測試文教基金會"}}));
        EXPECT_EQ(info.issuerAttributes[2], (NameAttribute{"OU", "組織及團體憑證管理中心測試"}));
    }
}

TEST(GpkiCertificate, AgencyId_FromSubjectOnly) {
    const CertificateInfo info = parsed("agency-sign");
    ASSERT_TRUE(info.organizationId.has_value());
    EXPECT_EQ(info.organizationId->value, "23456789");
    EXPECT_EQ(info.organizationId->source, OrganizationIdSource::Subject);
    EXPECT_EQ(info.organizationId->extensionValue, std::nullopt);
    EXPECT_EQ(info.organizationId->subjectValue, "23456789");
    EXPECT_FALSE(info.organizationId->mismatch);
    EXPECT_EQ(info.subjectType, SubjectType::Agency);
    EXPECT_EQ(info.primaryCard, true);
    EXPECT_EQ(info.subjectAttributes, (std::vector<NameAttribute>{{"C", "TW"},
                                                                  {"O", "行政院"},
                                                                  {"OU", "公共工程委員會測試"},
                                                                  {"serialNumber", "23456789"}}));
    EXPECT_EQ(info.issuerAttributes[2], (NameAttribute{"OU", "政府憑證管理中心測試"}));
}

TEST(GpkiCertificate, BusinessNumberDiffers_FlaggedAsMismatch) {
    const CertificateInfo info = parsed("mismatch-sign");
    ASSERT_TRUE(info.organizationId.has_value());
    EXPECT_EQ(info.organizationId->source, OrganizationIdSource::Both);
    EXPECT_TRUE(info.organizationId->mismatch);
    EXPECT_EQ(info.organizationId->value, "12345679");  // the extension's
    EXPECT_EQ(info.organizationId->extensionValue, "12345679");
    EXPECT_EQ(info.organizationId->subjectValue, "12345678");
}

TEST(GpkiCertificate, Citizen_PersonWithoutBusinessNumber) {
    const CertificateInfo info = parsed("citizen-sign");
    // The 16-character serialNumber of a citizen certificate is no business number.
    EXPECT_FALSE(info.organizationId.has_value());
    EXPECT_EQ(info.subjectType, SubjectType::Person);
    EXPECT_EQ(info.primaryCard, std::nullopt);
    EXPECT_EQ(info.subjectCommonName, "王小明測試");
    EXPECT_EQ(info.subjectAttributes,
              (std::vector<NameAttribute>{
                  {"C", "TW"}, {"CN", "王小明測試"}, {"serialNumber", "0000000012346789"}}));
    EXPECT_EQ(info.policies,
              (std::vector<std::string>{"2.16.886.101.0.3.1", "2.16.886.101.0.3.3"}));
    EXPECT_EQ(info.extendedKeyUsage,
              (std::vector<std::string>{"emailProtection", "1.3.6.1.4.1.311.10.3.12"}));
    EXPECT_EQ(info.directoryAttributes[1], (NameAttribute{"2.16.886.1.100.2.51", "6789"}));
    EXPECT_EQ(info.issuerAttributes[2], (NameAttribute{"OU", "內政部憑證管理中心測試"}));
}

TEST(GpkiCertificate, SubjectTypePerOid) {
    EXPECT_EQ(parsed("company-sign").subjectType, SubjectType::Company);
    EXPECT_EQ(parsed("organisation-sign").subjectType, SubjectType::Organisation);
    EXPECT_EQ(parsed("agency-sign").subjectType, SubjectType::Agency);
    EXPECT_EQ(parsed("unit-sign").subjectType, SubjectType::Unit);
    EXPECT_EQ(parsed("citizen-sign").subjectType, SubjectType::Person);
    EXPECT_EQ(parsed("other-sign").subjectType, SubjectType::Other);
    // No subjectDirectoryAttributes: the certificate says nothing.
    EXPECT_EQ(parsed("root").subjectType, std::nullopt);
    EXPECT_EQ(parsed("root").primaryCard, std::nullopt);
    EXPECT_FALSE(parsed("root").organizationId.has_value());
}

TEST(GpkiCertificate, RootAndIssuingCaNames_Utf8InOrder) {
    const CertificateInfo root = parsed("root");
    EXPECT_EQ(
        root.subjectAttributes,
        (std::vector<NameAttribute>{{"C", "TW"},
                                    {"O", "行政院"},
                                    {"CN", "Government Root Certification Authority - G3 測試"}}));
    EXPECT_EQ(parsed("ca-moeaca").issuerAttributes, root.subjectAttributes);
    EXPECT_EQ(parsed("ca-moeaca").subject, "OU=工商憑證管理中心測試,O=行政院,C=TW");
}

TEST(GpkiCertificate, FingerprintSha256_AsOpenSslComputesIt) {
    const card::Bytes der = gpkiDer("company-sign");
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    ASSERT_EQ(EVP_Digest(der.data(), der.size(), md, &length, EVP_sha256(), nullptr), 1);
    EXPECT_EQ(crypto::parseCertificate(der).fingerprintSha256,
              card::toHex(card::ByteView(md, length)));
    EXPECT_EQ(crypto::parseCertificate(der).fingerprintSha256.size(), 64u);
}

// A self-signed certificate made with OpenSSL's API: a subject with a BIT STRING attribute
// (no text type) and a subjectDirectoryAttributes extension holding `directoryDer`.
card::Bytes unusualCertificate(const card::Bytes& directoryDer) {
    EVP_PKEY* key = EVP_RSA_gen(2048);
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "C", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>("TW"), -1, -1, 0);
    const unsigned char raw[] = {0x01, 0xab};
    if (X509_NAME_add_entry_by_txt(name, "2.16.886.1.100.9.9", V_ASN1_BIT_STRING, raw, sizeof raw,
                                   -1, 0) != 1) {
        throw std::runtime_error("X509_NAME_add_entry_by_txt failed");
    }
    X509_set_issuer_name(x, name);
    X509_set_pubkey(x, key);
    ASN1_OCTET_STRING* data = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(data, directoryDer.data(), static_cast<int>(directoryDer.size()));
    X509_EXTENSION* extension =
        X509_EXTENSION_create_by_NID(nullptr, NID_subject_directory_attributes, 0, data);
    X509_add_ext(x, extension, -1);
    X509_sign(x, key, EVP_sha256());
    unsigned char* der = nullptr;
    const int length = i2d_X509(x, &der);
    card::Bytes out(der, der + length);
    OPENSSL_free(der);
    X509_EXTENSION_free(extension);
    ASN1_OCTET_STRING_free(data);
    X509_free(x);
    EVP_PKEY_free(key);
    return out;
}

TEST(GpkiCertificate, UndecodableDirectoryAttributes_ReadAsAbsent) {
    // A NULL where the SEQUENCE OF Attribute belongs: the certificate stays usable.
    const CertificateInfo info = crypto::parseCertificate(unusualCertificate({0x05, 0x00}));
    EXPECT_TRUE(info.directoryAttributes.empty());
    EXPECT_EQ(info.subjectType, std::nullopt);
    EXPECT_FALSE(info.organizationId.has_value());
}

TEST(GpkiCertificate, NameAttributeWithoutTextType_HashAndHex) {
    // SEQUENCE { SEQUENCE { OID 2.16.886.1.100.2.1, SET { OID 2.16.886.1.100.3.2.1.2 } } }
    const card::Bytes directory{0x30, 0x18, 0x30, 0x16, 0x06, 0x07, 0x60, 0x86, 0x76,
                                0x01, 0x64, 0x02, 0x01, 0x31, 0x0b, 0x06, 0x09, 0x60,
                                0x86, 0x76, 0x01, 0x64, 0x03, 0x02, 0x01, 0x02};
    ASSERT_EQ(directory.size(), 26u);
    const CertificateInfo info = crypto::parseCertificate(unusualCertificate(directory));
    EXPECT_EQ(info.subjectAttributes,
              (std::vector<NameAttribute>{{"C", "TW"}, {"2.16.886.1.100.9.9", "#01ab"}}));
    EXPECT_EQ(info.subjectType, SubjectType::Unit);
}

service::CardCertificate cardCertificate(const std::string& name, const std::string& slot) {
    service::CardCertificate c;
    c.entry.slot = slot;
    c.entry.label = "SIGN";
    c.entry.der = gpkiDer(name);
    c.info = crypto::parseCertificate(c.entry.der);
    c.entry.keyAlgorithm = *c.info.keyAlgorithm;
    c.entry.pinPolicy = card::PinPolicy::Once;
    return c;
}

TEST(GpkiCertificateJson, CertificatesListMembers) {
    service::CardInfo card;
    card.id = "0123456789abcdef0123";
    card.type = "pkcs11";
    const service::CardCertificate mismatch = cardCertificate("mismatch-sign", kSignId);
    const json j = service::certificateJson(card, mismatch, "reader", false, std::time(nullptr));
    EXPECT_EQ(j["subjectAttributes"], json::parse(R"([{"type":"C","value":"TW"},
        {"type":"O","value":"測試不符有限公司"},{"type":"serialNumber","value":"12345678"}])"));
    EXPECT_EQ(j["issuerAttributes"], json::parse(R"([{"type":"C","value":"TW"},
        {"type":"O","value":"行政院"},{"type":"OU","value":"工商憑證管理中心測試"}])"));
    EXPECT_EQ(j["organizationId"], json::parse(R"({"value":"12345679","source":"both",
        "mismatch":true,"extensionValue":"12345679","subjectValue":"12345678"})"));
    EXPECT_EQ(j["subjectType"], "company");
    EXPECT_EQ(j["primaryCard"], nullptr);
    EXPECT_EQ(j["policies"], json::array({"2.16.886.101.0.3.3"}));
    EXPECT_EQ(j["extendedKeyUsage"], json::array());
    EXPECT_EQ(j["fingerprintSha256"], mismatch.info.fingerprintSha256);

    const json citizen = service::certificateJson(card, cardCertificate("citizen-sign", kSignId),
                                                  "reader", false, std::time(nullptr));
    EXPECT_EQ(citizen["organizationId"], nullptr);
    EXPECT_EQ(citizen["subjectType"], "person");
    EXPECT_EQ(citizen["extendedKeyUsage"],
              json::array({"emailProtection", "1.3.6.1.4.1.311.10.3.12"}));
    const json organisation = service::certificateJson(
        card, cardCertificate("organisation-sign", kSignId), "reader", false, std::time(nullptr));
    EXPECT_EQ(organisation["organizationId"]["source"], "extension");
    EXPECT_EQ(organisation["organizationId"]["subjectValue"], nullptr);
    EXPECT_EQ(organisation["primaryCard"], false);
    EXPECT_EQ(organisation["subjectType"], "organisation");
}

// `tenderkey certs` shows the same facts as text (the JSON form is certificateFactsJson).
TEST(GpkiCertsText, FactsLines) {
    const CertificateInfo company = parsed("company-sign");
    EXPECT_EQ(cli::certificateFactsText(company),
              "    org id   12345678 (both)\n"
              "    holder   company, primary card\n"
              "    policy   2.16.886.101.0.3.3\n"
              "    sha-256  " +
                  company.fingerprintSha256 + "\n");
    const CertificateInfo mismatch = parsed("mismatch-sign");
    EXPECT_EQ(cli::certificateFactsText(mismatch),
              "    org id   12345679 (MISMATCH: the extension says 12345679, the subject "
              "12345678)\n"
              "    holder   company\n"
              "    policy   2.16.886.101.0.3.3\n"
              "    sha-256  " +
                  mismatch.fingerprintSha256 + "\n");
    const CertificateInfo citizen = parsed("citizen-sign");
    EXPECT_EQ(cli::certificateFactsText(citizen),
              "    holder   person\n"
              "    policy   2.16.886.101.0.3.1, 2.16.886.101.0.3.3\n"
              "    ext use  emailProtection, 1.3.6.1.4.1.311.10.3.12\n"
              "    sha-256  " +
                  citizen.fingerprintSha256 + "\n");
    EXPECT_EQ(cli::certificateFactsText(parsed("root")),
              "    sha-256  " + parsed("root").fingerprintSha256 + "\n");
}

TEST(GpkiCertsJson, SameMembersAsCertificatesList) {
    const CertificateInfo info = parsed("organisation-keyx");
    service::CardInfo card;
    card.id = "0123456789abcdef0123";
    card.type = "pkcs11";
    const json list = service::certificateJson(card, cardCertificate("organisation-keyx", kKeyxId),
                                               "reader", false, std::time(nullptr));
    const json facts = service::certificateFactsJson(info);
    for (const auto& [member, value] : facts.items()) {
        EXPECT_EQ(list.at(member), value) << member;
    }
    EXPECT_EQ(facts.size(), 8u);
}

}  // namespace
}  // namespace tk::test
