// The HiPKI endpoint's administrator settings through the real daemon and the virtual PIV card:
// `[hipki] allow_sha1` (SHA-1 signatures for this endpoint only), `[hipki] local_programs` (POST
// /sign, /decrypt, /pkcs11info for programs that are not browsers) and the HiPKI listener's
// sockets handed over by a socket unit (systemd-socket-activate stands in for systemd).
// Every CMS SignedData is verified by `openssl cms -verify` against the card's CA, every raw
// signature by OpenSSL's EVP verification.
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
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/card_cms.hpp"
#include "support/daemon_process.hpp"
#include "support/harness_files.hpp"
#include "support/hipki_popup.hpp"
#include "support/openssl_util.hpp"
#include "support/test_env.hpp"
#include "support/uri_component.hpp"
#include "support/ws_client.hpp"

namespace tk::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

const std::string kPortal = "https://web.pcc.gov.tw";
constexpr const char* kSocketActivate = "/usr/bin/systemd-socket-activate";

// The HiPKI codes these tests expect (docs/hipki.md).
constexpr std::int64_t kBadParameter = 0x7600000C;
constexpr std::int64_t kSiteNotAuthorised = 0x76000031;

// The DER DigestInfo of RFC 8017 §9.2 for SHA-1 and `digest`.
std::string sha1DigestInfo(const std::string& digest) {
    static const unsigned char prefix[] = {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
                                           0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14};
    return std::string(reinterpret_cast<const char*>(prefix), sizeof prefix) + digest;
}

// The NID of the first SignerInfo's digest algorithm (NID_undef when it does not parse).
int cmsDigestNid(const std::string& der) {
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    std::unique_ptr<CMS_ContentInfo, decltype(&CMS_ContentInfo_free)> cms(
        d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())), CMS_ContentInfo_free);
    if (!cms) {
        return NID_undef;
    }
    CMS_SignerInfo* signer = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms.get()), 0);
    X509_ALGOR* digest = nullptr;
    CMS_SignerInfo_get0_algs(signer, nullptr, nullptr, &digest, nullptr);
    if (digest == nullptr) {
        return NID_undef;
    }
    const ASN1_OBJECT* oid = nullptr;
    X509_ALGOR_get0(&oid, nullptr, nullptr, digest);
    return OBJ_obj2nid(oid);
}

// One HTTP/1.1 exchange with 127.0.0.1:`port`: the whole response (body by Content-Length).
HttpResponse httpExchange(std::uint16_t port, const std::string& request) {
    HttpResponse response;
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
        ::close(fd);
        return response;
    }
    timeval timeout{30, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    std::string answer;
    char buffer[4096];
    std::size_t headEnd = std::string::npos;
    std::size_t length = 0;
    for (ssize_t n = 0; (n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0;) {
        answer.append(buffer, static_cast<std::size_t>(n));
        if (headEnd == std::string::npos &&
            (headEnd = answer.find("\r\n\r\n")) != std::string::npos) {
            std::istringstream head(answer.substr(0, headEnd));
            std::string line;
            std::getline(head, line);
            response.statusLine = line;
            while (std::getline(head, line)) {
                const auto colon = line.find(':');
                if (colon == std::string::npos) {
                    continue;
                }
                std::string name = line.substr(0, colon);
                for (char& c : name) {
                    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                }
                std::string value = line.substr(colon + 1);
                value.erase(0, value.find_first_not_of(' '));
                value.erase(value.find_last_not_of("\r ") + 1);
                response.headers[name] = value;
            }
            length =
                static_cast<std::size_t>(std::atoll(response.headers.count("content-length") != 0
                                                        ? response.headers["content-length"].c_str()
                                                        : "0"));
        }
        if (headEnd != std::string::npos && answer.size() >= headEnd + 4 + length) {
            break;
        }
    }
    ::close(fd);
    if (answer.rfind("HTTP/1.1 ", 0) == 0) {
        response.status = std::atoi(answer.c_str() + 9);
    }
    if (headEnd != std::string::npos) {
        response.body = answer.substr(headEnd + 4, length);
    }
    return response;
}

class HipkiLocal : public ::testing::Test {
  protected:
    void TearDown() override {
        if (HasFailure() && daemon_) {
            std::cerr << "---- tenderkeyd log ----\n" << daemon_->log();
        }
    }

    // The daemon with the HiPKI endpoint on and `hipkiSettings` added to its [hipki] table;
    // the portal is on the allow-list. Waits for the card through a popup connection.
    void start(const std::string& hipkiSettings) {
        port_ = freePort();
        hipkiPort_ = freePortBesides(port_);
        const std::string config = file("tenderkeyd.toml");
        std::ofstream(config) << "[hipki]\nenabled = true\nport = " << hipkiPort_ << "\n"
                              << hipkiSettings << "\n[[origins]]\norigin = \"" << kPortal << "\"\n";
        daemon_ = std::make_unique<ChildProcess>(
            TK_DAEMON_BINARY,
            std::vector<std::string>{"--dev", "--port", std::to_string(port_), "--config", config},
            file("tenderkeyd.log"));
        ASSERT_TRUE(daemon_->waitForLog("listening on", 15s)) << daemon_->log();
        popup_ = openHipkiPopup(hipkiPort_, kPortal);
        ASSERT_TRUE(popup_);
        for (int i = 0; i < 200 && signer_.empty(); ++i) {
            const json r = call({{"func", "GetUserCert"}});
            for (const json& slot : r["slots"]) {
                if (slot["token"].is_null()) {
                    continue;
                }
                for (const json& cert : slot["token"]["certs"]) {
                    if (cert["usage"] == "digitalSignature") {
                        signer_ = cert["certb64"];
                    }
                }
            }
            if (signer_.empty()) {
                std::this_thread::sleep_for(50ms);
            }
        }
        ASSERT_FALSE(signer_.empty()) << "the card did not appear";
    }

    static std::string file(const std::string& name) { return env("TK_HARNESS_DIR") + "/" + name; }

    // hipki.call on the popup's connection, as the portal.
    json call(const json& package) { return hipkiCall(*popup_, package); }

    json sign(json package) {
        package["func"] = "MakeSignature";
        package["pin"] = "123456";
        return call(package);
    }

    // A local program's POST to the HiPKI listener (or `port`), with `headers` added.
    HttpResponse post(const std::string& path, const std::string& body,
                      const std::string& headers = "", std::uint16_t port = 0) {
        const std::uint16_t to = port != 0 ? port : hipkiPort_;
        return httpExchange(
            to, "POST " + path + " HTTP/1.1\r\nHost: localhost:" + std::to_string(to) + "\r\n" +
                    headers + "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n" + body);
    }

    static json parse(const HttpResponse& r) {
        json value = json::parse(r.body, nullptr, false);
        if (!value.is_object()) {
            ADD_FAILURE() << "status " << r.status << " body " << r.body;
            return json::object();
        }
        return value;
    }

    std::uint16_t port_ = 0;
    std::uint16_t hipkiPort_ = 0;
    std::unique_ptr<ChildProcess> daemon_;
    std::unique_ptr<WsClient> popup_;
    std::string signer_;  // the signing certificate, base64 DER
};

TEST_F(HipkiLocal, Sha1_RefusedByDefault_BadParameter) {
    ASSERT_NO_FATAL_FAILURE(start(""));
    for (const std::string type : {"PKCS7", "PKCS1"}) {
        const json r = sign({{"tbs", "bid"}, {"hashAlgorithm", "SHA1"}, {"signatureType", type}});
        EXPECT_EQ(r["ret_code"], kBadParameter) << type << " " << r.dump();
    }
    const std::string info = sha1DigestInfo(digestOf(EVP_sha1(), "bid"));
    const json r = sign({{"tbs", base64Encode(info)}, {"signatureType", "RAW"}});
    EXPECT_EQ(r["ret_code"], kBadParameter) << r.dump();
    // The other hashes still sign.
    EXPECT_EQ(
        sign({{"tbs", "bid"}, {"hashAlgorithm", "SHA256"}, {"signatureType", "PKCS1"}})["ret_code"],
        0);
    EXPECT_EQ(daemon_->log().find("SHA-1"), std::string::npos) << daemon_->log();
}

TEST_F(HipkiLocal, Sha1_Allowed_Pkcs7Pkcs1AndRawVerifiedByOpenSsl_Logged) {
    ASSERT_NO_FATAL_FAILURE(start("allow_sha1 = true"));
    json r = sign({{"tbs", "bid 2026-0042"},
                   {"hashAlgorithm", "SHA1"},
                   {"signatureType", "PKCS7"},
                   {"nonce", "n-1"},
                   {"withCardSN", "true"}});
    ASSERT_EQ(r["ret_code"], 0) << r.dump();
    const std::string cms = base64Decode(r["signature"]);
    EXPECT_EQ(cmsDigestNid(cms), NID_sha1);
    EXPECT_EQ(verifyCms(cms), "bid 2026-0042");

    r = sign({{"tbs", "bid"}, {"hashAlgorithm", "SHA1"}, {"signatureType", "PKCS1"}});
    ASSERT_EQ(r["ret_code"], 0) << r.dump();
    const std::string digest = digestOf(EVP_sha1(), "bid");
    EXPECT_TRUE(verifyPkcs1(signer_, EVP_sha1(), digest, base64Decode(r["signature"])));

    r = sign({{"tbs", base64Encode(sha1DigestInfo(digest))}, {"signatureType", "RAW"}});
    ASSERT_EQ(r["ret_code"], 0) << r.dump();
    EXPECT_TRUE(verifyPkcs1(signer_, EVP_sha1(), digest, base64Decode(r["signature"])));
    // A SHA-1 DigestInfo with a digest of another length is still malformed.
    r = sign({{"tbs", base64Encode(sha1DigestInfo(digest.substr(1)))}, {"signatureType", "RAW"}});
    EXPECT_EQ(r["ret_code"], kBadParameter) << r.dump();

    EXPECT_TRUE(daemon_->waitForLog("HiPKI MakeSignature PKCS7 with SHA-1", 5s)) << daemon_->log();
    EXPECT_TRUE(daemon_->waitForLog("HiPKI MakeSignature RAW with SHA-1", 5s)) << daemon_->log();
}

TEST_F(HipkiLocal, Sha1_Allowed_TheApisSignStillRefusesIt) {
    ASSERT_NO_FATAL_FAILURE(start("allow_sha1 = true"));
    WsClient page("127.0.0.1", port_);
    ASSERT_EQ(page.open(kPortal).status, 101);
    const json list = page.call("certificates.list");
    std::string id;
    for (const json& cert : list["result"]["certificates"]) {
        if (cert["slot"] == "9c") {
            id = cert["id"];
        }
    }
    ASSERT_FALSE(id.empty()) << list.dump();
    for (const bool cms : {false, true}) {
        json params = {{"certificateId", id},
                       {"pin", "123456"},
                       {"hash", "SHA-1"},
                       {"data", base64Encode("bid")}};
        if (cms) {
            params["format"] = "cms";
        }
        const json r = page.call("sign", params);
        ASSERT_TRUE(r.contains("error")) << r.dump();
        EXPECT_EQ(r["error"]["data"]["reason"], "INVALID_PARAMS") << r.dump();
    }
    const json r = page.call("sign", {{"certificateId", id},
                                      {"pin", "123456"},
                                      {"hash", "SHA-1"},
                                      {"digest", base64Encode(digestOf(EVP_sha1(), "bid"))}});
    EXPECT_EQ(r["error"]["data"]["reason"], "INVALID_PARAMS") << r.dump();
}

TEST_F(HipkiLocal, LocalPrograms_NotConfigured_EveryPostRefused) {
    ASSERT_NO_FATAL_FAILURE(start(""));
    const std::string package =
        "tbsPackage=" + json{{"func", "MakeSignature"}, {"tbs", "x"}, {"pin", "123456"}}.dump();
    for (const std::string path : {"/sign", "/decrypt", "/pkcs11info?withcert=true"}) {
        EXPECT_EQ(post(path, package).status, 403) << path;
    }
    EXPECT_TRUE(daemon_->waitForLog("path=/sign check=local-programs", 5s)) << daemon_->log();
}

TEST_F(HipkiLocal, LocalPrograms_ReadSign_CertificatesAndSignaturesAnswered_DecryptRefused) {
    ASSERT_NO_FATAL_FAILURE(start("local_programs = [\"read\", \"sign\"]"));
    HttpResponse r = post("/pkcs11info?withcert=true", "");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.headers["content-type"], "application/json");
    EXPECT_EQ(r.headers["cache-control"], "no-store");
    json answer = parse(r);
    EXPECT_EQ(answer["ret_code"], 0) << answer.dump();
    EXPECT_EQ(answer["func"], "pkcs11info");
    bool listed = false;
    for (const json& slot : answer["slots"]) {
        if (!slot["token"].is_null()) {
            for (const json& cert : slot["token"]["certs"]) {
                listed = listed || cert["certb64"] == signer_;
            }
        }
    }
    EXPECT_TRUE(listed) << answer.dump();
    answer = parse(post("/pkcs11info", ""));
    EXPECT_EQ(answer["ret_code"], 0) << answer.dump();

    // As the vendor's clients post it: tbsPackage= and the JSON as it is.
    const json pkcs1 = {{"func", "MakeSignature"},  {"tbs", "bid"},
                        {"tbsEncoding", "NONE"},    {"hashAlgorithm", "SHA256"},
                        {"signatureType", "PKCS1"}, {"pin", "123456"}};
    answer = parse(post("/sign", "tbsPackage=" + pkcs1.dump()));
    ASSERT_EQ(answer["ret_code"], 0) << answer.dump();
    EXPECT_EQ(answer["func"], "sign");
    EXPECT_TRUE(verifyPkcs1(answer["certb64"], EVP_sha256(), digestOf(EVP_sha256(), "bid"),
                            base64Decode(answer["signature"])));
    EXPECT_EQ(answer["certb64"], signer_);

    // A form's encoding of it (a base64 tbs keeps its "+").
    const std::string content = "bid\xfb\xff + 100%";
    const json pkcs7 = {{"func", "MakeSignature"},
                        {"tbs", base64Encode(content)},
                        {"tbsEncoding", "base64"},
                        {"hashAlgorithm", "SHA384"},
                        {"signatureType", "PKCS7"},
                        {"pin", "123456"},
                        {"slotDescription", env("TK_READER_0")}};
    answer = parse(post("/sign", "tbsPackage=" + uriComponent(pkcs7.dump()),
                        "Content-Type: application/x-www-form-urlencoded\r\n"));
    ASSERT_EQ(answer["ret_code"], 0) << answer.dump();
    EXPECT_EQ(verifyCms(base64Decode(answer["signature"])), content);

    // decrypt is not listed.
    const json decrypt = {{"func", "DecryptData"},
                          {"cipher", base64Encode(std::string(256, 'x'))},
                          {"cipherType", "PKCS1"},
                          {"plainEncoding", "base64"},
                          {"pin", "123456"}};
    answer = parse(post("/decrypt", "tbsPackage=" + decrypt.dump()));
    EXPECT_EQ(answer["ret_code"], kSiteNotAuthorised) << answer.dump();
    EXPECT_EQ(answer["func"], "decrypt");

    EXPECT_TRUE(
        daemon_->waitForLog("request origin=local-program method=POST /sign outcome=ok", 5s))
        << daemon_->log();
}

TEST_F(HipkiLocal, LocalPrograms_BrowserHeaders_RefusedEvenWhenConfigured) {
    ASSERT_NO_FATAL_FAILURE(start("local_programs = [\"read\", \"sign\", \"decrypt\"]"));
    const std::string package =
        "tbsPackage=" + json{{"func", "MakeSignature"}, {"tbs", "x"}, {"pin", "123456"}}.dump();
    for (const std::string path : {"/sign", "/decrypt", "/pkcs11info"}) {
        for (const std::string& headers :
             {"Origin: " + kPortal + "\r\n", std::string("Origin: null\r\n"),
              std::string("Sec-Fetch-Site: same-origin\r\n"),
              std::string("Sec-Fetch-Mode: no-cors\r\n"), std::string("Sec-Fetch-Dest: empty\r\n"),
              std::string("sec-fetch-user: ?1\r\n")}) {
            EXPECT_EQ(post(path, package, headers).status, 403) << path << " " << headers;
        }
    }
    EXPECT_TRUE(daemon_->waitForLog("check=browser", 5s)) << daemon_->log();
    // Without them, the same request is answered; on the API's listener it is not.
    EXPECT_EQ(post("/pkcs11info", "").status, 200);
    EXPECT_EQ(post("/pkcs11info", "", "", port_).status, 403);
}

TEST_F(HipkiLocal, LocalPrograms_BodyOverTheMessageLimit_413) {
    ASSERT_NO_FATAL_FAILURE(
        start("local_programs = [\"read\", \"sign\"]\n[limits]\nmax_message_bytes = 4096"));
    const json package = {
        {"func", "MakeSignature"}, {"tbs", std::string(4096, 'a')}, {"pin", "123456"}};
    const HttpResponse r = post("/sign", "tbsPackage=" + package.dump());
    EXPECT_EQ(r.status, 413) << r.statusLine;
    EXPECT_TRUE(daemon_->waitForLog("http request refused status=413 path=/sign", 5s))
        << daemon_->log();
    // Within the limit, the same program is answered.
    EXPECT_EQ(parse(post("/pkcs11info", "")).at("ret_code"), 0);
}

// The HiPKI listener's sockets held by a socket unit (tenderkeyd-hipki.socket):
// systemd-socket-activate holds them and starts the daemon with them on the first connection.
class HipkiActivation : public ::testing::Test {
  protected:
    void SetUp() override {
        port_ = freePort();
        hipkiPort_ = freePortBesides(port_);
    }

    std::string config(const std::string& enabled) {
        const std::string path = env("TK_HARNESS_DIR") + "/activated.toml";
        std::ofstream(path) << "[[listeners]]\naddress = \"localhost\"\nport = " << port_
                            << "\n[hipki]\n"
                            << enabled << "port = " << hipkiPort_ << "\n[[origins]]\norigin = \""
                            << kPortal << "\"\n";
        return path;
    }

    std::vector<std::string> arguments(bool withHipki, const std::string& configPath) const {
        std::vector<std::string> args{"-l", "127.0.0.1:" + std::to_string(port_), "-l",
                                      "[::1]:" + std::to_string(port_)};
        if (withHipki) {
            for (const std::string address : {"127.0.0.1:", "[::1]:"}) {
                args.push_back("-l");
                args.push_back(address + std::to_string(hipkiPort_));
            }
        }
        for (const std::string& a : {std::string(TK_DAEMON_BINARY), std::string("--dev"),
                                     std::string("--config"), configPath}) {
            args.push_back(a);
        }
        return args;
    }

    std::string host(std::uint16_t port) const { return "localhost:" + std::to_string(port); }

    std::uint16_t port_ = 0;
    std::uint16_t hipkiPort_ = 0;
};

TEST_F(HipkiActivation, SocketsHandedOver_EnabledUnset_EndpointOnBothAddresses) {
    ChildProcess activated(kSocketActivate, arguments(true, config("")),
                           env("TK_HARNESS_DIR") + "/activated.log");
    ASSERT_TRUE(activated.waitForLog("Listening on [::1]:" + std::to_string(hipkiPort_), 10s))
        << activated.log();
    // The first connection starts the daemon.
    EXPECT_EQ(httpGet("127.0.0.1", hipkiPort_, "/popupForm", host(hipkiPort_)).status, 200)
        << activated.log();
    ASSERT_TRUE(activated.waitForLog("(its sockets handed over by the service manager)", 15s))
        << activated.log();
    EXPECT_EQ(httpGet("::1", hipkiPort_, "/popupForm", host(hipkiPort_)).status, 200);
    for (const std::string address : {"127.0.0.1", "::1"}) {
        WsClient popup(address, hipkiPort_);
        ASSERT_EQ(popup.handshake({host(hipkiPort_), "http://" + host(hipkiPort_), "tenderkey.v1"})
                      .status,
                  101);
        ASSERT_TRUE(popup.call("bridge.attach", {{"origin", kPortal}}).contains("result"));
        const json r = popup.call("hipki.call", {{"package", {{"func", "CheckEnvir"}}}});
        EXPECT_EQ(r["result"]["ret_code"], 0) << r.dump();
    }
    activated.signal(SIGTERM);
    EXPECT_EQ(activated.waitExit(15s), 0) << activated.log();
}

TEST_F(HipkiActivation, SocketsNotHandedOver_EnabledUnset_EndpointOff) {
    ChildProcess activated(kSocketActivate, arguments(false, config("")),
                           env("TK_HARNESS_DIR") + "/activated.log");
    ASSERT_TRUE(activated.waitForLog("Listening on [::1]:" + std::to_string(port_), 10s))
        << activated.log();
    EXPECT_EQ(httpGet("127.0.0.1", port_, "/health", "127.0.0.1:" + std::to_string(port_)).status,
              200)
        << activated.log();
    ASSERT_TRUE(activated.waitForLog("listening on", 15s)) << activated.log();
    EXPECT_EQ(activated.log().find("HiPKI endpoint on"), std::string::npos) << activated.log();
    EXPECT_THROW(httpGet("127.0.0.1", hipkiPort_, "/popupForm", host(hipkiPort_)),
                 std::runtime_error);
    activated.signal(SIGTERM);
    EXPECT_EQ(activated.waitExit(15s), 0) << activated.log();
}

TEST_F(HipkiActivation, SocketsHandedOver_EnabledFalse_Exits2NamingThem) {
    ChildProcess activated(kSocketActivate, arguments(true, config("enabled = false\n")),
                           env("TK_HARNESS_DIR") + "/activated.log");
    ASSERT_TRUE(activated.waitForLog("Listening on [::1]:" + std::to_string(hipkiPort_), 10s))
        << activated.log();
    try {
        httpGet("127.0.0.1", port_, "/health", "127.0.0.1:" + std::to_string(port_));
    } catch (const std::exception&) {
        // The daemon refuses to start: the connection is closed unanswered.
    }
    EXPECT_EQ(activated.waitExit(15s), 2) << activated.log();
    EXPECT_NE(
        activated.log().find(":" + std::to_string(hipkiPort_) + " is not a configured listener"),
        std::string::npos)
        << activated.log();
}

}  // namespace
}  // namespace tk::test
