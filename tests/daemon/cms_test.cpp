// CMS signing (`sign` with format "cms") and CMS decryption (`decrypt` with `cms`) through the
// real daemon and virtual PIV cards (tests/harness/with-cards). Every SignedData is verified by
// `openssl cms -verify -binary -cades` against the card's test CA, every EnvelopedData is made
// by `openssl cms -encrypt` to the card's certificate.
//
// Virtual card keys: 9C RSA signature key (PIN always), 9D RSA key management, 9E P-256 (no
// PIN; needs allow_no_pin_keys), 82 P-384 (signature and key agreement).

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/daemon_process.hpp"
#include "support/harness_files.hpp"
#include "support/openssl_util.hpp"
#include "support/schema_validator.hpp"
#include "support/test_env.hpp"
#include "support/ws_client.hpp"

namespace tk::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

const std::string kSigner = "https://portal.example.gov.tw";
const std::string kContent = "TenderKey bid 2025-0042\r\nfirm price \x01\x02\xff\n";
const std::string kSecret = "AES-256 key of bid 2025-0042, sealed until opening day.";

std::string digestOf(const std::string& hash, const std::string& data) {
    const EVP_MD* md = hash == "SHA-384"   ? EVP_sha384()
                       : hash == "SHA-512" ? EVP_sha512()
                                           : EVP_sha256();
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest(data.data(), data.size(), out, &length, md, nullptr);
    return std::string(reinterpret_cast<char*>(out), length);
}

std::vector<std::string> apduLog() {
    std::ifstream in(env("TK_VCARD_APDU_LOG_0"));
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line[0] != '#') {
            lines.push_back(line);
        }
    }
    return lines;
}

class CmsDaemon : public ::testing::Test {
  protected:
    void SetUp() override { start({"--allow-origin", kSigner}); }

    void start(std::vector<std::string> args) {
        port_ = freePort();
        args.insert(args.begin(), {"--dev", "--port", std::to_string(port_)});
        daemon_ = std::make_unique<ChildProcess>(TK_DAEMON_BINARY, args, file("tenderkeyd.log"));
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

    static std::string file(const std::string& name) { return env("TK_HARNESS_DIR") + "/" + name; }

    std::unique_ptr<WsClient> connect() {
        auto c = std::make_unique<WsClient>("127.0.0.1", port_);
        const auto r = c->open(kSigner);
        if (r.status != 101) {
            throw std::runtime_error("handshake refused: " + std::to_string(r.status));
        }
        c->onMessage = [this](const json& message, const std::string& method) {
            for (const auto& e : schemas().message(message, method)) {
                violations_.push_back(message.dump().substr(0, 300) + ": " + e);
            }
        };
        return c;
    }

    json certificate(WsClient& c, const std::string& slot) {
        const std::string reader = env("TK_READER_0");
        for (int i = 0; i < 200; ++i) {
            const auto r = c.call("certificates.list");
            for (const auto& cert : r["result"]["certificates"]) {
                if (cert["reader"] == reader && cert["slot"] == slot) {
                    return cert;
                }
            }
            std::this_thread::sleep_for(50ms);
        }
        throw std::runtime_error("no certificate in slot " + slot);
    }

    int pinRetries(WsClient& c, const json& cert) {
        return c.call("pin.status", {{"cardId", cert["cardId"]}})["result"]["retriesLeft"];
    }

    static void expectError(const json& response, const std::string& reason) {
        ASSERT_TRUE(response.contains("error")) << response.dump();
        EXPECT_EQ(response["error"]["data"]["reason"], reason) << response.dump();
    }

    // `sign` with format "cms": detached over the digest ("digest"), detached over the data
    // ("data"), or attached ("attached").
    json signCms(WsClient& c, const json& cert, const std::string& algorithm,
                 const std::string& hash, const std::string& mode, const std::string& pin,
                 bool signingTime = true) {
        json params{{"certificateId", cert["id"]},
                    {"hash", hash},
                    {"algorithm", algorithm},
                    {"format", "cms"},
                    {"cms", {{"detached", mode != "attached"}, {"signingTime", signingTime}}}};
        if (!pin.empty()) {
            params["pin"] = pin;
        }
        if (mode == "digest") {
            params["digest"] = base64Encode(digestOf(hash, kContent));
        } else {
            params["data"] = base64Encode(kContent);
        }
        return c.call("sign", params);
    }

    // openssl cms -verify -binary -cades -CAfile <card CA> [-content]; 0 when it verifies.
    int verify(const std::string& cms, bool detached, const std::string& content = kContent) {
        writeFile(file("sig.der"), cms);
        writeFile(file("content.bin"), content);
        std::string command = "openssl cms -verify -binary -cades -inform DER -in " +
                              file("sig.der") + " -CAfile " + env("TK_VCARD_CA_0") + " -out " +
                              file("verified.bin");
        if (detached) {
            command += " -content " + file("content.bin");
        }
        const int rc = run(command, file("verify.log"));
        if (rc == 0 && readFile(file("verified.bin")) != content) {
            return 99;
        }
        return rc;
    }

    // openssl cms -encrypt to the certificate's key: `cipher` (-aes128, ...) and -keyopt values.
    std::string envelope(const json& cert, const std::string& cipher,
                         const std::string& keyOptions) {
        writeFile(file("recipient.pem"), certificatePemOf(base64Decode(cert["der"])));
        writeFile(file("plain.bin"), kSecret);
        const std::string command = "openssl cms -encrypt -binary -outform DER " + cipher +
                                    " -in " + file("plain.bin") + " -out " + file("env.der") +
                                    " -recip " + file("recipient.pem") + " " + keyOptions;
        if (run(command, file("encrypt.log")) != 0) {
            throw std::runtime_error("openssl cms -encrypt: " + readFile(file("encrypt.log")));
        }
        return readFile(file("env.der"));
    }

    json decryptCms(WsClient& c, const json& cert, const std::string& cms,
                    const std::string& pin = "123456") {
        return c.call("decrypt",
                      {{"certificateId", cert["id"]}, {"pin", pin}, {"cms", base64Encode(cms)}});
    }

    std::uint16_t port_ = 0;
    std::unique_ptr<ChildProcess> daemon_;
    std::vector<std::string> violations_;
};

// A card whose 9A/9C/9D keys are RSA-3072.
class CmsDaemonRsa3072 : public CmsDaemon {};

// A card whose signature key (9C) is EC P-384 (the retired key-management key 82 decrypts only).
class CmsDaemonEcSignature : public CmsDaemon {};

// With allow_no_pin_keys, so that the P-256 key in 9E signs.
class CmsDaemonNoPinKeys : public CmsDaemon {
  protected:
    void SetUp() override {
        const std::string config = file("tenderkeyd.toml");
        std::ofstream(config) << "allow_no_pin_keys = true\n[[origins]]\norigin = \"" << kSigner
                              << "\"\n";
        start({"--config", config});
    }
};

// ---- signing ----

TEST_F(CmsDaemon, SignCms_Rsa2048Pkcs1AndPss_DigestDataAttached_VerifyWithOpenSsl) {
    auto c = connect();
    const auto cert = certificate(*c, "9c");
    ASSERT_EQ(cert["keyAlgorithm"], "RSA-2048");
    for (const std::string algorithm : {"RSASSA-PKCS1-v1_5", "RSA-PSS"}) {
        for (const std::string hash : {"SHA-256", "SHA-384", "SHA-512"}) {
            for (const std::string mode : {"digest", "data", "attached"}) {
                const auto start = std::chrono::steady_clock::now();
                const auto r = signCms(*c, cert, algorithm, hash, mode, "123456");
                const auto took = std::chrono::steady_clock::now() - start;
                ASSERT_TRUE(r.contains("result")) << r.dump();
                EXPECT_EQ(r["result"]["certificate"], cert["der"]);
                EXPECT_EQ(r["result"].size(), 2u);
                EXPECT_EQ(verify(base64Decode(r["result"]["cms"]), mode != "attached"), 0)
                    << algorithm << " " << hash << " " << mode << "\n"
                    << readFile(file("verify.log"));
                std::cout << "[ timing ] CMS sign " << algorithm << " " << hash << " " << mode
                          << ": "
                          << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                          << " ms\n";
            }
        }
    }
    // A detached signature does not verify with other content.
    const auto r = signCms(*c, cert, "RSA-PSS", "SHA-256", "data", "123456", false);
    ASSERT_TRUE(r.contains("result")) << r.dump();
    EXPECT_NE(verify(base64Decode(r["result"]["cms"]), true, kContent + "."), 0);
    EXPECT_EQ(verify(base64Decode(r["result"]["cms"]), true), 0);
}

TEST_F(CmsDaemonEcSignature, SignCms_EcP384Ecdsa_DigestDataAttached_VerifyWithOpenSsl) {
    auto c = connect();
    const auto cert = certificate(*c, "9c");
    ASSERT_EQ(cert["keyAlgorithm"], "EC-P384");
    for (const std::string hash : {"SHA-256", "SHA-384", "SHA-512"}) {
        for (const std::string mode : {"digest", "data", "attached"}) {
            const auto r = signCms(*c, cert, "ECDSA", hash, mode, "123456");
            ASSERT_TRUE(r.contains("result")) << r.dump();
            EXPECT_EQ(verify(base64Decode(r["result"]["cms"]), mode != "attached"), 0)
                << hash << " " << mode << "\n"
                << readFile(file("verify.log"));
        }
    }
}

TEST_F(CmsDaemonNoPinKeys, SignCms_EcP256NoPinKey_VerifiesWithOpenSsl) {
    auto c = connect();
    const auto cert = certificate(*c, "9e");
    ASSERT_EQ(cert["keyAlgorithm"], "EC-P256");
    for (const std::string mode : {"digest", "attached"}) {
        const auto r = signCms(*c, cert, "ECDSA", "SHA-256", mode, "");
        ASSERT_TRUE(r.contains("result")) << r.dump();
        EXPECT_EQ(verify(base64Decode(r["result"]["cms"]), mode != "attached"), 0)
            << mode << "\n"
            << readFile(file("verify.log"));
    }
}

TEST_F(CmsDaemonRsa3072, SignCms_Rsa3072PssAndDecryptOaep) {
    auto c = connect();
    const auto cert = certificate(*c, "9c");
    ASSERT_EQ(cert["keyAlgorithm"], "RSA-3072");
    const auto r = signCms(*c, cert, "RSA-PSS", "SHA-384", "digest", "123456");
    ASSERT_TRUE(r.contains("result")) << r.dump();
    EXPECT_EQ(verify(base64Decode(r["result"]["cms"]), true), 0) << readFile(file("verify.log"));
    const auto decryptionCert = certificate(*c, "9d");
    const auto d = decryptCms(*c, decryptionCert,
                              envelope(decryptionCert, "-aes256",
                                       "-keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha256"));
    ASSERT_TRUE(d.contains("result")) << d.dump();
    EXPECT_EQ(base64Decode(d["result"]["data"]), kSecret);
}

TEST_F(CmsDaemon, SignCms_PinAlwaysKey_VerifyRightBeforeGeneralAuthenticate) {
    auto c = connect();
    const auto cert = certificate(*c, "9c");
    const std::size_t logStart = apduLog().size();
    const auto r = signCms(*c, cert, "RSASSA-PKCS1-v1_5", "SHA-256", "data", "123456");
    ASSERT_TRUE(r.contains("result")) << r.dump();
    const auto log = apduLog();
    int verifies = 0;
    int authenticates = 0;
    for (std::size_t i = logStart; i < log.size(); ++i) {
        authenticates += log[i].find("ins=87") != std::string::npos ? 1 : 0;
        if (log[i].find("ins=20 p1=00") == std::string::npos ||
            log[i].find("lc=0 ") != std::string::npos) {
            continue;
        }
        ++verifies;
        ASSERT_LT(i + 1, log.size());
        EXPECT_NE(log[i + 1].find("ins=87"), std::string::npos) << log[i + 1];
    }
    EXPECT_EQ(verifies, 1);  // one PIN presentation for the one card operation
    EXPECT_GE(authenticates, 1);
}

TEST_F(CmsDaemon, SignCms_WrongPin_PinIncorrectWithRetriesLeft) {
    auto c = connect();
    const auto cert = certificate(*c, "9c");
    const auto r = signCms(*c, cert, "RSASSA-PKCS1-v1_5", "SHA-256", "digest", "654321");
    expectError(r, "PIN_INCORRECT");
    EXPECT_EQ(r["error"]["data"]["retriesLeft"], 2);
}

// ---- decryption ----

TEST_F(CmsDaemon, DecryptCms_Rsa2048KeyTransport_Pkcs1AndOaep_AesContent) {
    auto c = connect();
    const auto cert = certificate(*c, "9d");
    const std::pair<std::string, std::string> cases[] = {
        {"-aes128", ""},
        {"-aes192", ""},
        {"-aes256", "-keyopt rsa_padding_mode:oaep"},
        {"-aes256", "-keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha256"},
        {"-aes128", "-keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha512"},
    };
    for (const auto& [cipher, options] : cases) {
        const auto r = decryptCms(*c, cert, envelope(cert, cipher, options));
        ASSERT_TRUE(r.contains("result")) << cipher << " " << options << ": " << r.dump();
        EXPECT_EQ(base64Decode(r["result"]["data"]), kSecret) << cipher << " " << options;
    }
}

TEST_F(CmsDaemon, DecryptCms_EcP384KeyAgreement_EveryKdfHash_AesWrap) {
    auto c = connect();
    const auto cert = certificate(*c, "82");
    const std::pair<std::string, std::string> cases[] = {
        {"-aes128", ""},  // OpenSSL's default KDF: X9.63 with SHA-1
        {"-aes128", "-keyopt ecdh_kdf_md:sha224"},
        {"-aes192", "-keyopt ecdh_kdf_md:sha256"},
        {"-aes256", "-keyopt ecdh_kdf_md:sha384"},
        {"-aes256", "-keyopt ecdh_kdf_md:sha512"},
    };
    for (const auto& [cipher, options] : cases) {
        const auto r = decryptCms(*c, cert, envelope(cert, cipher, options));
        ASSERT_TRUE(r.contains("result")) << cipher << " " << options << ": " << r.dump();
        EXPECT_EQ(base64Decode(r["result"]["data"]), kSecret) << cipher << " " << options;
    }
}

TEST_F(CmsDaemon, DecryptCms_WrongPin_PinIncorrectWithRetriesLeft) {
    auto c = connect();
    const auto cert = certificate(*c, "9d");
    const auto r = decryptCms(*c, cert, envelope(cert, "-aes256", ""), "654321");
    expectError(r, "PIN_INCORRECT");
    EXPECT_EQ(r["error"]["data"]["retriesLeft"], 2);
}

TEST_F(CmsDaemon, DecryptCms_RefusalsComeBeforeTheCard) {
    auto c = connect();
    const auto rsa = certificate(*c, "9d");
    const auto ec = certificate(*c, "82");
    // Sent with a wrong PIN: had any of them reached the card, a try would be gone.
    const std::string wrongPin = "654321";
    const auto signedData =
        signCms(*c, certificate(*c, "9c"), "RSASSA-PKCS1-v1_5", "SHA-256", "attached", "123456");
    ASSERT_TRUE(signedData.contains("result")) << signedData.dump();
    auto r = decryptCms(*c, rsa, base64Decode(signedData["result"]["cms"]), wrongPin);
    expectError(r, "INVALID_PARAMS");
    EXPECT_EQ(r["error"]["data"]["field"], "cms");
    r = decryptCms(*c, rsa, "not a ContentInfo", wrongPin);
    expectError(r, "INVALID_PARAMS");
    EXPECT_EQ(r["error"]["data"]["field"], "cms");
    // Addressed to the EC key only.
    r = decryptCms(*c, rsa, envelope(ec, "-aes256", ""), wrongPin);
    expectError(r, "DECRYPT_FAILED");
    // 3DES content is outside the supported list.
    r = decryptCms(*c, rsa, envelope(rsa, "-des3", ""), wrongPin);
    expectError(r, "UNSUPPORTED_ALGORITHM");
    EXPECT_EQ(pinRetries(*c, rsa), 3);
}

}  // namespace
}  // namespace tk::test
