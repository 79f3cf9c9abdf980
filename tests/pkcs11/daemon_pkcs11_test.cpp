// tenderkeyd with --pkcs11-module (SoftHSM2), spoken to over WebSocket, inside
// tests/harness/with-cards (its own pcscd and a virtual PIV card next to the software token).
// The SoftHSM token has no PC/SC reader, so it appears as a reader of its own; signatures are
// verified with OpenSSL against the certificate certificates.list returned.

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "support/daemon_process.hpp"
#include "support/openssl_checks.hpp"
#include "support/openssl_util.hpp"
#include "support/schema_validator.hpp"
#include "support/softhsm.hpp"
#include "support/test_env.hpp"
#include "support/ws_client.hpp"

namespace tk::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

// The administrator granted this origin raw signatures with a key that also registers.
const std::string kOrigin = "https://portal.example.gov.tw";
// The default capabilities: read, sign, decrypt, register.
const std::string kPortal = "https://bids.example.gov.tw";
constexpr const char* kOpenSc = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so";

card::Bytes bytesOf(const std::string& text) {
    return card::Bytes(text.begin(), text.end());
}

class Pkcs11Daemon : public ::testing::Test {
  protected:
    // What the daemon is started with besides --dev, --port and --allow-origin.
    virtual std::vector<std::string> moduleArguments() {
        return {"--pkcs11-module", kSoftHsmModule};
    }

    void SetUp() override {
        port_ = freePort();
        std::vector<std::string> args{"--dev",
                                      "--port",
                                      std::to_string(port_),
                                      "--allow-origin",
                                      kOrigin + "=read,sign,decrypt,register,sign-raw",
                                      "--allow-origin",
                                      kPortal};
        for (const std::string& arg : moduleArguments()) {
            args.push_back(arg);
        }
        daemon_ = std::make_unique<ChildProcess>(TK_DAEMON_BINARY, args,
                                                 env("TK_HARNESS_DIR") + "/tenderkeyd.log");
        ASSERT_TRUE(daemon_->waitForLog("listening on", 15s)) << daemon_->log();
        client_ = std::make_unique<WsClient>("127.0.0.1", port_);
        ASSERT_EQ(client_->open(kOrigin).status, 101);
        client_->onMessage = [this](const json& message, const std::string& method) {
            for (const auto& e : schemas().message(message, method)) {
                violations_.push_back(message.dump().substr(0, 300) + ": " + e);
            }
        };
    }

    void TearDown() override {
        for (const auto& v : violations_) {
            ADD_FAILURE() << "schema violation: " << v;
        }
        if (HasFailure() && daemon_) {
            std::cerr << "---- tenderkeyd log ----\n" << daemon_->log();
        }
    }

    // The reader entry of the SoftHSM token once the daemon identified it.
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
        throw std::runtime_error("the daemon never showed the SoftHSM token");
    }

    // Connected to `origin`, with the schema check.
    std::unique_ptr<WsClient> connect(const std::string& origin) {
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

    SoftHsmToken hsm_;  // before the daemon: it sets SOFTHSM2_CONF, which the daemon inherits
    std::uint16_t port_ = 0;
    std::unique_ptr<ChildProcess> daemon_;
    std::unique_ptr<WsClient> client_;
    std::vector<std::string> violations_;
};

TEST_F(Pkcs11Daemon, SystemInfoAndReadersList_ShowPkcs11TokenAsItsOwnReader) {
    const json info = client_->call("system.info");
    EXPECT_EQ(info["result"]["backends"], json::array({"piv", "pkcs11"})) << info.dump();
    const json reader = tokenReader();
    EXPECT_EQ(reader["card"]["type"], "pkcs11");
    EXPECT_EQ(reader["card"]["label"], kSoftHsmLabel);
    EXPECT_EQ(reader["card"]["id"].get<std::string>().size(), 20u);
    EXPECT_EQ(reader["name"].get<std::string>().rfind("SoftHSM slot", 0), 0u) << reader.dump();
    // The virtual PIV card next to it stays a PIV card.
    const json all = client_->call("readers.list");
    bool sawPiv = false;
    for (const auto& entry : all["result"]["readers"]) {
        sawPiv = sawPiv || (entry["cardPresent"] == true && entry["card"]["type"] == "piv");
    }
    EXPECT_TRUE(sawPiv) << all.dump();
}

TEST_F(Pkcs11Daemon, CertificatesListAndSign_VerifiedByOpenSsl) {
    const json reader = tokenReader();
    const std::string cardId = reader["card"]["id"];
    const json list = client_->call("certificates.list", {{"reader", reader["name"]}});
    ASSERT_TRUE(list.contains("result")) << list.dump();
    const auto& certificates = list["result"]["certificates"];
    ASSERT_EQ(certificates.size(), 2u) << list.dump();
    EXPECT_EQ(certificates[0]["slot"], "01");
    EXPECT_EQ(certificates[0]["keyAlgorithm"], "RSA-2048");
    EXPECT_EQ(certificates[0]["id"], cardId + ":01");
    EXPECT_EQ(certificates[1]["slot"], "02");
    EXPECT_EQ(certificates[1]["keyAlgorithm"], "EC-P256");
    EXPECT_EQ(base64DecodeBytes(certificates[0]["der"]), hsm_.rsaCertificate());

    const std::string content = "tender document 2026-11-27";
    for (const auto& [index, algorithm] :
         {std::pair{0, "RSASSA-PKCS1-v1_5"}, std::pair{0, "RSA-PSS"}, std::pair{1, "ECDSA"}}) {
        const json& cert = certificates[static_cast<std::size_t>(index)];
        const std::string data64 = base64Encode(content);
        ASSERT_EQ(base64DecodeBytes(data64), bytesOf(content));
        const json r = client_->call("sign", {{"certificateId", cert["id"]},
                                              {"pin", kSoftHsmPin},
                                              {"data", data64},
                                              {"hash", "SHA-256"},
                                              {"algorithm", algorithm}});
        ASSERT_TRUE(r.contains("result")) << r.dump();
        const card::Bytes signature = base64DecodeBytes(r["result"]["signature"]);
        const card::SignatureScheme scheme =
            std::string(algorithm) == "RSA-PSS"
                ? card::SignatureScheme::RsaPss
                : (index == 1 ? card::SignatureScheme::Ecdsa : card::SignatureScheme::RsaPkcs1v15);
        const card::Bytes der = base64DecodeBytes(cert["der"]);
        EXPECT_TRUE(
            opensslVerifies(der, scheme, card::HashAlgorithm::Sha256, bytesOf(content), signature))
            << algorithm;
        EXPECT_FALSE(opensslVerifies(der, scheme, card::HashAlgorithm::Sha256,
                                     bytesOf(content + "."), signature))
            << algorithm;
    }
}

TEST_F(Pkcs11Daemon, SignWithWrongPin_PinIncorrect) {
    const json reader = tokenReader();
    const std::string cardId = reader["card"]["id"];
    const json r =
        client_->call("sign", {{"certificateId", cardId + ":01"},
                               {"pin", "999999"},
                               {"digest", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}});
    ASSERT_TRUE(r.contains("error")) << r.dump();
    EXPECT_EQ(r["error"]["data"]["reason"], "PIN_INCORRECT") << r.dump();
}

// The SoftHSM token has a signing key (RSA 01, EC 02: digitalSignature, no extended key usage)
// and no registration key: its signing keys are the one pair, sign and register.
TEST_F(Pkcs11Daemon, TokenWithoutRegisterKey_SigningKeysAreSignAndRegister) {
    const json reader = tokenReader();
    const json list = client_->call("certificates.list", {{"reader", reader["name"]}});
    ASSERT_TRUE(list.contains("result")) << list.dump();
    for (const auto& cert : list["result"]["certificates"]) {
        EXPECT_EQ(cert["usableFor"], json({"sign", "register"})) << cert["slot"];
    }
}

TEST_F(Pkcs11Daemon, RawSignatureWithDualKey_NeedsSignRawCmsDoesNot) {
    const json reader = tokenReader();
    const std::string cardId = reader["card"]["id"];
    auto portal = connect(kPortal);
    const std::string content = "bid for tender 7";
    const json raw = portal->call(
        "sign",
        {{"certificateId", cardId + ":01"}, {"pin", kSoftHsmPin}, {"data", base64Encode(content)}});
    ASSERT_TRUE(raw.contains("error")) << raw.dump();
    EXPECT_EQ(raw["error"]["data"]["reason"], "NOT_PERMITTED");
    EXPECT_EQ(raw["error"]["data"]["capability"], "sign-raw");
    // Checked after the parameters: a malformed request is still INVALID_PARAMS.
    const json malformed = portal->call(
        "sign", {{"certificateId", cardId + ":01"}, {"pin", kSoftHsmPin}, {"format", "pkcs7"}});
    EXPECT_EQ(malformed["error"]["data"]["reason"], "INVALID_PARAMS") << malformed.dump();
    // The refusal did not use the PIN: the token still counts no wrong try.
    const json status = portal->call("pin.status", {{"cardId", cardId}});
    EXPECT_EQ(status["result"]["blocked"], false) << status.dump();

    // CMS signs its own signed attributes: sign is enough. Verified by the openssl command.
    const json cms = portal->call("sign", {{"certificateId", cardId + ":01"},
                                           {"pin", kSoftHsmPin},
                                           {"data", base64Encode(content)},
                                           {"format", "cms"}});
    ASSERT_TRUE(cms.contains("result")) << cms.dump();
    const std::string dir = env("TK_HARNESS_DIR");
    {
        std::ofstream(dir + "/content.bin", std::ios::binary) << content;
        const card::Bytes der = base64DecodeBytes(cms["result"]["cms"]);
        std::ofstream(dir + "/signature.p7s", std::ios::binary)
            .write(reinterpret_cast<const char*>(der.data()),
                   static_cast<std::streamsize>(der.size()));
        const card::Bytes cert = hsm_.rsaCertificate();
        std::ofstream(dir + "/signer.der", std::ios::binary)
            .write(reinterpret_cast<const char*>(cert.data()),
                   static_cast<std::streamsize>(cert.size()));
    }
    EXPECT_NO_THROW(runShell("openssl x509 -inform DER -in " + dir + "/signer.der -out " + dir +
                             "/signer.pem && openssl cms -verify -binary -inform DER -in " + dir +
                             "/signature.p7s -content " + dir + "/content.bin -CAfile " + dir +
                             "/signer.pem -purpose any -out /dev/null"));

    // The origin the administrator granted sign-raw: the raw signature, verified by OpenSSL.
    const json granted = client_->call(
        "sign",
        {{"certificateId", cardId + ":01"}, {"pin", kSoftHsmPin}, {"data", base64Encode(content)}});
    ASSERT_TRUE(granted.contains("result")) << granted.dump();
    EXPECT_TRUE(opensslVerifies(hsm_.rsaCertificate(), card::SignatureScheme::RsaPkcs1v15,
                                card::HashAlgorithm::Sha256, bytesOf(content),
                                base64DecodeBytes(granted["result"]["signature"])));
}

// A CA certificate on the token (no key behind it) is listed apart, never as a key.
class Pkcs11DaemonWithCa : public Pkcs11Daemon {
  protected:
    void SetUp() override {
        ca_ = hsm_.addCaCertificate();
        Pkcs11Daemon::SetUp();
    }
    card::Bytes ca_;
};

TEST_F(Pkcs11DaemonWithCa, CaCertificate_InCaCertificatesNotInCertificates) {
    const json reader = tokenReader();
    const json list = client_->call("certificates.list", {{"reader", reader["name"]}});
    ASSERT_TRUE(list.contains("result")) << list.dump();
    ASSERT_EQ(list["result"]["certificates"].size(), 2u) << list.dump();
    for (const auto& cert : list["result"]["certificates"]) {
        EXPECT_NE(base64DecodeBytes(cert["der"]), ca_);
    }
    const auto& authorities = list["result"]["caCertificates"];
    ASSERT_EQ(authorities.size(), 1u) << list.dump();
    EXPECT_EQ(base64DecodeBytes(authorities[0]["der"]), ca_);
    EXPECT_EQ(authorities[0]["cardId"], reader["card"]["id"]);
    EXPECT_EQ(authorities[0]["label"], "ca");
    EXPECT_NE(authorities[0]["subject"].get<std::string>().find("CN=TenderKey-Test-CA"),
              std::string::npos);
    EXPECT_FALSE(authorities[0].contains("usableFor"));
}

// The virtual PIV card through OpenSC's module, because the configuration file prefers PKCS#11:
// the reader-backed token path (slot description = PC/SC reader name).
class OpenScPreferred : public Pkcs11Daemon {
  protected:
    std::vector<std::string> moduleArguments() override {
        const std::string config = env("TK_HARNESS_DIR") + "/tenderkeyd-pkcs11.toml";
        std::ofstream file(config);
        file << "[pkcs11]\nmodules = [\"" << kOpenSc << "\"]\nprefer = \"pkcs11\"\n";
        return {"--config", config};
    }
};

TEST_F(OpenScPreferred, VirtualPivCard_ListedAsPkcs11AndSignsVerifiably) {
    const std::string reader = std::getenv("TK_READER_0");
    json card;
    for (int i = 0; i < 100 && card.is_null(); ++i) {
        const json readers = client_->call("readers.list");
        for (const auto& entry : readers["result"]["readers"]) {
            if (entry["name"] == reader && entry["cardPresent"] == true) {
                card = entry["card"];
            }
        }
        std::this_thread::sleep_for(100ms);
    }
    ASSERT_FALSE(card.is_null()) << daemon_->log();
    EXPECT_EQ(card["type"], "pkcs11") << card.dump();
    const json list = client_->call("certificates.list", {{"reader", reader}});
    ASSERT_TRUE(list.contains("result")) << list.dump();
    json rsa;
    for (const auto& cert : list["result"]["certificates"]) {
        if (cert["keyAlgorithm"] == "RSA-2048" && rsa.is_null() &&
            std::find(cert["usableFor"].begin(), cert["usableFor"].end(), "sign") !=
                cert["usableFor"].end()) {
            rsa = cert;
        }
    }
    ASSERT_FALSE(rsa.is_null()) << list.dump();
    const std::string content = "bid for tender 42";
    const json r = client_->call(
        "sign", {{"certificateId", rsa["id"]}, {"pin", "123456"}, {"data", base64Encode(content)}});
    ASSERT_TRUE(r.contains("result")) << r.dump();
    EXPECT_TRUE(opensslVerifies(base64DecodeBytes(rsa["der"]), card::SignatureScheme::RsaPkcs1v15,
                                card::HashAlgorithm::Sha256, bytesOf(content),
                                base64DecodeBytes(r["result"]["signature"])));
}

}  // namespace
}  // namespace tk::test
