// tenderkeyd with --pkcs11-module pointing at the HiCOS shim over a SoftHSM2 token laid out as
// a GPKI company card (tests/gpki/support), inside tests/harness/with-cards. Signatures are
// verified with `openssl cms -verify` against the test root; sealed data is made with
// `openssl cms -encrypt`; whether a PIN reached the token is read from the shim's C_Login log.

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "support/daemon_process.hpp"
#include "support/gpki.hpp"
#include "support/harness_files.hpp"
#include "support/openssl_checks.hpp"
#include "support/openssl_util.hpp"
#include "support/schema_validator.hpp"
#include "support/test_env.hpp"
#include "support/ws_client.hpp"

namespace tk::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

const std::string kOrigin = "https://web.pcc.gov.tw";
// An origin the administrator granted sign-raw (raw signatures with a key that also registers).
const std::string kRawOrigin = "https://raw.pcc.gov.tw";
const std::string kContent = "投標文件 tender 2026-12-06";
const std::string kSecret = "sealed bid: NT$ 1,234,567";

card::Bytes bytesOf(const std::string& text) {
    return card::Bytes(text.begin(), text.end());
}

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;

X509Ptr x509Of(const std::string& der) {
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    return X509Ptr(d2i_X509(nullptr, &p, static_cast<long>(der.size())), X509_free);
}

// The registration token checked with OpenSSL: the certificate chains to the test root through
// the `chain` certificates (untrusted), and RS256 verifies over H(origin) || H(challenge).
std::string tokenProblem(const json& token, const std::string& origin,
                         const std::string& challenge) {
    const X509Ptr cert = x509Of(base64Decode(token.at("unverifiedCertificate")));
    if (!cert) {
        return "unverifiedCertificate does not parse";
    }
    std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(),
                                                                  X509_STORE_free);
    const X509Ptr root = x509Of(readFile(gpkiFile("root.der")));
    X509_STORE_add_cert(store.get(), root.get());
    std::unique_ptr<STACK_OF(X509), void (*)(STACK_OF(X509)*)> untrusted(
        sk_X509_new_null(), [](STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); });
    for (const auto& der : token.at("chain")) {
        sk_X509_push(untrusted.get(), x509Of(base64Decode(der)).release());
    }
    std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(),
                                                                        X509_STORE_CTX_free);
    X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), untrusted.get());
    if (X509_verify_cert(ctx.get()) != 1) {
        return std::string("no chain to the test root: ") +
               X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
    }
    if (token.at("algorithm") != "RS256" || token.at("format") != "web-eid:1.0") {
        return "not an RS256 web-eid:1.0 token";
    }
    std::string message;
    for (const std::string* part : {&origin, &challenge}) {
        unsigned char hash[EVP_MAX_MD_SIZE];
        unsigned int length = 0;
        EVP_Digest(part->data(), part->size(), hash, &length, EVP_sha256(), nullptr);
        message.append(reinterpret_cast<const char*>(hash), length);
    }
    const std::string signature = base64Decode(token.at("signature"));
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(X509_get_pubkey(cert.get()),
                                                            EVP_PKEY_free);
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    if (EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
        EVP_DigestVerify(md.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                         signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                         message.size()) != 1) {
        return "the signature does not verify over H(origin) || H(challenge)";
    }
    return {};
}

class HicosDaemon : public ::testing::Test {
  protected:
    void SetUp() override {
        port_ = freePort();
        daemon_ = std::make_unique<ChildProcess>(
            TK_DAEMON_BINARY,
            std::vector<std::string>{"--dev", "--port", std::to_string(port_), "--allow-origin",
                                     kOrigin + "=read,sign,decrypt,register,manage",
                                     "--allow-origin", kRawOrigin + "=read,sign,sign-raw",
                                     "--pkcs11-module", hicosShimModule()},
            env("TK_HARNESS_DIR") + "/tenderkeyd.log");
        ASSERT_TRUE(daemon_->waitForLog("listening on", 15s)) << daemon_->log();
        client_ = std::make_unique<WsClient>("127.0.0.1", port_);
        ASSERT_EQ(client_->open(kOrigin).status, 101);
        client_->onMessage = [this](const json& message, const std::string& method) {
            for (const auto& e : schemas().message(message, method)) {
                violations_.push_back(message.dump().substr(0, 300) + ": " + e);
            }
        };
        const json reader = tokenReader();
        card_ = reader["card"];
        const json list = client_->call("certificates.list", {{"reader", reader["name"]}});
        ASSERT_TRUE(list.contains("result")) << list.dump();
        certificates_ = list["result"]["certificates"];
        caCertificates_ = list["result"]["caCertificates"];
    }

    void TearDown() override {
        for (const auto& v : violations_) {
            ADD_FAILURE() << "schema violation: " << v;
        }
        if (HasFailure() && daemon_) {
            std::cerr << "---- tenderkeyd log ----\n" << daemon_->log();
        }
    }

    json tokenReader() {
        for (int i = 0; i < 100; ++i) {
            const json r = client_->call("readers.list");
            for (const auto& entry : r["result"]["readers"]) {
                if (entry["cardPresent"] == true && entry["card"]["type"] == "pkcs11") {
                    return entry;
                }
            }
            std::this_thread::sleep_for(100ms);
        }
        throw std::runtime_error("the daemon never showed the HiCOS token");
    }

    json certificate(const std::string& slot) const {
        for (const auto& c : certificates_) {
            if (c["slot"] == slot) {
                return c;
            }
        }
        throw std::runtime_error("no certificate in slot " + slot);
    }

    std::string file(const std::string& name) const { return token_.directory() + "/" + name; }

    json verify(const std::string& pin, bool lastAttempt = false) {
        json params{{"cardId", card_["id"]}, {"pin", pin}};
        if (lastAttempt) {
            params["lastAttempt"] = true;
        }
        return client_->call("pin.verify", params);
    }

    static void expectReason(const json& response, const std::string& reason) {
        ASSERT_TRUE(response.contains("error")) << response.dump();
        EXPECT_EQ(response["error"]["data"]["reason"], reason) << response.dump();
    }

    HicosToken token_{"company", "moeaca"};  // before the daemon, which inherits its variables
    std::uint16_t port_ = 0;
    std::unique_ptr<ChildProcess> daemon_;
    std::unique_ptr<WsClient> client_;
    std::vector<std::string> violations_;
    json card_;
    json certificates_;
    json caCertificates_;
};

TEST_F(HicosDaemon, List_HiCosTokenWithSignAndKeyxAndTheirFacts) {
    EXPECT_EQ(card_["label"], kHicosLabel) << card_.dump();
    const json sign = certificate(kSignId);
    const json keyx = certificate(kKeyxId);
    EXPECT_EQ(sign["label"], "SIGN");
    EXPECT_EQ(keyx["label"], "KEYX");
    EXPECT_EQ(sign["keyAlgorithm"], "RSA-2048");
    EXPECT_EQ(base64Decode(sign["der"]), readFile(gpkiFile("company-sign.der")));
    EXPECT_EQ(base64Decode(keyx["der"]), readFile(gpkiFile("company-keyx.der")));
    EXPECT_EQ(sign["keyUsage"], json::array({"digitalSignature"}));
    EXPECT_EQ(keyx["keyUsage"], json::array({"keyEncipherment", "dataEncipherment"}));
    EXPECT_NE(std::find(sign["usableFor"].begin(), sign["usableFor"].end(), "sign"),
              sign["usableFor"].end())
        << sign.dump();
    EXPECT_EQ(keyx["usableFor"], json::array({"decrypt"}));
    for (const json& c : {sign, keyx}) {
        EXPECT_EQ(c["organizationId"]["value"], "12345678") << c.dump();
        EXPECT_EQ(c["organizationId"]["source"], "both");
        EXPECT_EQ(c["organizationId"]["mismatch"], false);
        EXPECT_EQ(c["subjectType"], "company");
        EXPECT_EQ(c["primaryCard"], true);
        EXPECT_EQ(c["policies"], json::array({"2.16.886.101.0.3.3"}));
        EXPECT_EQ(c["subjectAttributes"][1],
                  json({{"type", "O"}, {"value", "測試科技股份有限公司"}}));
        EXPECT_EQ(c["issuerAttributes"][2],
                  json({{"type", "OU"}, {"value", "工商憑證管理中心測試"}}));
        EXPECT_EQ(c["fingerprintSha256"].get<std::string>().size(), 64u);
    }
    const json status = client_->call("pin.status", {{"cardId", card_["id"]}});
    EXPECT_EQ(status["result"]["retriesLeft"], 3) << status.dump();
    EXPECT_EQ(status["result"]["blocked"], false);
}

TEST_F(HicosDaemon, CmsSignWithSign_VerifiedByOpenSslAgainstTestRoot) {
    const json sign = certificate(kSignId);
    const json r = client_->call("sign", {{"certificateId", sign["id"]},
                                          {"pin", kHicosPin},
                                          {"data", base64Encode(kContent)},
                                          {"format", "cms"},
                                          {"cms", {{"detached", true}, {"signingTime", true}}}});
    ASSERT_TRUE(r.contains("result")) << r.dump();
    writeFile(file("sig.der"), base64Decode(r["result"]["cms"]));
    writeFile(file("content.bin"), kContent);
    // `openssl cms -verify` builds the chain from the CMS's own certificates and its trust
    // store only, so it gets the issuing CA in the store; that the signer chains to the test
    // root with the issuing CA as an untrusted intermediate is checked by `openssl verify`.
    writeFile(file("store.pem"),
              readFile(gpkiFile("root.pem")) + readFile(gpkiFile("ca-moeaca.pem")));
    const std::string verify = "openssl cms -verify -binary -cades -inform DER -in " +
                               file("sig.der") + " -CAfile " + file("store.pem") + " -signer " +
                               file("signer.pem") + " -out " + file("verified.bin") + " -content ";
    ASSERT_EQ(run(verify + file("content.bin"), file("verify.log")), 0)
        << readFile(file("verify.log"));
    EXPECT_EQ(readFile(file("verified.bin")), kContent);
    EXPECT_EQ(run("openssl verify -CAfile " + gpkiFile("root.pem") + " -untrusted " +
                      gpkiFile("ca-moeaca.pem") + " " + file("signer.pem"),
                  file("chain.log")),
              0)
        << readFile(file("chain.log"));
    EXPECT_EQ(
        run("openssl x509 -in " + file("signer.pem") + " -outform DER -out " + file("signer.der"),
            file("x509.log")),
        0);
    EXPECT_EQ(readFile(file("signer.der")), readFile(gpkiFile("company-sign.der")));
    // The same signature over other content fails.
    writeFile(file("other.bin"), kContent + ".");
    EXPECT_NE(run(verify + file("other.bin"), file("verify2.log")), 0);
}

TEST_F(HicosDaemon, DecryptCmsSealedToKeyx_GivesThePlaintext) {
    const json keyx = certificate(kKeyxId);
    writeFile(file("plain.bin"), kSecret);
    for (const std::string options :
         {"", "-keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha256"}) {
        const std::string encrypt = "openssl cms -encrypt -binary -outform DER -aes256 -in " +
                                    file("plain.bin") + " -out " + file("env.der") + " -recip " +
                                    gpkiFile("company-keyx.pem") + " " + options;
        ASSERT_EQ(run(encrypt, file("encrypt.log")), 0) << readFile(file("encrypt.log"));
        const json r = client_->call("decrypt", {{"certificateId", keyx["id"]},
                                                 {"pin", kHicosPin},
                                                 {"cms", base64Encode(readFile(file("env.der")))}});
        ASSERT_TRUE(r.contains("result")) << options << r.dump();
        EXPECT_EQ(base64Decode(r["result"]["data"]), kSecret) << options;
    }
}

TEST_F(HicosDaemon, AlphanumericPin_Accepted) {
    const json r = verify(kHicosPin);
    ASSERT_TRUE(r.contains("result")) << r.dump();
    EXPECT_EQ(r["result"]["verified"], true);
    EXPECT_EQ(token_.loginCalls(), 1);
}

TEST_F(HicosDaemon, PinOutsideTokenLengthsOrNotPrintable_PinFormatWithoutTouchingToken) {
    for (const std::string pin : {"tk8Pi", "tk8Pin2xy", "tk8Pin\x01x", "tk8Pin\xc3\xa9"}) {
        expectReason(verify(pin), "PIN_FORMAT");
        expectReason(client_->call("sign", {{"certificateId", certificate(kSignId)["id"]},
                                            {"pin", pin},
                                            {"data", base64Encode(kContent)},
                                            {"format", "cms"}}),
                     "PIN_FORMAT");
    }
    EXPECT_EQ(token_.loginCalls(), 0);
    const json status = client_->call("pin.status", {{"cardId", card_["id"]}});
    EXPECT_EQ(status["result"]["retriesLeft"], 3) << status.dump();
}

TEST_F(HicosDaemon, WrongPins_CountDownTwoOneThenLastTryGuardThenBlocked) {
    const json first = verify("wrong111");
    expectReason(first, "PIN_INCORRECT");
    EXPECT_EQ(first["error"]["data"]["retriesLeft"], 2) << first.dump();
    const json second = verify("wrong222");
    expectReason(second, "PIN_INCORRECT");
    EXPECT_EQ(second["error"]["data"]["retriesLeft"], 1) << second.dump();
    EXPECT_EQ(token_.loginCalls(), 2);

    // One try left: neither the right PIN nor a wrong one is sent without lastAttempt.
    const json guarded = verify(kHicosPin);
    expectReason(guarded, "PIN_LAST_ATTEMPT");
    EXPECT_EQ(guarded["error"]["data"]["retriesLeft"], 1) << guarded.dump();
    expectReason(client_->call("sign", {{"certificateId", certificate(kSignId)["id"]},
                                        {"pin", "wrong333"},
                                        {"data", base64Encode(kContent)},
                                        {"format", "cms"}}),
                 "PIN_LAST_ATTEMPT");
    EXPECT_EQ(token_.loginCalls(), 2);
    const json status = client_->call("pin.status", {{"cardId", card_["id"]}});
    EXPECT_EQ(status["result"]["retriesLeft"], 1) << status.dump();

    const json last = verify("wrong333", true);
    expectReason(last, "PIN_BLOCKED");
    EXPECT_EQ(last["error"]["data"]["retriesLeft"], 0) << last.dump();
    EXPECT_EQ(token_.loginCalls(), 3);
    // Blocked: even the right PIN is not sent.
    expectReason(verify(kHicosPin, true), "PIN_BLOCKED");
    EXPECT_EQ(token_.loginCalls(), 3);
    const json blocked = client_->call("pin.status", {{"cardId", card_["id"]}});
    EXPECT_EQ(blocked["result"]["blocked"], true) << blocked.dump();
}

TEST_F(HicosDaemon, RightPinAfterWrongOne_ResetsTheCounter) {
    expectReason(verify("wrong111"), "PIN_INCORRECT");
    EXPECT_EQ(client_->call("pin.status", {{"cardId", card_["id"]}})["result"]["retriesLeft"], 2);
    ASSERT_TRUE(verify(kHicosPin).contains("result"));
    EXPECT_EQ(client_->call("pin.status", {{"cardId", card_["id"]}})["result"]["retriesLeft"], 3);
}

TEST_F(HicosDaemon, List_CaCertificatesOnlyInCaCertificatesAndKeyRoles) {
    ASSERT_EQ(certificates_.size(), 2u) << certificates_.dump();
    std::set<std::string> slots;
    for (const auto& c : certificates_) {
        slots.insert(c["slot"]);
    }
    EXPECT_EQ(slots, (std::set<std::string>{kSignId, kKeyxId}));
    ASSERT_EQ(caCertificates_.size(), 2u) << caCertificates_.dump();
    std::set<std::string> authorities;
    for (const auto& c : caCertificates_) {
        authorities.insert(base64Decode(c["der"]));
    }
    EXPECT_EQ(authorities, (std::set<std::string>{readFile(gpkiFile("ca-moeaca.der")),
                                                  readFile(gpkiFile("root.der"))}));
    // The card has no registration key: its signing key registers too; KEYX only decrypts.
    EXPECT_EQ(certificate(kSignId)["usableFor"], json::array({"sign", "register"}));
    EXPECT_EQ(certificate(kKeyxId)["usableFor"], json::array({"decrypt"}));
}

TEST_F(HicosDaemon, RegisterWithSign_TokenVerifiedAndCaCertificatesInChain) {
    const std::string challenge = base64Encode(std::string(32, '\x5a'));
    const json r = client_->call("register", {{"certificateId", certificate(kSignId)["id"]},
                                              {"pin", kHicosPin},
                                              {"challenge", challenge}});
    ASSERT_TRUE(r.contains("result")) << r.dump();
    const json& token = r["result"];
    EXPECT_EQ(tokenProblem(token, kOrigin, challenge), "");
    EXPECT_NE(tokenProblem(token, "https://other.example.gov.tw", challenge), "");
    EXPECT_EQ(base64Decode(token["unverifiedCertificate"]), readFile(gpkiFile("company-sign.der")));
    // certificates: the card's user certificates; chain: its CA certificates.
    std::set<std::string> users;
    for (const auto& der : token["certificates"]) {
        users.insert(base64Decode(der));
    }
    EXPECT_EQ(users, (std::set<std::string>{readFile(gpkiFile("company-sign.der")),
                                            readFile(gpkiFile("company-keyx.der"))}));
    std::set<std::string> chain;
    for (const auto& der : token["chain"]) {
        chain.insert(base64Decode(der));
    }
    EXPECT_EQ(chain, (std::set<std::string>{readFile(gpkiFile("ca-moeaca.der")),
                                            readFile(gpkiFile("root.der"))}));
}

TEST_F(HicosDaemon, RawSignWithTheDualKey_OnlyWithSignRaw) {
    const json sign = certificate(kSignId);
    const json params{
        {"certificateId", sign["id"]}, {"pin", kHicosPin}, {"data", base64Encode(kContent)}};
    const json refused = client_->call("sign", params);
    expectReason(refused, "NOT_PERMITTED");
    EXPECT_EQ(refused["error"]["data"]["capability"], "sign-raw") << refused.dump();
    EXPECT_EQ(token_.loginCalls(), 0);

    WsClient raw("127.0.0.1", port_);
    ASSERT_EQ(raw.open(kRawOrigin).status, 101);
    const json r = raw.call("sign", params);
    ASSERT_TRUE(r.contains("result")) << r.dump();
    EXPECT_TRUE(opensslVerifies(bytesOf(base64Decode(sign["der"])),
                                card::SignatureScheme::RsaPkcs1v15, card::HashAlgorithm::Sha256,
                                bytesOf(kContent),
                                bytesOf(base64Decode(r["result"]["signature"]))));
}

}  // namespace
}  // namespace tk::test
