// `register` end to end: tenderkeyd as a process next to a private pcscd and a virtual PIV card
// (tests/harness/with-cards), spoken to over WebSocket. The Web eID token it returns is checked
// the way a portal's Web eID validator checks it, implemented here independently with OpenSSL:
// the certificate chains to the card's test CA and allows client authentication, the algorithm
// fits the key, and the signature verifies over H(origin) || H(challenge) for the origin of the
// connection and the challenge sent, and for nothing else. EC registration keys are generated
// on the card (yubico-piv-tool) and certified by the test CA before the daemon starts.

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <thread>

#include "support/daemon_process.hpp"
#include "support/openssl_util.hpp"
#include "support/schema_validator.hpp"
#include "support/test_env.hpp"
#include "support/ws_client.hpp"

namespace tk::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

const std::string kPortal = "https://portal.example.gov.tw";       // default capabilities
const std::string kOtherPortal = "https://a.bids.example.gov.tw";  // via a wildcard entry
const std::string kCardCare = "https://card-care.example.gov.tw";  // also manage

// A fresh challenge as a portal makes it: base64 of 32 random bytes (44 characters).
std::string newChallenge() {
    std::string nonce(32, '\0');
    RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()), 32);
    return base64Encode(nonce);
}

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using PKeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

X509Ptr parseDer(const std::string& der) {
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())), X509_free);
    if (!cert || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
        return X509Ptr(nullptr, X509_free);
    }
    return cert;
}

X509Ptr loadPem(const std::string& path) {
    std::unique_ptr<FILE, decltype(&std::fclose)> file(std::fopen(path.c_str(), "r"), std::fclose);
    if (!file) {
        throw std::runtime_error("cannot open " + path);
    }
    return X509Ptr(PEM_read_X509(file.get(), nullptr, nullptr, nullptr), X509_free);
}

// The Web eID validation rules for a `web-eid:1.0` token, written from the token format alone.
// Returns an empty string when the token is valid for `origin` and `challenge`, else why not.
std::string validateWebEidToken(const json& token, const std::string& origin,
                                const std::string& challenge, const std::string& caPath) {
    if (token.value("format", "") != "web-eid:1.0") {
        return "format is not web-eid:1.0";
    }
    if (token.value("appVersion", "").rfind("urn:tenderkey:", 0) != 0) {
        return "appVersion is not a tenderkey URN";
    }
    X509Ptr cert = parseDer(base64Decode(token.at("unverifiedCertificate").get<std::string>()));
    if (!cert) {
        return "unverifiedCertificate does not parse";
    }

    // The certificate: issued by the trusted CA, currently valid, allowed for client auth.
    X509Ptr ca = loadPem(caPath);
    std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(),
                                                                  X509_STORE_free);
    X509_STORE_add_cert(store.get(), ca.get());
    std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> chain(X509_STORE_CTX_new(),
                                                                          X509_STORE_CTX_free);
    X509_STORE_CTX_init(chain.get(), store.get(), cert.get(), nullptr);
    X509_STORE_CTX_set_purpose(chain.get(), X509_PURPOSE_SSL_CLIENT);
    if (X509_verify_cert(chain.get()) != 1) {
        return std::string("certificate does not chain to the CA: ") +
               X509_verify_cert_error_string(X509_STORE_CTX_get_error(chain.get()));
    }

    // The algorithm must fit the key.
    PKeyPtr key(X509_get_pubkey(cert.get()), EVP_PKEY_free);
    const std::string algorithm = token.at("algorithm");
    const EVP_MD* md = nullptr;
    std::size_t field = 0;
    if (algorithm == "RS256" && EVP_PKEY_base_id(key.get()) == EVP_PKEY_RSA) {
        md = EVP_sha256();
    } else if ((algorithm == "ES256" || algorithm == "ES384") &&
               EVP_PKEY_base_id(key.get()) == EVP_PKEY_EC) {
        char curve[64] = {};
        std::size_t length = 0;
        EVP_PKEY_get_utf8_string_param(key.get(), "group", curve, sizeof(curve), &length);
        const bool p256 = std::string(curve) == "prime256v1";
        const bool p384 = std::string(curve) == "secp384r1";
        if (algorithm == "ES256" && p256) {
            md = EVP_sha256();
            field = 32;
        } else if (algorithm == "ES384" && p384) {
            md = EVP_sha384();
            field = 48;
        }
    }
    if (md == nullptr) {
        return "algorithm " + algorithm + " does not fit the certificate's key";
    }

    // The signed message: H(origin) || H(challenge).
    std::string message;
    for (const std::string* part : {&origin, &challenge}) {
        unsigned char hash[EVP_MAX_MD_SIZE];
        unsigned int length = 0;
        EVP_Digest(part->data(), part->size(), hash, &length, md, nullptr);
        message.append(reinterpret_cast<const char*>(hash), length);
    }

    std::string signature = base64Decode(token.at("signature").get<std::string>());
    if (field != 0) {
        // JWS ECDSA: r || s, each exactly the field length; OpenSSL wants DER.
        if (signature.size() != 2 * field) {
            return "ECDSA signature is not r||s of the field length";
        }
        const auto* raw = reinterpret_cast<const unsigned char*>(signature.data());
        ECDSA_SIG* sig = ECDSA_SIG_new();
        ECDSA_SIG_set0(sig, BN_bin2bn(raw, static_cast<int>(field), nullptr),
                       BN_bin2bn(raw + field, static_cast<int>(field), nullptr));
        unsigned char* der = nullptr;
        const int n = i2d_ECDSA_SIG(sig, &der);
        signature.assign(reinterpret_cast<char*>(der), static_cast<std::size_t>(n));
        OPENSSL_free(der);
        ECDSA_SIG_free(sig);
    }
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    if (EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key.get()) != 1) {
        return "cannot set up the verification";
    }
    if (EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                         signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                         message.size()) != 1) {
        return "signature does not verify over H(origin) || H(challenge)";
    }
    return {};
}

std::string shellQuote(const std::string& text) {
    std::string out = "'";
    for (const char c : text) {
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return out + "'";
}

// Replaces the 9A key of card 0 with a new EC key made on the card, and its certificate with
// one from the card's test CA carrying the clientAuth extended key usage.
void provisionEcRegistrationKey(const std::string& ykAlgorithm) {
    const std::string ca = env("TK_VCARD_CA_0");
    const std::string caDir = std::filesystem::path(ca).parent_path().string();
    const std::string work = env("TK_HARNESS_DIR");
    const std::string reader = shellQuote(env("TK_READER_0"));
    const std::string log = shellQuote(work + "/reg-provision.log");
    const std::string script = "set -e; cd " + shellQuote(work) + "; yubico-piv-tool -r " + reader +
                               " -a generate -s 9a -A " + ykAlgorithm +
                               " -o reg-pub.pem; printf 'keyUsage=critical,digitalSignature\\n"
                               "extendedKeyUsage=clientAuth\\n' >reg-ext.cnf;"
                               " openssl x509 -new -force_pubkey reg-pub.pem"
                               " -subj '/C=TW/O=TenderKey Test/CN=registration " +
                               ykAlgorithm + "' -days 30 -CA " + shellQuote(ca) + " -CAkey " +
                               shellQuote(caDir + "/ca-key.pem") +
                               " -extfile reg-ext.cnf -out reg-cert.pem; yubico-piv-tool -r " +
                               reader + " -a import-certificate -s 9a -i reg-cert.pem; } >" + log +
                               " 2>&1";
    const int status = std::system(("{ " + script).c_str());
    if (status != 0) {
        throw std::runtime_error("provisioning " + ykAlgorithm + " failed, see " + work +
                                 "/reg-provision.log");
    }
}

class Register : public ::testing::Test {
  protected:
    void start() {
        port_ = freePort();
        daemon_ = std::make_unique<ChildProcess>(
            TK_DAEMON_BINARY,
            std::vector<std::string>{"--dev", "--port", std::to_string(port_), "--allow-origin",
                                     kPortal, "--allow-origin", "https://*.bids.example.gov.tw",
                                     "--allow-origin", kCardCare + "=read,register,manage"},
            env("TK_HARNESS_DIR") + "/tenderkeyd.log");
        ASSERT_TRUE(daemon_->waitForLog("listening on", 15s)) << daemon_->log();
    }

    void TearDown() override {
        for (const auto& v : violations_) {
            ADD_FAILURE() << "schema violation: " << v;
        }
        if (HasFailure() && daemon_) {
            std::cerr << "---- tenderkeyd log ----\n" << daemon_->log();
        }
    }

    std::unique_ptr<WsClient> connect(const std::string& origin = kPortal) {
        auto c = std::make_unique<WsClient>("127.0.0.1", port_);
        if (c->open(origin).status != 101) {
            throw std::runtime_error("handshake refused for " + origin);
        }
        c->onMessage = [this](const json& message, const std::string& method) {
            for (const auto& e : schemas().message(message, method)) {
                violations_.push_back(message.dump().substr(0, 300) + ": " + e);
            }
        };
        return c;
    }

    // The certificates of the card in reader 0, once the daemon identified it.
    json certificates(WsClient& c) {
        const std::string name = env("TK_READER_0");
        for (int i = 0; i < 200; ++i) {
            const auto r = c.call("readers.list");
            for (const auto& entry : r["result"]["readers"]) {
                if (entry["name"] == name && entry["cardPresent"] == true &&
                    entry["card"]["id"].is_string()) {
                    return c.call("certificates.list",
                                  {{"reader", name}})["result"]["certificates"];
                }
            }
            std::this_thread::sleep_for(50ms);
        }
        throw std::runtime_error("the daemon never saw the card in " + name);
    }

    static json slot(const json& list, const std::string& wanted) {
        for (const auto& cert : list) {
            if (cert["slot"] == wanted) {
                return cert;
            }
        }
        throw std::runtime_error("no certificate in slot " + wanted);
    }

    json registerKey(WsClient& c, const std::string& certificateId, const std::string& challenge,
                     const std::string& pin = "123456") {
        return c.call("register",
                      {{"certificateId", certificateId}, {"pin", pin}, {"challenge", challenge}},
                      60s);
    }

    // A token for the 9A key holds: valid for its origin and challenge only, the algorithm
    // expected, every certificate of the card alongside.
    void expectTokenForKey(const std::string& expectedAlgorithm) {
        auto c = connect();
        const json list = certificates(*c);
        const json key = slot(list, "9a");
        ASSERT_EQ(key["usableFor"], json::array({"register"})) << key.dump();
        const std::string challenge = newChallenge();
        const json response = registerKey(*c, key["id"], challenge);
        ASSERT_TRUE(response.contains("result")) << response.dump();
        const json& token = response["result"];
        EXPECT_EQ(token["algorithm"], expectedAlgorithm);
        EXPECT_EQ(token["unverifiedCertificate"], key["der"]);
        const std::string ca = env("TK_VCARD_CA_0");

        EXPECT_EQ(validateWebEidToken(token, kPortal, challenge, ca), "");
        EXPECT_NE(validateWebEidToken(token, kOtherPortal, challenge, ca), "");
        EXPECT_NE(validateWebEidToken(token, "https://portal.example.gov.tw:443", challenge, ca),
                  "");
        EXPECT_NE(validateWebEidToken(token, kPortal, newChallenge(), ca), "");

        json certs = json::array();
        for (const auto& cert : list) {
            certs.push_back(cert["der"]);
        }
        EXPECT_EQ(token["certificates"], certs);
        EXPECT_EQ(token["chain"], json::array());  // a PIV card carries no CA certificate
        const auto info = c->call("system.info")["result"];
        EXPECT_EQ(token["appVersion"], "urn:tenderkey:" + info["version"].get<std::string>());
    }

    std::uint16_t port_ = 0;
    std::unique_ptr<ChildProcess> daemon_;
    std::vector<std::string> violations_;
};

TEST_F(Register, Rsa2048Key_Rs256TokenValidForItsOriginAndChallengeOnly) {
    start();
    expectTokenForKey("RS256");
}

TEST_F(Register, EcP256Key_Es256TokenValidForItsOriginAndChallengeOnly) {
    provisionEcRegistrationKey("ECCP256");
    start();
    expectTokenForKey("ES256");
}

TEST_F(Register, EcP384Key_Es384TokenValidForItsOriginAndChallengeOnly) {
    provisionEcRegistrationKey("ECCP384");
    start();
    expectTokenForKey("ES384");
}

TEST_F(Register, OriginIsTheHandshakeOrigin_TokenFromAnotherSiteFailsHere) {
    start();
    auto other = connect(kOtherPortal);
    const json key = slot(certificates(*other), "9a");
    const std::string challenge = newChallenge();
    const json response = registerKey(*other, key["id"], challenge);
    ASSERT_TRUE(response.contains("result")) << response.dump();
    const std::string ca = env("TK_VCARD_CA_0");
    EXPECT_EQ(validateWebEidToken(response["result"], kOtherPortal, challenge, ca), "");
    EXPECT_NE(validateWebEidToken(response["result"], kPortal, challenge, ca), "");
}

TEST_F(Register, WrongPin_PinIncorrectWithRetriesLeft) {
    start();
    auto c = connect();
    const json key = slot(certificates(*c), "9a");
    const json first = registerKey(*c, key["id"], newChallenge(), "654321");
    ASSERT_TRUE(first.contains("error")) << first.dump();
    EXPECT_EQ(first["error"]["data"]["reason"], "PIN_INCORRECT");
    EXPECT_EQ(first["error"]["code"], -32032);
    EXPECT_EQ(first["error"]["data"]["retriesLeft"], 2);
    const json second = registerKey(*c, key["id"], newChallenge(), "654321");
    EXPECT_EQ(second["error"]["data"]["retriesLeft"], 1) << second.dump();
    // One try left: refused without touching the card unless lastAttempt says so.
    const json guarded = registerKey(*c, key["id"], newChallenge(), "123456");
    EXPECT_EQ(guarded["error"]["data"]["reason"], "PIN_LAST_ATTEMPT") << guarded.dump();
    // lastAttempt from an origin without manage is not honoured either.
    const json notHonoured = c->call("register", {{"certificateId", key["id"]},
                                                  {"pin", "123456"},
                                                  {"lastAttempt", true},
                                                  {"challenge", newChallenge()}});
    EXPECT_EQ(notHonoured["error"]["data"]["reason"], "PIN_LAST_ATTEMPT") << notHonoured.dump();
    // The card-care origin may spend the last try.
    auto care = connect(kCardCare);
    const std::string challenge = newChallenge();
    const json ok = care->call("register",
                               {{"certificateId", key["id"]},
                                {"pin", "123456"},
                                {"lastAttempt", true},
                                {"challenge", challenge}},
                               60s);
    ASSERT_TRUE(ok.contains("result")) << ok.dump();
    EXPECT_EQ(validateWebEidToken(ok["result"], kCardCare, challenge, env("TK_VCARD_CA_0")), "");
    // A PIN that breaks the card's rules never reaches the card.
    EXPECT_EQ(registerKey(*c, key["id"], newChallenge(), "12")["error"]["data"]["reason"],
              "PIN_FORMAT");
}

TEST_F(Register, NonRegistrationKey_KeyUsage) {
    start();
    auto c = connect();
    const json list = certificates(*c);
    for (const char* s : {"9c", "9d", "82"}) {
        const json response = registerKey(*c, slot(list, s)["id"], newChallenge());
        ASSERT_TRUE(response.contains("error")) << s << ": " << response.dump();
        EXPECT_EQ(response["error"]["data"]["reason"], "KEY_USAGE") << s;
    }
    // A refused key used no PIN try.
    const json status = c->call("pin.status", {{"cardId", slot(list, "9a")["cardId"]}});
    EXPECT_EQ(status["result"]["retriesLeft"], 3) << status.dump();
}

TEST_F(Register, Challenge_OutsideTheRulesIsInvalidParams) {
    start();
    auto c = connect();
    const json key = slot(certificates(*c), "9a");
    for (const std::string& challenge :
         {std::string(43, 'a'), std::string(129, 'a'), std::string(43, 'a') + " b"}) {
        const json response = registerKey(*c, key["id"], challenge);
        EXPECT_EQ(response["error"]["data"]["reason"], "INVALID_PARAMS") << challenge;
        EXPECT_EQ(response["error"]["data"]["field"], "challenge") << challenge;
    }
}

}  // namespace
}  // namespace tk::test
