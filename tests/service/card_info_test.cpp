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

using Json = nlohmann::json;

nlohmann::json usesOf(const std::string& slot, const test::KeyPtr& key, const CertificateSpec& spec,
                      card::PinPolicy pinPolicy = card::PinPolicy::Always,
                      bool allowNoPinKeys = false) {
    CardInfo card;
    card.type = "piv";
    card.certificates.push_back(certificate(slot, key, spec, pinPolicy));
    return keyUsesJson(keyUses(card, card.certificates.front(), allowNoPinKeys));
}

// A PKCS#11 token holding `certificates`; the usableFor of each, in order.
Json tokenUses(std::vector<CardCertificate> certificates, bool allowNoPinKeys = false) {
    CardInfo card;
    card.type = "pkcs11";
    card.certificates = std::move(certificates);
    Json all = Json::array();
    for (const CardCertificate& c : card.certificates) {
        all.push_back(keyUsesJson(keyUses(card, c, allowNoPinKeys)));
    }
    return all;
}

CardCertificate tokenKey(const std::string& id, const test::KeyPtr& key,
                         const CertificateSpec& spec,
                         std::optional<card::KeyPermissions> permissions = std::nullopt) {
    CardCertificate c = certificate(id, key, spec, card::PinPolicy::Once);
    c.entry.permissions = permissions;
    return c;
}

// ---- PIV: the slot decides the one use ----

TEST(UsableFor, Piv9A_RegisterOnly_WhateverTheKeyUsage) {
    EXPECT_EQ(usesOf("9a", test::rsa2048a(), usage("critical,digitalSignature")),
              Json({"register"}));
    EXPECT_EQ(usesOf("9a", test::rsa2048a(), usage("critical,digitalSignature,keyEncipherment")),
              Json({"register"}));
    EXPECT_EQ(usesOf("9a", test::p256a(), usage("")), Json({"register"}));
    EXPECT_EQ(usesOf("9a", test::rsa2048a(), usage("")), Json({"register"}));
}

TEST(UsableFor, Piv9C_SignOnly_NeedsDigitalSignatureOrNonRepudiation) {
    EXPECT_EQ(usesOf("9c", test::rsa2048a(), usage("critical,digitalSignature")), Json({"sign"}));
    EXPECT_EQ(usesOf("9c", test::rsa2048a(), usage("critical,nonRepudiation")), Json({"sign"}));
    EXPECT_EQ(usesOf("9c", test::p256a(), usage("critical,digitalSignature,nonRepudiation")),
              Json({"sign"}));
    EXPECT_EQ(usesOf("9c", test::rsa2048a(), usage("critical,digitalSignature,keyEncipherment")),
              Json({"sign"}));
    EXPECT_EQ(usesOf("9c", test::rsa2048a(), usage("critical,dataEncipherment")), Json::array());
    // Without a key usage extension: still only sign.
    EXPECT_EQ(usesOf("9c", test::rsa2048a(), usage("")), Json({"sign"}));
    EXPECT_EQ(usesOf("9c", test::p256a(), usage("")), Json({"sign"}));
    // clientAuth does not move the signature key to registration.
    EXPECT_EQ(usesOf("9c", test::rsa2048a(), usage("critical,digitalSignature", "clientAuth")),
              Json({"sign"}));
}

TEST(UsableFor, Piv9D_DecryptOnly_KeyEnciphermentForRsaKeyAgreementForEc) {
    EXPECT_EQ(usesOf("9d", test::rsa2048a(), usage("critical,keyEncipherment")), Json({"decrypt"}));
    EXPECT_EQ(usesOf("9d", test::p256a(), usage("critical,keyAgreement")), Json({"decrypt"}));
    EXPECT_EQ(usesOf("9d", test::rsa2048a(), usage("critical,keyAgreement")), Json::array());
    EXPECT_EQ(usesOf("9d", test::p256a(), usage("critical,keyEncipherment")), Json::array());
    EXPECT_EQ(usesOf("9d", test::rsa2048a(), usage("critical,digitalSignature,keyEncipherment")),
              Json({"decrypt"}));
    EXPECT_EQ(usesOf("9d", test::p256a(), usage("")), Json({"decrypt"}));
}

TEST(UsableFor, PivRetiredKeyManagement_DecryptOnlyNeverSign) {
    // Seen on a real card: a retired key with digitalSignature and keyAgreement.
    EXPECT_EQ(usesOf("82", test::p256a(), usage("critical,digitalSignature,keyAgreement")),
              Json({"decrypt"}));
    EXPECT_EQ(usesOf("95", test::rsa2048a(), usage("critical,keyEncipherment")), Json({"decrypt"}));
    EXPECT_EQ(usesOf("8a", test::rsa2048a(), usage("")), Json({"decrypt"}));
    EXPECT_EQ(usesOf("82", test::rsa2048a(), usage("critical,digitalSignature")), Json::array());
    EXPECT_EQ(usesOf("82", test::p256a(), usage("critical,digitalSignature", "clientAuth")),
              Json::array());
}

TEST(UsableFor, Piv9E_NothingUnlessNoPinKeysAllowed) {
    const CertificateSpec spec = usage("critical,digitalSignature");
    EXPECT_EQ(usesOf("9e", test::p256b(), spec, card::PinPolicy::Never, false), Json::array());
    EXPECT_EQ(usesOf("9e", test::p256b(), spec, card::PinPolicy::Never, true), Json({"sign"}));
    EXPECT_EQ(usesOf("9e", test::p256b(), usage("", "clientAuth"), card::PinPolicy::Never, true),
              Json({"decrypt", "register"}));
    EXPECT_EQ(usesOf("9e", test::p256b(), usage("", "clientAuth"), card::PinPolicy::Never, false),
              Json::array());
}

// ---- PKCS#11: the certificate and the key object decide ----

TEST(UsableFor, Pkcs11_SeparatedKeys_EachItsOwnUse) {
    EXPECT_EQ(
        tokenUses({
            tokenKey("01", test::rsa2048a(), usage("critical,digitalSignature", "clientAuth")),
            tokenKey("02", test::rsa2048b(), usage("critical,nonRepudiation")),
            tokenKey("03", test::rsa2048a(), usage("critical,keyEncipherment")),
            tokenKey("04", test::p256a(), usage("critical,keyAgreement")),
        }),
        Json({Json({"register"}), Json({"sign"}), Json({"decrypt"}), Json({"decrypt"})}));
}

TEST(UsableFor, Pkcs11_DecryptNeedsNoSigningBitAndADecryptingKeyObject) {
    const card::KeyPermissions signOnly{true, false};
    EXPECT_EQ(
        tokenUses({
            tokenKey("01", test::rsa2048a(), usage("critical,digitalSignature", "clientAuth")),
            tokenKey("02", test::rsa2048a(), usage("critical,keyEncipherment"), signOnly),
            tokenKey("03", test::rsa2048b(),
                     usage("critical,digitalSignature,keyEncipherment", "emailProtection")),
            tokenKey("04", test::p256a(), usage("critical,keyEncipherment")),
        }),
        Json({Json({"register"}), Json::array(), Json({"sign"}), Json::array()}));
}

TEST(UsableFor, Pkcs11_KeyObjectWithoutCkaSign_NeitherSignsNorRegisters) {
    const card::KeyPermissions decryptOnly{false, true};
    EXPECT_EQ(tokenUses({
                  tokenKey("01", test::rsa2048a(), usage("critical,digitalSignature", "clientAuth"),
                           decryptOnly),
                  tokenKey("02", test::rsa2048b(), usage("critical,digitalSignature"), decryptOnly),
              }),
              Json({Json::array(), Json::array()}));
}

TEST(UsableFor, Pkcs11_TokenWithoutRegisterKey_SigningKeyWithoutEkuIsTheOnePair) {
    // A HiCOS-like card: a signing key and a key-exchange key, no authentication key.
    EXPECT_EQ(
        tokenUses({
            tokenKey("01", test::rsa2048a(), usage("critical,digitalSignature,nonRepudiation")),
            tokenKey("02", test::rsa2048b(), usage("critical,keyEncipherment")),
        }),
        Json({Json({"sign", "register"}), Json({"decrypt"})}));
    // Without a key usage extension it is the same signing key; never decrypt.
    EXPECT_EQ(tokenUses({tokenKey("01", test::rsa2048a(), usage(""))}),
              Json::array({Json({"sign", "register"})}));
    // An extended key usage without clientAuth keeps it from registering.
    EXPECT_EQ(tokenUses({tokenKey("01", test::rsa2048a(),
                                  usage("critical,digitalSignature", "emailProtection"))}),
              Json::array({Json({"sign"})}));
}

TEST(UsableFor, Pkcs11_TokenWithRegisterKey_SigningKeyOnlySigns) {
    EXPECT_EQ(
        tokenUses({
            tokenKey("01", test::rsa2048a(), usage("critical,digitalSignature")),
            tokenKey("02", test::rsa2048b(), usage("critical,digitalSignature", "clientAuth")),
        }),
        Json({Json({"sign"}), Json({"register"})}));
}

TEST(UsableFor, Pkcs11_SlotNamedLikePiv9A_MeansNothing) {
    EXPECT_EQ(tokenUses({tokenKey("9a", test::rsa2048a(),
                                  usage("critical,digitalSignature", "emailProtection"))}),
              Json::array({Json({"sign"})}));
}

TEST(UsableFor, Pkcs11_KeyWithoutPin_NothingUnlessAllowed) {
    CardCertificate key = tokenKey("01", test::p256b(), usage("critical,digitalSignature"));
    key.entry.pinPolicy = card::PinPolicy::Never;
    EXPECT_EQ(tokenUses({key}, false), Json::array({Json::array()}));
    EXPECT_EQ(tokenUses({key}, true), Json::array({Json({"sign", "register"})}));
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

TEST(CertificateJson, CaCertificateHasNoKeyMembers) {
    CertificateSpec spec;
    spec.commonName = "Test CA";
    CardInfo card;
    card.id = "0123456789abcdef0123";
    card.type = "pkcs11";
    CardAuthorityCertificate ca;
    ca.entry.label = "CA";
    ca.entry.der = test::makeCertificate(test::rsa2048a(), spec);
    ca.info = crypto::parseCertificate(ca.entry.der);
    const Json json = authorityCertificateJson(card, ca, "Token");
    EXPECT_EQ(json.size(), 9u);
    EXPECT_EQ(json["cardId"], card.id);
    EXPECT_EQ(json["reader"], "Token");
    EXPECT_EQ(json["label"], "CA");
    EXPECT_EQ(decodeBase64(json["der"].get<std::string>()), ca.entry.der);
    EXPECT_NE(json["subject"].get<std::string>().find("CN=Test CA"), std::string::npos);
    EXPECT_FALSE(json.contains("usableFor"));
    EXPECT_FALSE(json.contains("id"));
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
