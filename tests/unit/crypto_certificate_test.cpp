#include <gtest/gtest.h>

#include "crypto/certificate.hpp"
#include "crypto/errors.hpp"
#include "crypto/public_key.hpp"
#include "support/fake_piv_card.hpp"

namespace tk::crypto {
namespace {

using card::Bytes;
using card::KeyAlgorithm;
using test::CertificateSpec;
using test::makeCertificate;

TEST(CertificateParse, Utf8Names_ComeOutUnescaped) {
    CertificateSpec spec;
    spec.commonName = "臺灣測試機關";
    spec.organization = "行政院公共工程委員會";
    const CertificateInfo info = parseCertificate(makeCertificate(test::rsa2048a(), spec));
    EXPECT_EQ(info.subject, "CN=臺灣測試機關,O=行政院公共工程委員會,C=TW");
    EXPECT_EQ(info.issuer, info.subject);
    EXPECT_EQ(info.subjectCommonName, "臺灣測試機關");
}

TEST(CertificateParse, BmpStringName_ConvertedToUtf8) {
    CertificateSpec spec;
    spec.commonName = "測試";
    spec.commonNameAsBmpString = true;
    const CertificateInfo info = parseCertificate(makeCertificate(test::p256a(), spec));
    EXPECT_EQ(info.subject, "CN=測試,C=TW");
    EXPECT_EQ(info.subjectCommonName, "測試");
}

TEST(CertificateParse, Rfc4514SpecialCharacters_Escaped) {
    CertificateSpec spec;
    spec.commonName = "Lee, Wang+Chen";
    const CertificateInfo info = parseCertificate(makeCertificate(test::p256a(), spec));
    EXPECT_EQ(info.subject, "CN=Lee\\, Wang\\+Chen,C=TW");
}

TEST(CertificateParse, SerialLowercaseHex) {
    CertificateSpec spec;
    spec.serialHex = "0A1B2C3D4E5F";
    EXPECT_EQ(parseCertificate(makeCertificate(test::p256a(), spec)).serialNumber, "0a1b2c3d4e5f");
    spec.serialHex = "80";
    // 0x80 is stored as the magnitude byte; the sign byte of the DER is not part of it.
    EXPECT_EQ(parseCertificate(makeCertificate(test::p256a(), spec)).serialNumber, "80");
}

TEST(CertificateParse, ValidityAsUnixTimeAndRfc3339) {
    CertificateSpec spec;
    spec.notBefore = "20240101000000Z";
    spec.notAfter = "20290630235959Z";
    const CertificateInfo info = parseCertificate(makeCertificate(test::p256a(), spec));
    EXPECT_EQ(info.notBefore, 1704067200);
    EXPECT_EQ(formatRfc3339(info.notBefore), "2024-01-01T00:00:00Z");
    EXPECT_EQ(formatRfc3339(info.notAfter), "2029-06-30T23:59:59Z");
}

TEST(CertificateParse, GeneralizedTimeAfter2049) {
    CertificateSpec spec;
    spec.notAfter = "20600101000000Z";
    const CertificateInfo info = parseCertificate(makeCertificate(test::p256a(), spec));
    EXPECT_EQ(formatRfc3339(info.notAfter), "2060-01-01T00:00:00Z");
}

TEST(CertificateParse, KeyAlgorithmLabels) {
    const auto algorithmOf = [](const test::KeyPtr& key) {
        return parseCertificate(makeCertificate(key)).keyAlgorithm;
    };
    EXPECT_EQ(algorithmOf(test::rsa2048a()), KeyAlgorithm::Rsa2048);
    EXPECT_EQ(algorithmOf(test::rsa3072()), KeyAlgorithm::Rsa3072);
    EXPECT_EQ(algorithmOf(test::rsa4096()), KeyAlgorithm::Rsa4096);
    EXPECT_EQ(algorithmOf(test::p256a()), KeyAlgorithm::EcP256);
    EXPECT_EQ(algorithmOf(test::p384()), KeyAlgorithm::EcP384);
    EXPECT_FALSE(algorithmOf(test::rsa1024()));
    EXPECT_FALSE(algorithmOf(test::p521()));
    EXPECT_EQ(card::keyAlgorithmName(KeyAlgorithm::Rsa3072), "RSA-3072");
    EXPECT_EQ(card::keyAlgorithmName(KeyAlgorithm::EcP256), "EC-P256");
}

TEST(CertificateParse, KeyUsageNamesInBitOrder) {
    CertificateSpec spec;
    spec.keyUsage =
        "critical,keyAgreement,dataEncipherment,keyEncipherment,nonRepudiation,digitalSignature";
    const CertificateInfo info = parseCertificate(makeCertificate(test::rsa2048a(), spec));
    EXPECT_TRUE(info.hasKeyUsage);
    EXPECT_EQ(info.keyUsage,
              (std::vector<std::string>{"digitalSignature", "nonRepudiation", "keyEncipherment",
                                        "dataEncipherment", "keyAgreement"}));
}

TEST(CertificateParse, NoKeyUsageExtension_EmptyList) {
    CertificateSpec spec;
    spec.keyUsage.clear();
    const CertificateInfo info = parseCertificate(makeCertificate(test::rsa2048a(), spec));
    EXPECT_FALSE(info.hasKeyUsage);
    EXPECT_TRUE(info.keyUsage.empty());
}

TEST(CertificateParse, ClientAuthOnlyWhenListed) {
    CertificateSpec spec;
    spec.extendedKeyUsage = "clientAuth,emailProtection";
    EXPECT_TRUE(parseCertificate(makeCertificate(test::p256a(), spec)).clientAuth);
    spec.extendedKeyUsage = "emailProtection";
    const CertificateInfo email = parseCertificate(makeCertificate(test::p256a(), spec));
    EXPECT_TRUE(email.hasExtendedKeyUsage);
    EXPECT_FALSE(email.clientAuth);
    spec.extendedKeyUsage.clear();
    const CertificateInfo none = parseCertificate(makeCertificate(test::p256a(), spec));
    EXPECT_FALSE(none.hasExtendedKeyUsage);
    EXPECT_FALSE(none.clientAuth);
}

TEST(CertificateParse, Malformed_Throws) {
    Bytes der = makeCertificate(test::p256a());
    Bytes truncated(der.begin(), der.end() - 10);
    EXPECT_THROW(parseCertificate(truncated), Error);
    Bytes trailing = der;
    trailing.push_back(0x00);
    EXPECT_THROW(parseCertificate(trailing), Error);
    EXPECT_THROW(parseCertificate(Bytes{}), Error);
    EXPECT_THROW(parseCertificate(test::hex("3003020101")), Error);
    EXPECT_THROW(PublicKey::fromCertificate(truncated), Error);
}

}  // namespace
}  // namespace tk::crypto
