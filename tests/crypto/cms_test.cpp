// CMS signing and decryption with a card key through the card provider, against a software
// token whose keys are OpenSSL keys in memory. Every signature is checked by the openssl
// command line (`openssl cms -verify -binary -cades`), every envelope is made by it
// (`openssl cms -encrypt`), so the code is never judged by itself alone.

#include <gtest/gtest.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "card/errors.hpp"
#include "crypto/card_key.hpp"
#include "crypto/cms.hpp"
#include "crypto/digest.hpp"
#include "software_token.hpp"
#include "support/openssl_util.hpp"

namespace tk::test {
namespace {

namespace fs = std::filesystem;
using card::Bytes;
using card::HashAlgorithm;
using card::SignatureScheme;

class TempDir {
  public:
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "tk-cms-XXXXXX").string();
        if (mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::string file(const std::string& name) const { return (path_ / name).string(); }

  private:
    fs::path path_;
};

void writeFile(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void writeFile(const std::string& path, const Bytes& bytes) {
    writeFile(path, std::string(bytes.begin(), bytes.end()));
}

std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

Bytes toBytes(const std::string& s) {
    return Bytes(s.begin(), s.end());
}

std::string certificatePem(const Bytes& der) {
    return certificatePemOf(std::string(der.begin(), der.end()));
}

// Runs a shell command; its output goes to `log`.
int run(const std::string& command, const std::string& log) {
    const int status = std::system((command + " >" + log + " 2>&1").c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

struct Key {
    std::string type;
    PKeyPtr key{nullptr, EVP_PKEY_free};
    Bytes certificate;
};

class Cms : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        ca_ = new TestCa;
        for (const std::string type : {"RSA-2048", "EC-P256", "EC-P384"}) {
            auto* key = new Key;
            key->type = type;
            key->key = generateKey(type);
            key->certificate =
                ca_->issue(key->key.get(), "Signer " + type,
                           type[0] == 'R' ? "digitalSignature,nonRepudiation,keyEncipherment"
                                          : "digitalSignature,nonRepudiation,keyAgreement");
            keys_[type] = key;
        }
    }
    static void TearDownTestSuite() {
        for (auto& [type, key] : keys_) {
            delete key;
        }
        keys_.clear();
        delete ca_;
        ca_ = nullptr;
    }

    void SetUp() override { writeFile(dir_.file("ca.pem"), ca_->pem()); }

    static const Key& key(const std::string& type) { return *keys_.at(type); }

    // A software token holding `type`'s key in slot "9c".
    static std::unique_ptr<SoftwareToken> tokenWith(const std::string& type) {
        auto token = std::make_unique<SoftwareToken>();
        token->addKey("9c", key(type).key.get(), key(type).certificate);
        return token;
    }

    static card::PinInput pin() {
        card::PinInput input;
        input.pin = card::SecureBytes::fromText("123456");
        return input;
    }

    Bytes sign(SoftwareToken& token, const std::string& type, SignatureScheme scheme,
               HashAlgorithm hash, const std::string& content, bool attached,
               bool signingTime = true) {
        crypto::TokenKeyOperations operations(token, "9c", pin());
        crypto::CmsSignRequest request;
        request.scheme = scheme;
        request.hash = hash;
        request.digest = crypto::digest(hash, toBytes(content));
        if (attached) {
            request.content = toBytes(content);
        }
        request.signingTime = signingTime;
        return crypto::cmsSign(operations, key(type).certificate, request);
    }

    // openssl cms -verify -binary -cades against the test CA; detached signatures get the
    // content as a file. Returns the exit status; `recovered` gets the content it wrote.
    int verify(const Bytes& cms, const std::string& content, bool detached,
               std::string* recovered = nullptr) {
        writeFile(dir_.file("sig.der"), cms);
        writeFile(dir_.file("content.bin"), content);
        std::string command = "openssl cms -verify -binary -cades -inform DER -in " +
                              dir_.file("sig.der") + " -CAfile " + dir_.file("ca.pem") + " -out " +
                              dir_.file("out.bin");
        if (detached) {
            command += " -content " + dir_.file("content.bin");
        }
        const int rc = run(command, dir_.file("verify.log"));
        if (recovered != nullptr) {
            *recovered = readFile(dir_.file("out.bin"));
        }
        return rc;
    }

    std::string verifyLog() const { return readFile(dir_.file("verify.log")); }

    // openssl cms -encrypt to `certificate` with `options`: a content cipher (-aes128, -des3,
    // ...; AES-256 when none is named, OpenSSL's own default being 3DES) and -keyopt values
    // for this recipient, optionally followed by further -recip FILE.
    Bytes envelope(const Bytes& certificate, const std::string& plaintext, std::string options) {
        writeFile(dir_.file("recipient.pem"), certificatePem(certificate));
        writeFile(dir_.file("plain.bin"), plaintext);
        std::string cipher = "-aes256";
        if (options.rfind("-aes", 0) == 0 || options.rfind("-des3", 0) == 0) {
            const std::size_t space = options.find(' ');
            cipher = options.substr(0, space);
            options = space == std::string::npos ? "" : options.substr(space);
        }
        const std::string command = "openssl cms -encrypt -binary -outform DER " + cipher +
                                    " -in " + dir_.file("plain.bin") + " -out " +
                                    dir_.file("env.der") + " -recip " + dir_.file("recipient.pem") +
                                    " " + options;
        const int rc = run(command, dir_.file("encrypt.log"));
        if (rc != 0) {
            throw std::runtime_error("openssl cms -encrypt failed: " +
                                     readFile(dir_.file("encrypt.log")));
        }
        return toBytes(readFile(dir_.file("env.der")));
    }

    static std::string decrypt(SoftwareToken& token, const std::string& type, const Bytes& cms) {
        crypto::TokenKeyOperations operations(token, "9c", pin());
        const card::SecureBytes plaintext =
            crypto::cmsDecrypt(operations, key(type).certificate, cms);
        return std::string(plaintext.begin(), plaintext.end());
    }

    static crypto::CmsError::Kind decryptError(SoftwareToken& token, const std::string& type,
                                               const Bytes& cms) {
        try {
            (void)decrypt(token, type, cms);
        } catch (const crypto::CmsError& e) {
            return e.kind();
        }
        throw std::runtime_error("decryption did not fail");
    }

    TempDir dir_;
    static TestCa* ca_;
    static std::map<std::string, Key*> keys_;
};

TestCa* Cms::ca_ = nullptr;
std::map<std::string, Key*> Cms::keys_;

const std::string kContent = "TenderKey bid 2025-0042\r\nbinary \x01\x02\xff tail\n";
const std::string kSecret = "AES-256 key of bid 2025-0042, sealed until opening day.";

const HashAlgorithm kHashes[] = {HashAlgorithm::Sha256, HashAlgorithm::Sha384,
                                 HashAlgorithm::Sha512};

CMS_ContentInfo* parseCms(const Bytes& der) {
    const unsigned char* p = der.data();
    return d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size()));
}

// ---- signing ----

TEST_F(Cms, Sign_RsaPkcs1AndPss_EveryHash_DetachedAndAttached_VerifyWithOpenSslCli) {
    for (const auto scheme : {SignatureScheme::RsaPkcs1v15, SignatureScheme::RsaPss}) {
        for (const auto hash : kHashes) {
            for (const bool attached : {false, true}) {
                auto token = tokenWith("RSA-2048");
                const Bytes cms = sign(*token, "RSA-2048", scheme, hash, kContent, attached);
                std::string recovered;
                EXPECT_EQ(verify(cms, kContent, !attached, &recovered), 0)
                    << card::signatureSchemeName(scheme) << " " << card::hashAlgorithmName(hash)
                    << " attached=" << attached << "\n"
                    << verifyLog();
                EXPECT_EQ(recovered, kContent);
                EXPECT_EQ(token->operations, 1);
                EXPECT_EQ(token->lastScheme, scheme);
                EXPECT_EQ(token->lastHash, hash);
                EXPECT_TRUE(token->lastHadPin);
            }
        }
    }
}

TEST_F(Cms, Sign_EcdsaP256AndP384_EveryHash_DetachedAndAttached_VerifyWithOpenSslCli) {
    for (const std::string type : {"EC-P256", "EC-P384"}) {
        for (const auto hash : kHashes) {
            for (const bool attached : {false, true}) {
                auto token = tokenWith(type);
                const Bytes cms =
                    sign(*token, type, SignatureScheme::Ecdsa, hash, kContent, attached);
                EXPECT_EQ(verify(cms, kContent, !attached), 0)
                    << type << " " << card::hashAlgorithmName(hash) << " attached=" << attached
                    << "\n"
                    << verifyLog();
                EXPECT_EQ(token->operations, 1);
            }
        }
    }
}

TEST_F(Cms, Sign_Rsa3072Pss_VerifiesWithOpenSslCli) {
    PKeyPtr rsa = generateKey("RSA-3072");
    const Bytes certificate = ca_->issue(rsa.get(), "Signer RSA-3072", "digitalSignature");
    SoftwareToken token;
    token.addKey("9c", rsa.get(), certificate);
    crypto::TokenKeyOperations operations(token, "9c", pin());
    crypto::CmsSignRequest request;
    request.scheme = SignatureScheme::RsaPss;
    request.hash = HashAlgorithm::Sha384;
    request.digest = crypto::digest(request.hash, toBytes(kContent));
    const Bytes cms = crypto::cmsSign(operations, certificate, request);
    EXPECT_EQ(verify(cms, kContent, true), 0) << verifyLog();
}

TEST_F(Cms, Sign_TamperedContentOrOtherCa_FailsVerification) {
    auto token = tokenWith("RSA-2048");
    const Bytes cms = sign(*token, "RSA-2048", SignatureScheme::RsaPkcs1v15, HashAlgorithm::Sha256,
                           kContent, false);
    ASSERT_EQ(verify(cms, kContent, true), 0) << verifyLog();
    EXPECT_NE(verify(cms, kContent + ".", true), 0);
    // The certificate inside must chain to the CA given, not to any CA.
    TestCa other;
    writeFile(dir_.file("ca.pem"), other.pem());
    EXPECT_NE(verify(cms, kContent, true), 0);
}

TEST_F(Cms, Sign_PssSignerInfoStatesRsassaPssWithHashMgf1AndSaltLength) {
    auto token = tokenWith("RSA-2048");
    const Bytes der =
        sign(*token, "RSA-2048", SignatureScheme::RsaPss, HashAlgorithm::Sha384, kContent, false);
    std::unique_ptr<CMS_ContentInfo, decltype(&CMS_ContentInfo_free)> cms(parseCms(der),
                                                                          CMS_ContentInfo_free);
    ASSERT_TRUE(cms);
    CMS_SignerInfo* signer = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms.get()), 0);
    X509_ALGOR* algorithm = nullptr;
    CMS_SignerInfo_get0_algs(signer, nullptr, nullptr, nullptr, &algorithm);
    const ASN1_OBJECT* oid = nullptr;
    int type = 0;
    const void* value = nullptr;
    X509_ALGOR_get0(&oid, &type, &value, algorithm);
    ASSERT_EQ(OBJ_obj2nid(oid), NID_rsassaPss);
    ASSERT_EQ(type, V_ASN1_SEQUENCE);
    const auto* sequence = static_cast<const ASN1_STRING*>(value);
    const unsigned char* p = ASN1_STRING_get0_data(sequence);
    std::unique_ptr<RSA_PSS_PARAMS, decltype(&RSA_PSS_PARAMS_free)> pss(
        d2i_RSA_PSS_PARAMS(nullptr, &p, ASN1_STRING_length(sequence)), RSA_PSS_PARAMS_free);
    ASSERT_TRUE(pss);
    X509_ALGOR_get0(&oid, nullptr, nullptr, pss->hashAlgorithm);
    EXPECT_EQ(OBJ_obj2nid(oid), NID_sha384);
    X509_ALGOR_get0(&oid, nullptr, nullptr, pss->maskGenAlgorithm);
    EXPECT_EQ(OBJ_obj2nid(oid), NID_mgf1);
    EXPECT_EQ(ASN1_INTEGER_get(pss->saltLength), 48);
}

TEST_F(Cms, Sign_SignedAttributes_SigningTimeOnlyWhenAskedEssV2Always) {
    for (const bool signingTime : {true, false}) {
        auto token = tokenWith("EC-P256");
        const Bytes der = sign(*token, "EC-P256", SignatureScheme::Ecdsa, HashAlgorithm::Sha256,
                               kContent, false, signingTime);
        EXPECT_EQ(verify(der, kContent, true), 0) << verifyLog();
        std::unique_ptr<CMS_ContentInfo, decltype(&CMS_ContentInfo_free)> cms(parseCms(der),
                                                                              CMS_ContentInfo_free);
        ASSERT_TRUE(cms);
        EXPECT_EQ(OBJ_obj2nid(CMS_get0_type(cms.get())), NID_pkcs7_signed);
        EXPECT_EQ(CMS_get0_content(cms.get()) != nullptr && *CMS_get0_content(cms.get()) != nullptr,
                  false);  // detached
        CMS_SignerInfo* signer = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms.get()), 0);
        EXPECT_EQ(CMS_signed_get_attr_by_NID(signer, NID_pkcs9_signingTime, -1) >= 0, signingTime);
        EXPECT_GE(CMS_signed_get_attr_by_NID(signer, NID_pkcs9_contentType, -1), 0);
        EXPECT_GE(CMS_signed_get_attr_by_NID(signer, NID_pkcs9_messageDigest, -1), 0);
        EXPECT_GE(CMS_signed_get_attr_by_NID(signer, NID_id_smime_aa_signingCertificateV2, -1), 0);
        STACK_OF(X509)* certs = CMS_get1_certs(cms.get());
        EXPECT_EQ(sk_X509_num(certs), 1);  // the signer certificate
        sk_X509_pop_free(certs, X509_free);
    }
}

// The HiPKI dialect's extra signed attributes: randomNonce (an OCTET STRING) and the card
// serial number (a UTF8String), each present only when asked, in a signature OpenSSL verifies.
TEST_F(Cms, Sign_RandomNonceAndCardSerialAttributes_OnlyWhenAsked) {
    for (const bool extras : {true, false}) {
        auto token = tokenWith("RSA-2048");
        crypto::TokenKeyOperations operations(*token, "9c", pin());
        crypto::CmsSignRequest request;
        request.digest = crypto::digest(HashAlgorithm::Sha256, toBytes(kContent));
        request.content = toBytes(kContent);
        if (extras) {
            request.randomNonce = toBytes("nonce-1234");
            request.cardSerialNumber = "TW0123456789";
        }
        const Bytes der = crypto::cmsSign(operations, key("RSA-2048").certificate, request);
        EXPECT_EQ(verify(der, kContent, false), 0) << verifyLog();
        std::unique_ptr<CMS_ContentInfo, decltype(&CMS_ContentInfo_free)> cms(parseCms(der),
                                                                              CMS_ContentInfo_free);
        ASSERT_TRUE(cms);
        CMS_SignerInfo* signer = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms.get()), 0);
        std::unique_ptr<ASN1_OBJECT, decltype(&ASN1_OBJECT_free)> nonceOid(
            OBJ_txt2obj("1.2.840.113549.1.9.25.3", 1), ASN1_OBJECT_free);
        std::unique_ptr<ASN1_OBJECT, decltype(&ASN1_OBJECT_free)> serialOid(
            OBJ_txt2obj("2.16.886.1.100.2.204", 1), ASN1_OBJECT_free);
        const auto* nonce = static_cast<ASN1_OCTET_STRING*>(
            CMS_signed_get0_data_by_OBJ(signer, nonceOid.get(), -3, V_ASN1_OCTET_STRING));
        const auto* serial = static_cast<ASN1_STRING*>(
            CMS_signed_get0_data_by_OBJ(signer, serialOid.get(), -3, V_ASN1_UTF8STRING));
        EXPECT_EQ(nonce != nullptr, extras);
        EXPECT_EQ(serial != nullptr, extras);
        if (extras && nonce != nullptr && serial != nullptr) {
            EXPECT_EQ(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(nonce)),
                                  ASN1_STRING_length(nonce)),
                      "nonce-1234");
            EXPECT_EQ(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(serial)),
                                  ASN1_STRING_length(serial)),
                      "TW0123456789");
        }
    }
}

TEST_F(Cms, Sign_CardErrorPassesThroughUnchanged) {
    auto token = tokenWith("RSA-2048");
    token->failNext = std::make_exception_ptr(card::PinIncorrect(2));
    try {
        (void)sign(*token, "RSA-2048", SignatureScheme::RsaPkcs1v15, HashAlgorithm::Sha256,
                   kContent, false);
        FAIL() << "no exception";
    } catch (const card::PinIncorrect& e) {
        EXPECT_EQ(e.retriesLeft(), 2);
    }
    EXPECT_EQ(token->operations, 1);
}

TEST_F(Cms, Sign_DigestOfWrongLength_RefusedBeforeTheCard) {
    auto token = tokenWith("RSA-2048");
    crypto::TokenKeyOperations operations(*token, "9c", pin());
    crypto::CmsSignRequest request;
    request.hash = HashAlgorithm::Sha384;
    request.digest = Bytes(32, 0x11);
    EXPECT_THROW((void)crypto::cmsSign(operations, key("RSA-2048").certificate, request),
                 crypto::Error);
    EXPECT_EQ(token->operations, 0);
}

// ---- the provider key ----

TEST_F(Cms, CardKey_MatchesItsCertificateOnly) {
    auto token = tokenWith("EC-P384");
    crypto::TokenKeyOperations operations(*token, "9c", pin());
    for (const std::string type : {"RSA-2048", "EC-P256", "EC-P384"}) {
        crypto::CardKey cardKey(key(type).certificate, operations);
        const Bytes& der = key(type).certificate;
        const unsigned char* p = der.data();
        X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())), X509_free);
        EXPECT_EQ(X509_check_private_key(cert.get(), cardKey.get()), 1) << type;
        const Bytes& other = key(type == "EC-P256" ? "EC-P384" : "EC-P256").certificate;
        p = other.data();
        X509Ptr otherCert(d2i_X509(nullptr, &p, static_cast<long>(other.size())), X509_free);
        EXPECT_EQ(X509_check_private_key(otherCert.get(), cardKey.get()), 0) << type;
        ERR_clear_error();
        EXPECT_EQ(EVP_PKEY_get_bits(cardKey.get()),
                  EVP_PKEY_get_bits(X509_get0_pubkey(cert.get())));
        EXPECT_EQ(EVP_PKEY_get_size(cardKey.get()),
                  EVP_PKEY_get_size(X509_get0_pubkey(cert.get())));
    }
    EXPECT_EQ(token->operations, 0);
}

TEST_F(Cms, TokenKeyOperations_SecondCardOperationRefused) {
    auto token = tokenWith("RSA-2048");
    crypto::TokenKeyOperations operations(*token, "9c", pin());
    const Bytes digest(32, 0x42);
    (void)operations.sign(SignatureScheme::RsaPkcs1v15, HashAlgorithm::Sha256, digest);
    EXPECT_THROW((void)operations.sign(SignatureScheme::RsaPkcs1v15, HashAlgorithm::Sha256, digest),
                 crypto::Error);
    EXPECT_EQ(token->operations, 1);
}

// ---- decryption ----

TEST_F(Cms, Decrypt_RsaKeyTransport_Pkcs1AndOaepVariants_AesContent) {
    struct Case {
        std::string options;
        card::RsaDecryptPadding padding;  // what the card was asked for
    };
    const Case cases[] = {
        {"", card::RsaDecryptPadding::Pkcs1v15},
        {"-aes128", card::RsaDecryptPadding::Pkcs1v15},
        {"-aes192", card::RsaDecryptPadding::Pkcs1v15},
        {"-aes256 -keyopt rsa_padding_mode:oaep", card::RsaDecryptPadding::None},  // SHA-1
        {"-aes128 -keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha256",
         card::RsaDecryptPadding::Oaep},
        {"-keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha384", card::RsaDecryptPadding::Oaep},
        {"-keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha512", card::RsaDecryptPadding::Oaep},
        {"-keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha256 -keyopt rsa_mgf1_md:sha1",
         card::RsaDecryptPadding::None},
    };
    for (const Case& c : cases) {
        const Bytes cms = envelope(key("RSA-2048").certificate, kSecret, c.options);
        auto token = tokenWith("RSA-2048");
        EXPECT_EQ(decrypt(*token, "RSA-2048", cms), kSecret) << c.options;
        EXPECT_EQ(token->operations, 1) << c.options;
        EXPECT_EQ(token->lastPadding, c.padding) << c.options;
    }
}

TEST_F(Cms, Decrypt_EcdhKeyAgreement_P256AndP384_EveryKdfHash_AesWrap) {
    for (const std::string type : {"EC-P256", "EC-P384"}) {
        for (const std::string options :
             {"", "-aes128 -keyopt ecdh_kdf_md:sha224", "-aes192 -keyopt ecdh_kdf_md:sha256",
              "-aes256 -keyopt ecdh_kdf_md:sha384", "-aes128 -keyopt ecdh_kdf_md:sha512"}) {
            const Bytes cms = envelope(key(type).certificate, kSecret, options);
            auto token = tokenWith(type);
            EXPECT_EQ(decrypt(*token, type, cms), kSecret) << type << " " << options;
            EXPECT_EQ(token->operations, 1);
        }
    }
}

TEST_F(Cms, Decrypt_SeveralRecipients_OnlyThisKeysIsTried) {
    writeFile(dir_.file("other.pem"), certificatePem(key("EC-P256").certificate));
    const Bytes cms =
        envelope(key("RSA-2048").certificate, kSecret, "-recip " + dir_.file("other.pem"));
    auto token = tokenWith("RSA-2048");
    EXPECT_EQ(decrypt(*token, "RSA-2048", cms), kSecret);
    EXPECT_EQ(token->operations, 1);
}

TEST_F(Cms, Decrypt_NoRecipientForThisKey_DecryptFailedWithoutTheCard) {
    const Bytes cms = envelope(key("EC-P256").certificate, kSecret, "");
    auto token = tokenWith("EC-P384");
    EXPECT_EQ(decryptError(*token, "EC-P384", cms), crypto::CmsError::Kind::DecryptFailed);
    EXPECT_THROW(crypto::checkEnvelope(key("EC-P384").certificate, cms), crypto::CmsError);
    EXPECT_EQ(token->operations, 0);
}

TEST_F(Cms, Decrypt_NotEnvelopedDataOrNotDer_Malformed) {
    auto token = tokenWith("RSA-2048");
    const Bytes signedData = sign(*token, "RSA-2048", SignatureScheme::RsaPkcs1v15,
                                  HashAlgorithm::Sha256, kContent, true);
    const Bytes good = envelope(key("RSA-2048").certificate, kSecret, "");
    Bytes truncated(good.begin(), good.end() - 20);
    Bytes trailing = good;
    trailing.push_back(0);
    for (const Bytes& bad : {signedData, toBytes("not DER at all"), Bytes{}, truncated, trailing}) {
        auto fresh = tokenWith("RSA-2048");
        EXPECT_EQ(decryptError(*fresh, "RSA-2048", bad), crypto::CmsError::Kind::Malformed);
        EXPECT_EQ(fresh->operations, 0);
    }
}

TEST_F(Cms, Decrypt_TripleDesContent_UnsupportedWithoutTheCard) {
    const Bytes cms = envelope(key("RSA-2048").certificate, kSecret, "-des3");
    auto token = tokenWith("RSA-2048");
    EXPECT_EQ(decryptError(*token, "RSA-2048", cms), crypto::CmsError::Kind::Unsupported);
    EXPECT_EQ(token->operations, 0);
}

// DES-EDE3-CBC only for a caller that opts in per call (the HiPKI endpoint).
TEST_F(Cms, Decrypt_TripleDesContent_AcceptedOnlyWithThePerCallOption) {
    const Bytes cms = envelope(key("RSA-2048").certificate, kSecret, "-des3");
    auto token = tokenWith("RSA-2048");
    crypto::CmsDecryptOptions options;
    options.allowDesEde3 = true;
    crypto::checkEnvelope(key("RSA-2048").certificate, cms, options);
    crypto::TokenKeyOperations operations(*token, "9c", pin());
    const card::SecureBytes plaintext =
        crypto::cmsDecrypt(operations, key("RSA-2048").certificate, cms, options);
    EXPECT_EQ(std::string(plaintext.begin(), plaintext.end()), kSecret);
    EXPECT_THROW(crypto::checkEnvelope(key("RSA-2048").certificate, cms), crypto::CmsError);
}

TEST_F(Cms, Decrypt_WrongPrivateKeyOrCorruptContent_DecryptFailed) {
    // The card holds another key than its certificate says: the key transport fails, for the
    // card's own padding check (PKCS#1 v1.5) and for the host-side one (OAEP with SHA-1).
    PKeyPtr stranger = generateKey("RSA-2048");
    for (const std::string options : {"", "-keyopt rsa_padding_mode:oaep"}) {
        const Bytes cms = envelope(key("RSA-2048").certificate, kSecret, options);
        SoftwareToken token;
        token.addKey("9c", stranger.get(), key("RSA-2048").certificate);
        crypto::TokenKeyOperations operations(token, "9c", pin());
        bool failed = false;
        try {
            (void)crypto::cmsDecrypt(operations, key("RSA-2048").certificate, cms);
        } catch (const card::DecryptFailed&) {
            failed = true;
        } catch (const crypto::CmsError& e) {
            failed = e.kind() == crypto::CmsError::Kind::DecryptFailed;
        }
        EXPECT_TRUE(failed) << options;
    }
    // The last padding byte of the content turned into an invalid one (XOR into the previous
    // ciphertext block).
    Bytes cms = envelope(key("EC-P256").certificate, kSecret, "-aes128");
    cms[cms.size() - 17] ^= 0x40;
    auto token = tokenWith("EC-P256");
    EXPECT_EQ(decryptError(*token, "EC-P256", cms), crypto::CmsError::Kind::DecryptFailed);
}

TEST_F(Cms, Decrypt_CardErrorPassesThroughUnchanged) {
    const Bytes cms = envelope(key("EC-P384").certificate, kSecret, "");
    auto token = tokenWith("EC-P384");
    token->failNext = std::make_exception_ptr(card::PinIncorrect(1));
    EXPECT_THROW((void)decrypt(*token, "EC-P384", cms), card::PinIncorrect);
}

}  // namespace
}  // namespace tk::test
