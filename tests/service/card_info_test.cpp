#include <gtest/gtest.h>

#include "service/base64.hpp"
#include "service/card_info.hpp"
#include "support/test_keys.hpp"

namespace tk::service {
namespace {

using test::CertificateSpec;

CardCertificate certificate(const std::string& slot, const test::KeyPtr& key,
                            const CertificateSpec& spec,
                            card::PinPolicy pinPolicy = card::PinPolicy::Always) {
    CardCertificate c;
    c.entry.slot = slot;
    c.entry.label = "Digital Signature";
    c.entry.der = test::makeCertificate(key, spec);
    c.info = crypto::parseCertificate(c.entry.der);
    c.entry.keyAlgorithm = *c.info.keyAlgorithm;
    c.entry.pinPolicy = pinPolicy;
    return c;
}

CertificateSpec usage(std::string keyUsage, std::string extendedKeyUsage = {}) {
    CertificateSpec spec;
    spec.keyUsage = std::move(keyUsage);
    spec.extendedKeyUsage = std::move(extendedKeyUsage);
    return spec;
}

nlohmann::json usesOf(const std::string& slot, const test::KeyPtr& key, const CertificateSpec& spec,
                      card::PinPolicy pinPolicy = card::PinPolicy::Always,
                      bool allowNoPinKeys = false) {
    return keyUsesJson(keyUses("piv", certificate(slot, key, spec, pinPolicy), allowNoPinKeys));
}

using Json = nlohmann::json;

TEST(UsableFor, SignKeyNeedsDigitalSignatureOrNonRepudiation) {
    EXPECT_EQ(usesOf("9c", test::rsa2048a(), usage("critical,digitalSignature")), Json({"sign"}));
    EXPECT_EQ(usesOf("9c", test::rsa2048a(), usage("critical,nonRepudiation")), Json({"sign"}));
    EXPECT_EQ(usesOf("9c", test::p256a(), usage("critical,digitalSignature,nonRepudiation")),
              Json({"sign"}));
    EXPECT_EQ(usesOf("9c", test::rsa2048a(), usage("critical,dataEncipherment")), Json::array());
}

TEST(UsableFor, DecryptNeedsKeyEnciphermentForRsaAndKeyAgreementForEc) {
    EXPECT_EQ(usesOf("9d", test::rsa2048a(), usage("critical,keyEncipherment")), Json({"decrypt"}));
    EXPECT_EQ(usesOf("9d", test::p256a(), usage("critical,keyAgreement")), Json({"decrypt"}));
    EXPECT_EQ(usesOf("9d", test::rsa2048a(), usage("critical,keyAgreement")), Json::array());
    EXPECT_EQ(usesOf("9d", test::p256a(), usage("critical,keyEncipherment")), Json::array());
    EXPECT_EQ(usesOf("9d", test::rsa2048a(), usage("critical,digitalSignature,keyEncipherment")),
              Json({"sign", "decrypt"}));
}

TEST(UsableFor, PivAuthenticationKeyRegistersAndNeverSigns) {
    EXPECT_EQ(usesOf("9a", test::rsa2048a(), usage("critical,digitalSignature")),
              Json({"register"}));
    EXPECT_EQ(usesOf("9a", test::rsa2048a(), usage("critical,digitalSignature,keyEncipherment")),
              Json({"decrypt", "register"}));
}

TEST(UsableFor, ClientAuthKeyOnAnySlotRegistersAndNeverSigns) {
    EXPECT_EQ(usesOf("9c", test::rsa2048a(), usage("critical,digitalSignature", "clientAuth")),
              Json({"register"}));
    EXPECT_EQ(usesOf("82", test::p256a(), usage("critical,digitalSignature", "clientAuth")),
              Json({"register"}));
    // Another extended key usage alone changes nothing.
    EXPECT_EQ(usesOf("9c", test::rsa2048a(), usage("critical,digitalSignature", "emailProtection")),
              Json({"sign"}));
}

TEST(UsableFor, CertificateWithoutKeyUsageIsUnrestricted) {
    EXPECT_EQ(usesOf("9c", test::rsa2048a(), usage("")), Json({"sign", "decrypt"}));
    EXPECT_EQ(usesOf("9d", test::p256a(), usage("")), Json({"sign", "decrypt"}));
    EXPECT_EQ(usesOf("9a", test::p256a(), usage("")), Json({"decrypt", "register"}));
}

TEST(UsableFor, KeyWithoutPinIsUsableForNothingUnlessAllowed) {
    const CertificateSpec spec = usage("critical,digitalSignature");
    EXPECT_EQ(usesOf("9e", test::p256b(), spec, card::PinPolicy::Never, false), Json::array());
    EXPECT_EQ(usesOf("9e", test::p256b(), spec, card::PinPolicy::Never, true), Json({"sign"}));
    EXPECT_EQ(usesOf("9e", test::p256b(), usage("", "clientAuth"), card::PinPolicy::Never, true),
              Json({"decrypt", "register"}));
}

TEST(UsableFor, SlotNineAOnlyMeansRegistrationOnPivCards) {
    const CardCertificate c =
        certificate("9a", test::rsa2048a(), usage("critical,digitalSignature"));
    EXPECT_EQ(keyUsesJson(keyUses("pkcs11", c, false)), Json({"sign"}));
}

TEST(ExpiresInDays, RoundsDownAndGoesNegativeOnceExpired) {
    const std::time_t now = 1'700'000'000;
    EXPECT_EQ(expiresInDays(now, now), 0);
    EXPECT_EQ(expiresInDays(now + 86399, now), 0);
    EXPECT_EQ(expiresInDays(now + 86400, now), 1);
    EXPECT_EQ(expiresInDays(now + 10LL * 86400 + 5, now), 10);
    EXPECT_EQ(expiresInDays(now - 1, now), -1);
    EXPECT_EQ(expiresInDays(now - 86400, now), -1);
    EXPECT_EQ(expiresInDays(now - 86401, now), -2);
}

TEST(CertificateJson, HasExactlyTheProtocolMembers) {
    CertificateSpec spec = usage("critical,digitalSignature,nonRepudiation");
    spec.commonName = "範例工程股份有限公司";
    spec.organization = "測試";
    spec.serialHex = "00ABCDEF0123";
    spec.notBefore = "20240401000000Z";
    spec.notAfter = "20290331235959Z";
    CardInfo card;
    card.id = "0123456789abcdef0123";
    card.type = "piv";
    card.certificates.push_back(certificate("9c", test::rsa2048b(), spec));
    const std::time_t now = 1'800'000'000;  // 2027-01-15T08:00:00Z
    const Json json = certificateJson(card, card.certificates[0], "Reader 00", false, now);

    EXPECT_EQ(json.size(), 23u);  // 15 of v1 and the 8 certificate facts
    EXPECT_EQ(json["id"], "0123456789abcdef0123:9c");
    EXPECT_EQ(json["cardId"], "0123456789abcdef0123");
    EXPECT_EQ(json["reader"], "Reader 00");
    EXPECT_EQ(json["slot"], "9c");
    EXPECT_EQ(json["label"], "Digital Signature");
    EXPECT_EQ(decodeBase64(json["der"].get<std::string>()), card.certificates[0].entry.der);
    EXPECT_NE(json["subject"].get<std::string>().find("CN=範例工程股份有限公司"), std::string::npos)
        << json["subject"];
    EXPECT_EQ(json["serialNumber"], "abcdef0123");
    EXPECT_EQ(json["notBefore"], "2024-04-01T00:00:00Z");
    EXPECT_EQ(json["notAfter"], "2029-03-31T23:59:59Z");
    EXPECT_EQ(json["keyAlgorithm"], "RSA-2048");
    EXPECT_EQ(json["keyUsage"], Json({"digitalSignature", "nonRepudiation"}));
    EXPECT_EQ(json["usableFor"], Json({"sign"}));
    // 2029-03-31T23:59:59Z is 1869695999; (1869695999 - 1800000000) / 86400 = 806.66
    EXPECT_EQ(json["expiresInDays"], 806);
}

TEST(CardInfoJson, UnknownCardHasNullId) {
    CardInfo card;
    card.type = "unknown";
    card.atr = {0x3B, 0x00};
    EXPECT_EQ(card.toJson(),
              (Json{{"id", nullptr}, {"type", "unknown"}, {"atr", "3b00"}, {"label", ""}}));
}

TEST(CardLabel, IsTheCommonNameOfTheAuthenticationCertificate) {
    std::vector<CardCertificate> certificates;
    CertificateSpec spec;
    spec.commonName = "Signer";
    certificates.push_back(certificate("9c", test::rsa2048b(), spec));
    EXPECT_EQ(pivCardLabel(certificates), "PIV card");
    spec.commonName = "範例公司";
    certificates.push_back(certificate("9a", test::rsa2048a(), spec));
    EXPECT_EQ(pivCardLabel(certificates), "範例公司");
}

}  // namespace
}  // namespace tk::service
