// The HiPKI dialect through the real daemon and the virtual PIV card: a bridge connection of
// the daemon's own origin attaches to a portal and sends hipki.call, as the popup page does.
// Every CMS SignedData is verified by `openssl cms -verify` against the card's CA, every raw
// signature by OpenSSL's EVP verification, every envelope is made by `openssl cms -encrypt`.
//
// Virtual card keys: 9C RSA-2048 signature key, 9D RSA-2048 key management.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/card_cms.hpp"
#include "support/daemon_process.hpp"
#include "support/harness_files.hpp"
#include "support/hipki_popup.hpp"
#include "support/openssl_util.hpp"
#include "support/schema_validator.hpp"
#include "support/test_env.hpp"
#include "support/uri_component.hpp"
#include "support/ws_client.hpp"

namespace tk::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

const std::string kPortal = "https://web.pcc.gov.tw";
const std::string kSecret = "session key of tender 2026-0042";

// The DER DigestInfo of RFC 8017 §9.2 for SHA-256 and `digest`.
std::string sha256DigestInfo(const std::string& digest) {
    static const unsigned char prefix[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                           0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                           0x01, 0x05, 0x00, 0x04, 0x20};
    return std::string(reinterpret_cast<const char*>(prefix), sizeof prefix) + digest;
}

// A signed attribute's string value (OCTET STRING or UTF8String), or nullopt.
std::optional<std::string> signedAttribute(const std::string& der, const char* oid, int type) {
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    std::unique_ptr<CMS_ContentInfo, decltype(&CMS_ContentInfo_free)> cms(
        d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())), CMS_ContentInfo_free);
    if (!cms) {
        return std::nullopt;
    }
    CMS_SignerInfo* signer = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms.get()), 0);
    std::unique_ptr<ASN1_OBJECT, decltype(&ASN1_OBJECT_free)> object(OBJ_txt2obj(oid, 1),
                                                                     ASN1_OBJECT_free);
    const auto* value = static_cast<const ASN1_STRING*>(
        CMS_signed_get0_data_by_OBJ(signer, object.get(), -3, type));
    if (value == nullptr) {
        return std::nullopt;
    }
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                       static_cast<std::size_t>(ASN1_STRING_length(value)));
}

// One raw HTTP/1.1 request to 127.0.0.1:`port`; the status code of the answer (0: none).
int httpStatus(std::uint16_t port, const std::string& request) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
        ::close(fd);
        return 0;
    }
    (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    std::string answer;
    char buffer[4096];
    for (ssize_t n = 0; (n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0;) {
        answer.append(buffer, static_cast<std::size_t>(n));
        if (answer.find("\r\n") != std::string::npos) {
            break;
        }
    }
    ::close(fd);
    return answer.rfind("HTTP/1.1 ", 0) == 0 ? std::atoi(answer.c_str() + 9) : 0;
}

class HipkiDaemon : public ::testing::Test {
  protected:
    void SetUp() override {
        port_ = freePort();
        hipkiPort_ = freePortBesides(port_);
        const std::string config = file("tenderkeyd.toml");
        std::ofstream(config) << "[hipki]\nenabled = true\nport = " << hipkiPort_
                              << "\n[[origins]]\norigin = \"" << kPortal << "\"\n";
        daemon_ = std::make_unique<ChildProcess>(
            TK_DAEMON_BINARY,
            std::vector<std::string>{"--dev", "--port", std::to_string(port_), "--config", config},
            file("tenderkeyd.log"));
        ASSERT_TRUE(daemon_->waitForLog("listening on", 15s)) << daemon_->log();
        // The popup's connection: to the HiPKI listener, from its own origin.
        popup_ = openHipkiPopup(
            hipkiPort_, kPortal, [this](const json& message, const std::string& method) {
                for (const auto& e : schemas().message(message, method)) {
                    violations_.push_back(message.dump().substr(0, 300) + ": " + e);
                }
            });
        ASSERT_TRUE(popup_);
        waitForCard();
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

    std::string localhost() const { return "localhost:" + std::to_string(hipkiPort_); }

    int post(const std::string& path, const std::string& headers) {
        const std::string body = R"({"func":"MakeSignature","tbs":"x","pin":"123456"})";
        return httpStatus(hipkiPort_, "POST " + path + " HTTP/1.1\r\nHost: " + localhost() +
                                          "\r\n" + headers +
                                          "Content-Type: application/x-www-form-urlencoded\r\n"
                                          "Content-Length: " +
                                          std::to_string(body.size()) + "\r\n\r\n" + body);
    }

    json call(const json& package) { return hipkiCall(*popup_, package); }

    void waitForCard() {
        for (int i = 0; i < 200; ++i) {
            const json r = call({{"func", "GetUserCert"}});
            for (const json& slot : r["slots"]) {
                if (slot["slotDescription"] == env("TK_READER_0") && !slot["token"].is_null()) {
                    token_ = slot["token"];
                    return;
                }
            }
            std::this_thread::sleep_for(50ms);
        }
        FAIL() << "the card did not appear";
    }

    std::string certificateOf(const std::string& usage) const {
        for (const json& cert : token_["certs"]) {
            if (cert["usage"] == usage) {
                return cert["certb64"];
            }
        }
        return {};
    }

    json sign(json package) {
        package["func"] = "MakeSignature";
        if (!package.contains("pin")) {
            package["pin"] = "123456";
        }
        return call(package);
    }

    std::string envelope(const std::string& cipher) {
        writeFile(
            file("recipient.pem"),
            certificatePemOf(base64Decode(certificateOf("keyEncipherment|dataEncipherment"))));
        writeFile(file("plain.bin"), kSecret);
        const std::string command = "openssl cms -encrypt -binary -outform DER " + cipher +
                                    " -in " + file("plain.bin") + " -out " + file("env.der") +
                                    " -recip " + file("recipient.pem");
        if (run(command, file("encrypt.log")) != 0) {
            throw std::runtime_error("openssl cms -encrypt: " + readFile(file("encrypt.log")));
        }
        return readFile(file("env.der"));
    }

    std::uint16_t port_ = 0;
    std::uint16_t hipkiPort_ = 0;
    std::unique_ptr<ChildProcess> daemon_;
    std::unique_ptr<WsClient> popup_;
    std::vector<std::string> violations_;
    json token_;
};

TEST_F(HipkiDaemon, GetUserCert_UsageStringsAndCheckEnvir) {
    ASSERT_FALSE(certificateOf("digitalSignature").empty()) << token_.dump();
    ASSERT_FALSE(certificateOf("keyEncipherment|dataEncipherment").empty()) << token_.dump();
    for (const json& cert : token_["certs"]) {
        EXPECT_GT(cert["notAfterT"].get<std::int64_t>(), cert["notBeforeT"].get<std::int64_t>());
    }
    const json r = call({{"func", "CheckEnvir"}});
    EXPECT_EQ(r["ret_code"], 0);
    EXPECT_EQ(r["func"], "pkcs11info");
    EXPECT_EQ(r["serverVersion"], "1.3.4.999999");
}

TEST_F(HipkiDaemon, Pkcs7_NoneAndBase64Tbs_EveryHash_VerifiedByOpenSslCms) {
    const std::string text = "投標文件 2026-0042: price 100% + tax";
    for (const std::string hash : {"SHA256", "SHA384", "SHA512"}) {
        for (const bool base64 : {false, true}) {
            const json r = sign({{"tbs", base64 ? base64Encode(text) : uriComponent(text)},
                                 {"tbsEncoding", base64 ? "base64" : "NONE"},
                                 {"hashAlgorithm", hash},
                                 {"signatureType", "PKCS7"},
                                 {"withCardSN", "false"},
                                 {"nonce", ""}});
            ASSERT_EQ(r["ret_code"], 0) << r.dump();
            EXPECT_EQ(r["certb64"], certificateOf("digitalSignature"));
            EXPECT_EQ(verifyCms(base64Decode(r["signature"])), text) << hash << " " << base64;
        }
    }
}

TEST_F(HipkiDaemon, Pkcs7_NonceAndCardSerial_AttributesPresentAndVerified) {
    const json r = sign({{"tbs", "abc"},
                         {"hashAlgorithm", "SHA256"},
                         {"signatureType", "PKCS7"},
                         {"withCardSN", "true"},
                         {"nonce", "Zq1-nonce"}});
    ASSERT_EQ(r["ret_code"], 0) << r.dump();
    const std::string der = base64Decode(r["signature"]);
    EXPECT_EQ(verifyCms(der), "abc");
    EXPECT_EQ(signedAttribute(der, "1.2.840.113549.1.9.25.3", V_ASN1_OCTET_STRING), "Zq1-nonce");
    EXPECT_EQ(signedAttribute(der, "2.16.886.1.100.2.204", V_ASN1_UTF8STRING),
              r["cardSN"].get<std::string>());
    EXPECT_EQ(r["cardSN"], token_["serialNumber"]);
}

TEST_F(HipkiDaemon, Pkcs1AndRaw_VerifiedByOpenSsl_MalformedRawRefused) {
    const std::string signer = certificateOf("digitalSignature");
    json r = sign({{"tbs", "bid"}, {"signatureType", "PKCS1"}, {"hashAlgorithm", "SHA512"}});
    ASSERT_EQ(r["ret_code"], 0) << r.dump();
    EXPECT_TRUE(verifyPkcs1(signer, EVP_sha512(), digestOf(EVP_sha512(), "bid"),
                            base64Decode(r["signature"])));

    const std::string digest = digestOf(EVP_sha256(), "bid");
    r = sign({{"tbs", base64Encode(sha256DigestInfo(digest))}, {"signatureType", "RAW"}});
    ASSERT_EQ(r["ret_code"], 0) << r.dump();
    EXPECT_TRUE(verifyPkcs1(signer, EVP_sha256(), digest, base64Decode(r["signature"])));

    for (const std::string& bad : {sha256DigestInfo(digest.substr(1)), digest,
                                   sha256DigestInfo(digest) + std::string(1, '\0')}) {
        r = sign({{"tbs", base64Encode(bad)}, {"signatureType", "RAW"}});
        EXPECT_EQ(r["ret_code"], 0x7600000C) << r.dump();
    }
}

TEST_F(HipkiDaemon, DecryptData_Des3AndAes256EnvelopesAndPkcs1) {
    for (const std::string cipher : {"-des3", "-aes256"}) {
        const json r = call({{"func", "DecryptData"},
                             {"cipher", base64Encode(envelope(cipher))},
                             {"cipherType", "PKCS7"},
                             {"plainEncoding", "NONE"},
                             {"pin", "123456"}});
        ASSERT_EQ(r["ret_code"], 0) << cipher << " " << r.dump();
        EXPECT_EQ(r["func"], "decrypt");
        EXPECT_EQ(r["plain"], kSecret);
    }
    // openssl pkeyutl -encrypt (RSAES-PKCS1-v1_5) to the encryption certificate.
    writeFile(file("recipient.pem"),
              certificatePemOf(base64Decode(certificateOf("keyEncipherment|dataEncipherment"))));
    writeFile(file("plain.bin"), kSecret);
    ASSERT_EQ(run("openssl pkeyutl -encrypt -certin -inkey " + file("recipient.pem") +
                      " -pkeyopt rsa_padding_mode:pkcs1 -in " + file("plain.bin") + " -out " +
                      file("rsa.bin"),
                  file("pkeyutl.log")),
              0)
        << readFile(file("pkeyutl.log"));
    const json r = call({{"func", "DecryptData"},
                         {"cipher", base64Encode(readFile(file("rsa.bin")))},
                         {"cipherType", "PKCS1"},
                         {"plainEncoding", "base64"},
                         {"pin", "123456"}});
    ASSERT_EQ(r["ret_code"], 0) << r.dump();
    EXPECT_EQ(base64Decode(r["plain"]), kSecret);
}

TEST_F(HipkiDaemon, WrongPin_CodesCountDown_LastTryNeverSpent) {
    json r = sign({{"tbs", "x"}, {"pin", "654321"}});
    EXPECT_EQ(r["ret_code"], 0x76100006);
    EXPECT_EQ(r["last_error"], -2147483646);
    r = sign({{"tbs", "x"}, {"pin", "654321"}});
    EXPECT_EQ(r["last_error"], -2147483647);
    r = sign({{"tbs", "x"}, {"pin", uriComponent("123456")}});
    EXPECT_EQ(r["ret_code"], 0x76100006);
    EXPECT_EQ(r["last_error"], -2147483647);
    r = sign({{"tbs", "x"}, {"pin", "12"}});
    EXPECT_EQ(r["last_error"], 0xA2);
}

TEST_F(HipkiDaemon, Listener_PopupPagesWithTheBridgeHeaders_OnEveryLoopbackHostName) {
    for (const std::string path : {"/popupForm", "/ChtPopupForm"}) {
        for (const std::string& host : {localhost(), "127.0.0.1:" + std::to_string(hipkiPort_),
                                        "[::1]:" + std::to_string(hipkiPort_)}) {
            const HttpResponse r = httpGet("127.0.0.1", hipkiPort_, path, host);
            EXPECT_EQ(r.status, 200) << path << " " << host;
            EXPECT_NE(r.headers.at("content-security-policy").find("frame-ancestors 'none'"),
                      std::string::npos);
            EXPECT_EQ(r.headers.at("x-frame-options"), "DENY");
            EXPECT_EQ(r.headers.at("cache-control"), "no-store");
            EXPECT_NE(r.body.find("/popupForm.js"), std::string::npos);
        }
    }
    EXPECT_EQ(httpGet("::1", hipkiPort_, "/popupForm", localhost()).status, 200);
    EXPECT_EQ(httpGet("127.0.0.1", hipkiPort_, "/popupForm.js", localhost()).status, 200);
    EXPECT_EQ(
        httpGet("127.0.0.1", hipkiPort_, "/popupForm", "evil.com:" + std::to_string(hipkiPort_))
            .status,
        403);
}

TEST_F(HipkiDaemon, PostEndpoints_RefusedWithOrWithoutBrowserHeaders) {
    for (const std::string path : {"/sign", "/decrypt", "/pkcs11info"}) {
        EXPECT_EQ(post(path, "Origin: https://evil.example\r\n"), 403) << path;
        EXPECT_EQ(post(path, "Origin: null\r\n"), 403) << path;
        EXPECT_EQ(post(path, "Sec-Fetch-Site: cross-site\r\nSec-Fetch-Mode: no-cors\r\n"), 403)
            << path;
        EXPECT_EQ(post(path, ""), 403) << path;  // a local program: none is configured
    }
}

TEST_F(HipkiDaemon, HipkiOrigins_AreTheDaemonsOwn_AndNeedAnAttach) {
    auto other = std::make_unique<WsClient>("::1", hipkiPort_);
    ASSERT_EQ(
        other
            ->handshake(Handshake("127.0.0.1:" + std::to_string(hipkiPort_),
                                  "http://127.0.0.1:" + std::to_string(hipkiPort_), "tenderkey.v1"))
            .status,
        101);
    EXPECT_EQ(other->call("hipki.call",
                          {{"package", {{"func", "CheckEnvir"}}}})["error"]["data"]["reason"],
              "NOT_ATTACHED");
    EXPECT_EQ(other->call("bridge.attach",
                          {{"origin", "https://evil.example"}})["error"]["data"]["reason"],
              "ORIGIN_NOT_ALLOWED");
}

// A foreign program holding [::1] at the HiPKI port would receive the portals' packages: the
// daemon refuses to start rather than serve 127.0.0.1 alone.
class HipkiDaemonStart : public ::testing::Test {};

TEST_F(HipkiDaemonStart, ForeignListenerOnIpv6Loopback_DaemonRefusesToStart) {
    const std::uint16_t port = freePort();
    std::uint16_t hipkiPort = freePort();
    while (hipkiPort == port) {
        hipkiPort = freePort();
    }
    const int squatter = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    setsockopt(squatter, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    sockaddr_in6 address{};
    address.sin6_family = AF_INET6;
    address.sin6_port = htons(hipkiPort);
    address.sin6_addr = in6addr_loopback;
    ASSERT_EQ(bind(squatter, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    ASSERT_EQ(listen(squatter, 4), 0);
    const std::string dir = env("TK_HARNESS_DIR");
    const std::string config = dir + "/squatted.toml";
    std::ofstream(config) << "[hipki]\nenabled = true\nport = " << hipkiPort << "\n";
    ChildProcess daemon(TK_DAEMON_BINARY,
                        {"--dev", "--port", std::to_string(port), "--config", config},
                        dir + "/squatted.log");
    const std::optional<int> status = daemon.waitExit(15s);
    ::close(squatter);
    ASSERT_TRUE(status.has_value()) << daemon.log();
    EXPECT_NE(*status, 0) << daemon.log();
}

}  // namespace
}  // namespace tk::test
