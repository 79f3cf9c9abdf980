// The HiPKI adapter: package parsing, percent-decoding, DigestInfo checks, the error table, and
// every function through the API over the in-memory PIV card. Every signature is verified by
// OpenSSL.
#include <gtest/gtest.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include <algorithm>
#include <future>
#include <string>
#include <vector>

#include "fakes/service_fixture.hpp"
#include "service/base64.hpp"
#include "service/hipki/adapter.hpp"
#include "service/hipki/error_codes.hpp"
#include "service/hipki/package.hpp"
#include "service/reasons.hpp"
#include "support/test_keys.hpp"

namespace tk::test {
namespace {

using nlohmann::json;
namespace hipki = service::hipki;

// ---- parsing

// The portals test serverVersion with `version < minimum` on strings, the minimum chosen by the
// browser's platform; some compare segment by segment. The default passes every one of them.
TEST(HipkiServerVersion, DefaultPassesEveryPortalsMinimumAsStringAndBySegment) {
    const std::string version{hipki::kDefaultServerVersion};
    const auto segments = [](const std::string& text) {
        std::vector<unsigned long> numbers;
        std::size_t start = 0;
        while (start <= text.size()) {
            const std::size_t dot = std::min(text.find('.', start), text.size());
            numbers.push_back(std::stoul(text.substr(start, dot - start)));
            start = dot + 1;
        }
        return numbers;
    };
    for (const std::string minimum : {"1.3.4.103328", "1.3.4.13", "1.3.4.3"}) {
        EXPECT_FALSE(version < minimum) << minimum;
        EXPECT_FALSE(segments(version) < segments(minimum)) << minimum;
    }
}

TEST(HipkiPackage, PercentDecodingIsDoneOnceAndInvalidTextIsUsedAsIs) {
    EXPECT_EQ(hipki::percentDecodeOnce("12%2034"), "12 34");
    EXPECT_EQ(hipki::percentDecodeOnce("%E4%B8%AD"), "\xE4\xB8\xAD");
    EXPECT_EQ(hipki::percentDecodeOnce("a%2541"), "a%41");  // once, not twice
    EXPECT_EQ(hipki::percentDecodeOnce("a+b"), "a+b");      // "+" is not a space
    EXPECT_EQ(hipki::percentDecodeOnce("100%"), "100%");    // not valid: as is
    EXPECT_EQ(hipki::percentDecodeOnce("%4"), "%4");
    EXPECT_EQ(hipki::percentDecodeOnce("50% off %41"), "50% off %41");
    EXPECT_EQ(hipki::percentDecodeOnce("%zz"), "%zz");
    EXPECT_EQ(hipki::percentDecodeOnce(""), "");
}

TEST(HipkiPackage, EveryValueIsAStringAndFuncIsKnown) {
    hipki::PackageError error{};
    auto package = hipki::parsePackage(
        json{{"func", "MakeSignature"}, {"tbs", "x"}, {"signatureType", "PKCS7"}}, error);
    ASSERT_TRUE(package);
    EXPECT_EQ(package->function, hipki::Function::MakeSignature);
    EXPECT_EQ(package->get("tbs"), "x");
    EXPECT_EQ(package->get("nonce"), "");

    EXPECT_FALSE(hipki::parsePackage(json{{"func", "MakeSignature"}, {"withCardSN", true}}, error));
    EXPECT_EQ(error.kind, hipki::PackageError::Kind::BadParameter);
    EXPECT_FALSE(hipki::parsePackage(json{{"func", "Format"}}, error));
    EXPECT_EQ(error.kind, hipki::PackageError::Kind::UnsupportedFunction);
    EXPECT_FALSE(hipki::parsePackage(json::array(), error));
    EXPECT_EQ(error.kind, hipki::PackageError::Kind::BadJson);
    EXPECT_FALSE(hipki::parsePackage(json{{"tbs", "x"}}, error));
    EXPECT_EQ(error.kind, hipki::PackageError::Kind::BadJson);
    for (const char* func : {"DecryptData", "GetUserCert", "CheckEnvir"}) {
        EXPECT_TRUE(hipki::parsePackage(json{{"func", func}}, error)) << func;
    }
}

TEST(HipkiPackage, HashAlgorithmNames) {
    EXPECT_EQ(hipki::parseHashAlgorithm(""), card::HashAlgorithm::Sha256);
    EXPECT_EQ(hipki::parseHashAlgorithm("SHA256"), card::HashAlgorithm::Sha256);
    EXPECT_EQ(hipki::parseHashAlgorithm("SHA384"), card::HashAlgorithm::Sha384);
    EXPECT_EQ(hipki::parseHashAlgorithm("SHA512"), card::HashAlgorithm::Sha512);
    // Named, so the adapter can refuse it by [hipki] allow_sha1 with its own message.
    EXPECT_EQ(hipki::parseHashAlgorithm("SHA1"), card::HashAlgorithm::Sha1);
    EXPECT_FALSE(hipki::parseHashAlgorithm("sha256"));
}

// A DigestInfo as OpenSSL encodes it (X509_SIG), for `nid` and a digest of `length` bytes.
Bytes digestInfo(int nid, std::size_t length, bool nullParameters = true) {
    X509_SIG* sig = X509_SIG_new();
    X509_ALGOR* algorithm = nullptr;
    ASN1_OCTET_STRING* digest = nullptr;
    X509_SIG_getm(sig, &algorithm, &digest);
    X509_ALGOR_set0(algorithm, OBJ_nid2obj(nid), nullParameters ? V_ASN1_NULL : V_ASN1_UNDEF,
                    nullptr);
    const Bytes value(length, 0x5a);
    ASN1_OCTET_STRING_set(digest, value.data(), static_cast<int>(value.size()));
    unsigned char* der = nullptr;
    const int size = i2d_X509_SIG(sig, &der);
    Bytes out(der, der + size);
    OPENSSL_free(der);
    X509_SIG_free(sig);
    return out;
}

TEST(HipkiPackage, DigestInfoOnlyWithAKnownHashAndItsDigestLength) {
    const struct {
        int nid;
        card::HashAlgorithm hash;
    } known[] = {{NID_sha256, card::HashAlgorithm::Sha256},
                 {NID_sha384, card::HashAlgorithm::Sha384},
                 {NID_sha512, card::HashAlgorithm::Sha512},
                 {NID_sha1, card::HashAlgorithm::Sha1}};
    for (const auto& each : known) {
        const std::size_t length = card::digestSize(each.hash);
        const auto info = hipki::parseDigestInfo(digestInfo(each.nid, length));
        ASSERT_TRUE(info);
        EXPECT_EQ(info->hash, each.hash);
        EXPECT_EQ(info->digest, Bytes(length, 0x5a));
        EXPECT_FALSE(hipki::parseDigestInfo(digestInfo(each.nid, length - 1)));
        EXPECT_FALSE(hipki::parseDigestInfo(digestInfo(each.nid, length + 1)));
        EXPECT_FALSE(hipki::parseDigestInfo(digestInfo(each.nid, length, false)));
        Bytes trailing = digestInfo(each.nid, length);
        trailing.push_back(0);
        EXPECT_FALSE(hipki::parseDigestInfo(trailing));
    }
    EXPECT_FALSE(hipki::parseDigestInfo(digestInfo(NID_md5, 16)));
    EXPECT_FALSE(hipki::parseDigestInfo(Bytes{}));
}

// ---- the error table

TEST(HipkiErrors, EveryReasonHasARetCode) {
    for (const service::ReasonInfo& info : service::allReasons()) {
        EXPECT_TRUE(hipki::retCodeOf(info.reason)) << info.name;
    }
}

TEST(HipkiErrors, PinFailuresSayTheTriesLeftInLastError) {
    const auto codeOf = [](service::Reason reason, json data = json::object()) {
        return hipki::codeOf(service::makeError(reason, {}, std::move(data)));
    };
    hipki::HipkiCode c = codeOf(service::Reason::PinIncorrect, {{"retriesLeft", 5}});
    EXPECT_EQ(c.retCode, 0x76100006);
    EXPECT_EQ(c.lastError, 0xA0);
    EXPECT_EQ(codeOf(service::Reason::PinIncorrect, {{"retriesLeft", 2}}).lastError, -2147483646);
    EXPECT_EQ(codeOf(service::Reason::PinIncorrect, {{"retriesLeft", 1}}).lastError, -2147483647);
    EXPECT_EQ(codeOf(service::Reason::PinLastAttempt, {{"retriesLeft", 1}}).lastError, -2147483647);
    EXPECT_EQ(codeOf(service::Reason::PinBlocked).lastError, 0xA4);
    EXPECT_EQ(codeOf(service::Reason::PinFormat).lastError, 0xA2);
    EXPECT_EQ(codeOf(service::Reason::NoCard).retCode, 0x76000006);
    EXPECT_EQ(codeOf(service::Reason::NoReader).retCode, 0x76100003);
    EXPECT_EQ(codeOf(service::Reason::NotPermitted).retCode, 0x76000031);
    EXPECT_EQ(codeOf(service::Reason::CertificateNotFound).retCode, 0x7610000C);
    EXPECT_EQ(codeOf(service::Reason::KeyUsage).retCode, 0x7610000D);
    EXPECT_EQ(codeOf(service::Reason::Timeout).retCode, 0x7600000D);
    EXPECT_EQ(codeOf(service::Reason::PinpadCancelled).retCode, 0x76000999);
    EXPECT_EQ(codeOf(service::Reason::NoCard).lastError, 0);
}

// ---- the adapter over the service

std::unique_ptr<StandardCard> cardWithRsaDecryptionKey() {
    auto card = std::make_unique<StandardCard>();
    CertificateSpec spec;
    spec.commonName = "Key Management";
    spec.keyUsage = "critical,keyEncipherment";
    card->cert9d = makeCertificate(rsa3072(), spec);
    card->card.putCertificate(0x9D, card->cert9d);
    card->card.putKey(0x9D, rsa3072());
    return card;
}

std::string urlEncode(const std::string& text) {
    static const char* hexDigits = "0123456789ABCDEF";
    std::string out;
    for (const unsigned char c : text) {
        if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '!' || c == '~' ||
            c == '*' || c == '\'' || c == '(' || c == ')') {
            out.push_back(static_cast<char>(c));
        } else {
            out += '%';
            out += hexDigits[c >> 4];
            out += hexDigits[c & 15];
        }
    }
    return out;
}

using CmsPtr = std::unique_ptr<CMS_ContentInfo, decltype(&CMS_ContentInfo_free)>;

CmsPtr parseCms(const Bytes& der) {
    const unsigned char* p = der.data();
    return CmsPtr(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())),
                  CMS_ContentInfo_free);
}

// Verifies an attached SignedData with OpenSSL (the signer certificate taken from it, its
// chain not judged here) and returns the content; nullopt when it does not verify.
std::optional<std::string> verifiedContent(CMS_ContentInfo* cms) {
    BIO* out = BIO_new(BIO_s_mem());
    const int rc = CMS_verify(cms, nullptr, nullptr, nullptr, out, CMS_NO_SIGNER_CERT_VERIFY);
    std::optional<std::string> content;
    if (rc == 1) {
        char* data = nullptr;
        const long size = BIO_get_mem_data(out, &data);
        content = std::string(data, static_cast<std::size_t>(size));
    }
    BIO_free(out);
    return content;
}

std::optional<std::string> attribute(CMS_ContentInfo* cms, const char* oid, int type) {
    CMS_SignerInfo* signer = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
    ASN1_OBJECT* object = OBJ_txt2obj(oid, 1);
    const auto* value =
        static_cast<const ASN1_STRING*>(CMS_signed_get0_data_by_OBJ(signer, object, -3, type));
    ASN1_OBJECT_free(object);
    if (value == nullptr) {
        return std::nullopt;
    }
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                       static_cast<std::size_t>(ASN1_STRING_length(value)));
}

Bytes cmsEncrypt(const Bytes& certificateDer, const std::string& plaintext,
                 const EVP_CIPHER* cipher) {
    const unsigned char* p = certificateDer.data();
    X509* certificate = d2i_X509(nullptr, &p, static_cast<long>(certificateDer.size()));
    STACK_OF(X509)* recipients = sk_X509_new_null();
    sk_X509_push(recipients, certificate);
    BIO* in = BIO_new_mem_buf(plaintext.data(), static_cast<int>(plaintext.size()));
    CMS_ContentInfo* cms = CMS_encrypt(recipients, in, cipher, CMS_BINARY);
    unsigned char* der = nullptr;
    const int size = i2d_CMS_ContentInfo(cms, &der);
    Bytes out(der, der + size);
    OPENSSL_free(der);
    CMS_ContentInfo_free(cms);
    BIO_free(in);
    sk_X509_pop_free(recipients, X509_free);
    return out;
}

class Hipki : public ServiceFixture {
  protected:
    void SetUp() override {
        startService();
        addReaderWithCard(kReader, cardWithRsaDecryptionKey());
        cardId = cardIdIn(kReader);
        adapter = std::make_unique<hipki::Adapter>(*service, hipki::AdapterOptions{});
    }

    json run(json package, service::Capabilities capabilities = service::Capabilities::all()) {
        std::promise<json> answer;
        auto future = answer.get_future();
        adapter->call(context(capabilities), package,
                      [&answer](json response) { answer.set_value(std::move(response)); });
        EXPECT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
        json response = future.get();
        EXPECT_EQ(response["serverVersion"], "1.3.4.999999");
        EXPECT_TRUE(response["ret_code"].is_number_integer());
        EXPECT_TRUE(response["last_error"].is_number_integer());
        return response;
    }

    json sign(json extra) {
        json package{{"func", "MakeSignature"}, {"pin", "123456"}};
        package.update(extra);
        return run(package);
    }

    const Bytes& cert9c() { return backend->card(kReader).cert9c; }

    std::string cardId;
    std::unique_ptr<hipki::Adapter> adapter;
};

TEST_F(Hipki, Pkcs7OverNoneAndBase64TbsWithEveryHashVerifiesWithOpenSsl) {
    const std::string text = "投標 bid 2026-0042 + 100% & more";
    const struct {
        const char* name;
        int nid;
    } hashes[] = {{"SHA256", NID_sha256}, {"SHA384", NID_sha384}, {"SHA512", NID_sha512}};
    for (const auto& hash : hashes) {
        for (const bool base64 : {false, true}) {
            const json response =
                sign({{"tbs", base64 ? service::encodeBase64(bytesOf(text)) : urlEncode(text)},
                      {"tbsEncoding", base64 ? "base64" : "NONE"},
                      {"hashAlgorithm", hash.name},
                      {"signatureType", "PKCS7"},
                      {"withCardSN", "false"},
                      {"nonce", ""}});
            ASSERT_EQ(response["ret_code"], 0) << response.dump();
            EXPECT_EQ(response["func"], "sign");
            EXPECT_EQ(response["cardSN"], cardId);
            EXPECT_EQ(service::decodeBase64(response["certb64"].get<std::string>()), cert9c());
            const Bytes der = *service::decodeBase64(response["signature"].get<std::string>());
            CmsPtr cms = parseCms(der);
            ASSERT_TRUE(cms);
            EXPECT_EQ(verifiedContent(cms.get()), text) << hash.name;
            CMS_SignerInfo* signer = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms.get()), 0);
            X509_ALGOR* digest = nullptr;
            CMS_SignerInfo_get0_algs(signer, nullptr, nullptr, &digest, nullptr);
            const ASN1_OBJECT* oid = nullptr;
            X509_ALGOR_get0(&oid, nullptr, nullptr, digest);
            EXPECT_EQ(OBJ_obj2nid(oid), hash.nid);
            EXPECT_GE(CMS_signed_get_attr_by_NID(signer, NID_pkcs9_signingTime, -1), 0);
            EXPECT_FALSE(attribute(cms.get(), "1.2.840.113549.1.9.25.3", V_ASN1_OCTET_STRING));
            EXPECT_FALSE(attribute(cms.get(), "2.16.886.1.100.2.204", V_ASN1_UTF8STRING));
        }
    }
}

TEST_F(Hipki, Pkcs7CarriesTheNonceAndTheCardSerialWhenAsked) {
    const json response = sign({{"tbs", "abc"},
                                {"signatureType", "PKCS7"},
                                {"withCardSN", "true"},
                                {"nonce", "n0nce-2026"}});
    ASSERT_EQ(response["ret_code"], 0) << response.dump();
    CmsPtr cms = parseCms(*service::decodeBase64(response["signature"].get<std::string>()));
    ASSERT_TRUE(cms);
    EXPECT_EQ(verifiedContent(cms.get()), "abc");
    EXPECT_EQ(attribute(cms.get(), "1.2.840.113549.1.9.25.3", V_ASN1_OCTET_STRING), "n0nce-2026");
    EXPECT_EQ(attribute(cms.get(), "2.16.886.1.100.2.204", V_ASN1_UTF8STRING), cardId);
}

TEST_F(Hipki, Base64TbsIsNeverPercentDecoded) {
    // "+" and "/" of base64 arrive raw; %2B would be no base64 at all.
    const Bytes data{0xfb, 0xef, 0xff, 0x01};
    const std::string tbs = service::encodeBase64(data);
    ASSERT_NE(tbs.find('+'), std::string::npos);
    json response = sign({{"tbs", tbs}, {"tbsEncoding", "base64"}, {"signatureType", "PKCS7"}});
    ASSERT_EQ(response["ret_code"], 0) << response.dump();
    CmsPtr cms = parseCms(*service::decodeBase64(response["signature"].get<std::string>()));
    EXPECT_EQ(verifiedContent(cms.get()), std::string(data.begin(), data.end()));
    response = sign({{"tbs", urlEncode(tbs)}, {"tbsEncoding", "base64"}});
    EXPECT_EQ(response["ret_code"], 0x7600000C);
}

TEST_F(Hipki, Pkcs1AndRawSignaturesVerifyWithOpenSsl) {
    const std::string text = "bid";
    json response = sign({{"tbs", text}, {"signatureType", "PKCS1"}, {"hashAlgorithm", "SHA384"}});
    ASSERT_EQ(response["ret_code"], 0) << response.dump();
    Bytes signature = *service::decodeBase64(response["signature"].get<std::string>());
    EXPECT_TRUE(
        opensslVerify(cert9c(), card::SignatureScheme::RsaPkcs1v15, card::HashAlgorithm::Sha384,
                      opensslDigest(card::HashAlgorithm::Sha384, bytesOf(text)), signature));

    const Bytes digest = opensslDigest(card::HashAlgorithm::Sha512, bytesOf(text));
    Bytes info = digestInfo(NID_sha512, 64);
    std::copy(digest.begin(), digest.end(), info.end() - 64);
    response = sign({{"tbs", service::encodeBase64(info)}, {"signatureType", "RAW"}});
    ASSERT_EQ(response["ret_code"], 0) << response.dump();
    signature = *service::decodeBase64(response["signature"].get<std::string>());
    EXPECT_TRUE(opensslVerify(cert9c(), card::SignatureScheme::RsaPkcs1v15,
                              card::HashAlgorithm::Sha512, digest, signature));
}

TEST_F(Hipki, MalformedRawAndBadParametersAreRefusedBeforeTheCard) {
    backend->card(kReader).card.clearLog();
    const int before = backend->transactions(kReader);
    EXPECT_EQ(sign({{"tbs", service::encodeBase64(digestInfo(NID_sha256, 31))},
                    {"signatureType", "RAW"}})["ret_code"],
              0x7600000C);
    EXPECT_EQ(sign({{"tbs", service::encodeBase64(digestInfo(NID_sha1, 20))},
                    {"signatureType", "RAW"}})["ret_code"],
              0x7600000C);
    EXPECT_EQ(sign({{"tbs", "not base64"}, {"signatureType", "RAW"}})["ret_code"], 0x7600000C);
    EXPECT_EQ(sign({{"tbs", "x"}, {"hashAlgorithm", "SHA1"}})["ret_code"], 0x7600000C);
    EXPECT_EQ(sign({{"tbs", "x"}, {"signatureType", "CMS"}})["ret_code"], 0x7600000C);
    EXPECT_EQ(sign({{"tbs", ""}})["ret_code"], 0x76000003);
    EXPECT_EQ(run(json{{"func", "Unknown"}})["ret_code"], 0x7600000E);
    EXPECT_EQ(run(json{{"func", "MakeSignature"}, {"withCardSN", true}})["ret_code"], 0x7600000C);
    EXPECT_EQ(run(json::array())["ret_code"], 0x7600000B);
    EXPECT_EQ(backend->transactions(kReader), before);
}

TEST_F(Hipki, WrongPinCodesCountDown) {
    json response = sign({{"tbs", "x"}, {"pin", "654321"}});
    EXPECT_EQ(response["ret_code"], 0x76100006);
    EXPECT_EQ(response["last_error"], -2147483646);  // two tries left
    response = sign({{"tbs", "x"}, {"pin", "654321"}});
    EXPECT_EQ(response["last_error"], -2147483647);      // one
    response = sign({{"tbs", "x"}, {"pin", "123456"}});  // the last try is never a page's
    EXPECT_EQ(response["ret_code"], 0x76100006);
    EXPECT_EQ(response["last_error"], -2147483647);
    EXPECT_EQ(backend->card(kReader).card.pinRetries(), 1);
    response = sign({{"tbs", "x"}, {"pin", "12"}});
    EXPECT_EQ(response["last_error"], 0xA2);
}

TEST_F(Hipki, PinIsPercentDecodedOnceAndWipedFromThePackage) {
    json package{{"func", "MakeSignature"}, {"tbs", "x"}, {"pin", "%31%32%33%34%35%36"}};
    std::promise<json> answer;
    adapter->call(context(), package, [&](json response) { answer.set_value(response); });
    EXPECT_EQ(answer.get_future().get()["ret_code"], 0);
    EXPECT_EQ(package["pin"], "");
}

TEST_F(Hipki, EmptyPinIsNoPin) {
    const json response = sign({{"tbs", "x"}, {"pin", ""}});
    EXPECT_EQ(response["ret_code"], 0x76100006);
    EXPECT_EQ(response["last_error"], 0xA2);
    EXPECT_EQ(backend->card(kReader).card.pinRetries(), 3);
}

TEST_F(Hipki, CapabilitiesOfTheOriginApply) {
    const service::Capabilities readOnly(static_cast<std::uint8_t>(service::Capability::Read));
    json package{{"func", "MakeSignature"}, {"tbs", "x"}, {"pin", "123456"}};
    EXPECT_EQ(run(package, readOnly)["ret_code"], 0x76000031);
    package = {{"func", "DecryptData"}, {"cipher", "AAAA"}, {"cipherType", "PKCS1"}};
    EXPECT_EQ(run(package, readOnly)["ret_code"], 0x76000031);
    const service::Capabilities signOnly(static_cast<std::uint8_t>(service::Capability::Sign));
    EXPECT_EQ(run(json{{"func", "GetUserCert"}}, signOnly)["ret_code"], 0x76000031);
    package = {{"func", "MakeSignature"}, {"tbs", "x"}, {"pin", "123456"}};
    EXPECT_EQ(run(package, signOnly)["ret_code"], 0);
}

TEST_F(Hipki, GetUserCertAndCheckEnvir) {
    backend->addReader(kReader2);
    settle();
    json response = run(json{{"func", "GetUserCert"}});
    ASSERT_EQ(response["ret_code"], 0) << response.dump();
    EXPECT_EQ(response["func"], "pkcs11info");
    const json& slots = response["slots"];
    ASSERT_EQ(slots.size(), 2u);
    EXPECT_EQ(slots[0]["slotDescription"], kReader);
    EXPECT_EQ(slots[0]["token"]["serialNumber"], cardId);
    EXPECT_EQ(slots[1], (json{{"slotDescription", kReader2}, {"token", nullptr}}));
    std::map<std::string, json> byUsage;
    for (const json& cert : slots[0]["token"]["certs"]) {
        byUsage[cert["usage"].get<std::string>()] = cert;
    }
    ASSERT_EQ(byUsage.size(), 2u) << response.dump();
    const json& signing = byUsage.at("digitalSignature");
    EXPECT_EQ(service::decodeBase64(signing["certb64"].get<std::string>()), cert9c());
    const json& encryption = byUsage.at("keyEncipherment|dataEncipherment");
    EXPECT_EQ(service::decodeBase64(encryption["certb64"].get<std::string>()),
              backend->card(kReader).cert9d);
    // Times in Unix seconds, as OpenSSL reads them from the certificate.
    const unsigned char* p = cert9c().data();
    X509* x509 = d2i_X509(nullptr, &p, static_cast<long>(cert9c().size()));
    ASSERT_NE(x509, nullptr);
    std::tm notAfter{};
    ASN1_TIME_to_tm(X509_get0_notAfter(x509), &notAfter);
    EXPECT_EQ(signing["notAfterT"], static_cast<std::int64_t>(timegm(&notAfter)));
    X509_free(x509);
    for (const char* member : {"label", "subjectDN", "issuerDN", "sn", "notBeforeT"}) {
        EXPECT_TRUE(signing.contains(member)) << member;
    }

    response = run(json{{"func", "CheckEnvir"}});
    ASSERT_EQ(response["ret_code"], 0);
    EXPECT_EQ(response["slots"][0]["token"], (json{{"serialNumber", cardId}}));
}

TEST_F(Hipki, DecryptDataPkcs7WithTripleDesOrAesAndPkcs1) {
    const Bytes& certificate = backend->card(kReader).cert9d;
    const std::string secret = "AES key of bid 2026-0042";
    for (const EVP_CIPHER* cipher : {EVP_des_ede3_cbc(), EVP_aes_256_cbc()}) {
        const json response =
            run({{"func", "DecryptData"},
                 {"cipher", service::encodeBase64(cmsEncrypt(certificate, secret, cipher))},
                 {"cipherType", "PKCS7"},
                 {"plainEncoding", "NONE"},
                 {"pin", "123456"}});
        ASSERT_EQ(response["ret_code"], 0) << response.dump();
        EXPECT_EQ(response["func"], "decrypt");
        EXPECT_EQ(response["plain"], secret);
    }
    // The API itself keeps refusing 3DES.
    Answer refused =
        call("decrypt",
             {{"certificateId", cardId + ":9d"},
              {"pin", "123456"},
              {"cms", service::encodeBase64(cmsEncrypt(certificate, secret, EVP_des_ede3_cbc()))}});
    EXPECT_EQ(refused.reason(), "UNSUPPORTED_ALGORITHM");

    const Bytes ciphertext = opensslEncrypt(certificate, card::RsaDecryptPadding::Pkcs1v15,
                                            card::HashAlgorithm::Sha256, bytesOf(secret));
    json response = run({{"func", "DecryptData"},
                         {"cipher", service::encodeBase64(ciphertext)},
                         {"cipherType", "PKCS1"},
                         {"plainEncoding", "base64"},
                         {"pin", "123456"}});
    ASSERT_EQ(response["ret_code"], 0) << response.dump();
    EXPECT_EQ(service::decodeBase64(response["plain"].get<std::string>()), bytesOf(secret));
}

TEST_F(Hipki, DecryptDataFailuresShareOneCode) {
    const Bytes& certificate = backend->card(kReader).cert9d;
    Bytes other = cmsEncrypt(cert9c(), "x", EVP_aes_256_cbc());  // not for this key
    json response = run({{"func", "DecryptData"},
                         {"cipher", service::encodeBase64(other)},
                         {"cipherType", "PKCS7"},
                         {"pin", "123456"}});
    const json notForThisKey = response["ret_code"];
    EXPECT_EQ(notForThisKey, 0x7600000D);
    response = run(
        {{"func", "DecryptData"}, {"cipher", "MIIB"}, {"cipherType", "PKCS7"}, {"pin", "123456"}});
    EXPECT_EQ(response["ret_code"], notForThisKey);
    Bytes ciphertext = opensslEncrypt(certificate, card::RsaDecryptPadding::Pkcs1v15,
                                      card::HashAlgorithm::Sha256, bytesOf("x"));
    ciphertext[10] ^= 1;
    response = run({{"func", "DecryptData"},
                    {"cipher", service::encodeBase64(ciphertext)},
                    {"cipherType", "PKCS1"},
                    {"pin", "123456"}});
    EXPECT_EQ(response["ret_code"], notForThisKey);
}

TEST_F(Hipki, NoCardAndNoReader) {
    backend->remove(kReader);
    settle();
    EXPECT_EQ(sign({{"tbs", "x"}})["ret_code"], 0x76000006);
    backend->removeReader(kReader);
    settle();
    EXPECT_EQ(sign({{"tbs", "x"}})["ret_code"], 0x76100003);
    EXPECT_EQ(sign({{"tbs", "x"}, {"slotDescription", "Other Reader"}})["ret_code"], 0x76100003);
}

}  // namespace
}  // namespace tk::test
