// tenderkeyd as a real process, spoken to over WebSocket on loopback, next to a private pcscd
// with virtual PIV cards (tests/harness/with-cards sets the TK_* variables read here). Every
// test gets a fresh pcscd, fresh cards and its own daemon, so tests may block PINs, pull cards
// and send signals without cleaning up. Every message the tests receive is checked against
// protocol/schema/, and every signature is verified with OpenSSL against the certificate
// that certificates.list returned.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

#include "support/daemon_process.hpp"
#include "support/openssl_util.hpp"
#include "support/schema_validator.hpp"
#include "support/test_env.hpp"
#include "support/ws_client.hpp"

namespace tk::test {
namespace {

using json = nlohmann::json;

const std::string kSigner = "https://portal.example.gov.tw";      // read, sign, decrypt, register
const std::string kManager = "https://card-care.example.gov.tw";  // read, manage
const std::string kWildcard = "https://*.bids.example.gov.tw";    // default capabilities

// ---- OpenSSL helpers ----

const EVP_MD* mdOf(const std::string& hash) {
    return hash == "SHA-384" ? EVP_sha384() : hash == "SHA-512" ? EVP_sha512() : EVP_sha256();
}

// r||s -> DER Ecdsa-Sig-Value
std::string p1363ToDer(const std::string& raw) {
    const int half = static_cast<int>(raw.size() / 2);
    ECDSA_SIG* sig = ECDSA_SIG_new();
    ECDSA_SIG_set0(
        sig, BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), half, nullptr),
        BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + half, half, nullptr));
    unsigned char* der = nullptr;
    const int n = i2d_ECDSA_SIG(sig, &der);
    std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(n));
    OPENSSL_free(der);
    ECDSA_SIG_free(sig);
    return out;
}

bool verifySignature(const std::string& certificate, const std::string& algorithm,
                     const std::string& hash, const std::string& data,
                     const std::string& signature) {
    PKey key = publicKeyOf(certificate);
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    EVP_PKEY_CTX* pctx = nullptr;
    if (EVP_DigestVerifyInit(ctx.get(), &pctx, mdOf(hash), nullptr, key.get()) != 1) {
        return false;
    }
    if (algorithm == "RSA-PSS") {
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, mdOf(hash));
    }
    return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                            signature.size(), reinterpret_cast<const unsigned char*>(data.data()),
                            data.size()) == 1;
}

std::string rsaEncrypt(const std::string& certificate, bool oaep, const std::string& plaintext) {
    PKey key = publicKeyOf(certificate);
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
        EVP_PKEY_CTX_new(key.get(), nullptr), EVP_PKEY_CTX_free);
    EVP_PKEY_encrypt_init(ctx.get());
    if (oaep) {
        EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING);
        EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), EVP_sha256());
        EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), EVP_sha256());
    } else {
        EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING);
    }
    std::size_t length = 0;
    const auto* in = reinterpret_cast<const unsigned char*>(plaintext.data());
    EVP_PKEY_encrypt(ctx.get(), nullptr, &length, in, plaintext.size());
    std::string out(length, '\0');
    if (EVP_PKEY_encrypt(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &length, in,
                         plaintext.size()) != 1) {
        throw std::runtime_error("encryption failed");
    }
    out.resize(length);
    return out;
}

// ---- the virtual cards ----

std::string cardControl(int card, const std::string& command) {
    return controlCard(env(("TK_VCARD_CONTROL_" + std::to_string(card)).c_str()), command);
}

std::vector<std::string> apduLog(int card) {
    std::ifstream in(env(("TK_VCARD_APDU_LOG_" + std::to_string(card)).c_str()));
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line[0] != '#') {
            lines.push_back(line);
        }
    }
    return lines;
}

bool hasField(const std::string& line, const std::string& field) {
    return line.find(field) != std::string::npos;
}

// ---- the fixture ----

class Daemon : public ::testing::Test {
  protected:
    void SetUp() override {
        start({"--allow-origin", kSigner, "--allow-origin", kManager + "=read,manage",
               "--allow-origin", kWildcard});
    }

    void start(std::vector<std::string> args, bool expectReady = true) {
        port_ = freePort();
        args.insert(args.begin(), {"--dev", "--port", std::to_string(port_)});
        daemon_ = std::make_unique<ChildProcess>(TK_DAEMON_BINARY, args, logPath());
        if (expectReady) {
            ASSERT_TRUE(daemon_->waitForLog("listening on", 15s)) << daemon_->log();
        }
    }

    std::string logPath() const { return env("TK_HARNESS_DIR") + "/tenderkeyd.log"; }

    void TearDown() override {
        for (const auto& v : violations_) {
            ADD_FAILURE() << "schema violation: " << v;
        }
        if (HasFailure() && daemon_) {
            std::cerr << "---- tenderkeyd log ----\n" << daemon_->log();
        }
    }

    std::unique_ptr<WsClient> connect(const std::string& origin = kSigner) {
        auto c = std::make_unique<WsClient>("127.0.0.1", port_);
        const auto r = c->open(origin);
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

    HttpResponse handshake(const Handshake& h) {
        WsClient c("127.0.0.1", port_);
        auto r = c.handshake(h);
        if (r.status != 101) {
            EXPECT_TRUE(c.waitPeerClosed(5s)) << "connection left open after " << r.status;
        }
        return r;
    }

    std::string host() const { return "127.0.0.1:" + std::to_string(port_); }

    // The card in reader 0 once the daemon identified it.
    json card(WsClient& c, int reader = 0) {
        const std::string name = env(("TK_READER_" + std::to_string(reader)).c_str());
        for (int i = 0; i < 200; ++i) {
            const auto r = c.call("readers.list");
            for (const auto& entry : r["result"]["readers"]) {
                if (entry["name"] == name && entry["cardPresent"] == true &&
                    entry["card"]["id"].is_string()) {
                    return entry["card"];
                }
            }
            std::this_thread::sleep_for(50ms);
        }
        throw std::runtime_error("the daemon never saw the card in " + name);
    }

    json certificate(WsClient& c, const std::string& slot) {
        const std::string cardId = card(c)["id"];
        const auto r = c.call("certificates.list");
        for (const auto& cert : r["result"]["certificates"]) {
            if (cert["cardId"] == cardId && cert["slot"] == slot) {
                return cert;
            }
        }
        throw std::runtime_error("no certificate in slot " + slot);
    }

    static void expectError(const json& response, const std::string& reason) {
        ASSERT_TRUE(response.contains("error")) << response.dump();
        EXPECT_EQ(response["error"]["data"]["reason"], reason) << response.dump();
    }

    std::uint16_t port_ = 0;
    std::unique_ptr<ChildProcess> daemon_;
    std::vector<std::string> violations_;
};

const std::string kContent = "TenderKey bid 2025-0042: one lot, firm price.";

// ---- handshake and HTTP ----

TEST_F(Daemon, Handshake_RefusalsGetTheirStatusAndNoSession) {
    const std::string p = std::to_string(port_);
    EXPECT_EQ(handshake({host(), std::nullopt, "tenderkey.v1"}).status, 403);
    EXPECT_EQ(handshake({host(), "https://evil.example", "tenderkey.v1"}).status, 403);
    EXPECT_EQ(handshake({"evil.com:" + p, kSigner, "tenderkey.v1"}).status, 403);
    EXPECT_EQ(handshake({host(), kSigner, std::nullopt}).status, 400);
    EXPECT_EQ(handshake({host(), kSigner, "tenderkey.v2"}).status, 400);
    // Subdomain wildcard: subdomains at any depth, not the domain itself, not look-alikes,
    // scheme and port exactly.
    EXPECT_EQ(handshake({host(), "https://a.bids.example.gov.tw", "tenderkey.v1"}).status, 101);
    EXPECT_EQ(handshake({host(), "https://x.y.bids.example.gov.tw", "tenderkey.v1"}).status, 101);
    for (const char* origin : {"https://bids.example.gov.tw", "https://evilbids.example.gov.tw",
                               "http://a.bids.example.gov.tw", "https://a.bids.example.gov.tw:8443",
                               "https://a.bids.example.gov.tw.evil.example", "null"}) {
        EXPECT_EQ(handshake({host(), origin, "tenderkey.v1"}).status, 403) << origin;
    }
    // None of the refused handshakes holds a session: all 32 places are free (once the
    // daemon has seen the two accepted test connections above go).
    std::this_thread::sleep_for(300ms);
    std::vector<std::unique_ptr<WsClient>> open;
    for (int i = 0; i < 32; ++i) {
        open.push_back(connect());
    }
    EXPECT_TRUE(open.back()->call("system.info").contains("result"));
}

TEST_F(Daemon, Health_NeedsValidHost) {
    const auto ok = httpGet("127.0.0.1", port_, "/health", host());
    ASSERT_EQ(ok.status, 200);
    const auto body = json::parse(ok.body);
    EXPECT_TRUE(schemas().health(body).empty()) << body.dump();
    EXPECT_EQ(body["status"], "ok");
    EXPECT_EQ(body["readers"], 2);
    const auto refused =
        httpGet("127.0.0.1", port_, "/health", "evil.com:" + std::to_string(port_));
    EXPECT_EQ(refused.status, 403);
    EXPECT_TRUE(refused.body.empty());
    EXPECT_EQ(httpGet("127.0.0.1", port_, "/health", std::nullopt).status, 403);
}

TEST_F(Daemon, Connections_33rdHandshakeGets503) {
    std::vector<std::unique_ptr<WsClient>> open;
    for (int i = 0; i < 32; ++i) {
        open.push_back(connect());
    }
    EXPECT_EQ(handshake({host(), kSigner, "tenderkey.v1"}).status, 503);
    EXPECT_TRUE(open.back()->call("system.info").contains("result"));
}

TEST_F(Daemon, Listener_OnlyLoopback) {
    // The socket is bound to 127.0.0.1 only: nothing else of this machine reaches it.
    std::ifstream tcp("/proc/net/tcp");
    std::stringstream text;
    text << tcp.rdbuf();
    char wanted[32];
    std::snprintf(wanted, sizeof(wanted), "0100007F:%04X", port_);
    char wildcard[32];
    std::snprintf(wildcard, sizeof(wildcard), "00000000:%04X", port_);
    EXPECT_NE(text.str().find(wanted), std::string::npos);
    EXPECT_EQ(text.str().find(wildcard), std::string::npos);
}

// ---- framing ----

TEST_F(Daemon, Framing_BinaryFrameCloses1003) {
    auto c = connect();
    c->sendFrame(2, R"({"jsonrpc":"2.0","id":1,"method":"system.info"})");
    EXPECT_EQ(c->readCloseCode(), 1003);
}

TEST_F(Daemon, Framing_OversizedMessageCloses1009) {
    auto c = connect();
    const std::string big(2 * 1024 * 1024, 'x');
    std::thread sender([&] {
        try {
            c->sendText(big);
        } catch (const std::exception&) {
            // the daemon may drop the connection after its close frame
        }
    });
    const int code = c->readCloseCode(20s);
    sender.join();
    EXPECT_EQ(code, 1009);
}

TEST_F(Daemon, Framing_BatchNotificationAndParseError) {
    auto c = connect();
    c->sendText(R"([{"jsonrpc":"2.0","id":1,"method":"system.info"}])");
    auto r = c->readJson();
    EXPECT_EQ(r["id"], nullptr);
    expectError(r, "INVALID_REQUEST");
    c->sendText(R"({"jsonrpc":"2.0","method":"system.info"})");
    r = c->readJson();
    EXPECT_EQ(r["id"], nullptr);
    expectError(r, "INVALID_REQUEST");
    c->sendText(R"({"jsonrpc":"2.0","id":3,"method":"system.info")");
    r = c->readJson();
    EXPECT_EQ(r["id"], nullptr);
    expectError(r, "PARSE_ERROR");
    EXPECT_EQ(r["error"]["code"], -32700);
    expectError(c->call("no.such.method"), "METHOD_NOT_FOUND");
    const auto field = c->call("certificates.list", {{"reader", 5}});
    expectError(field, "INVALID_PARAMS");
    EXPECT_EQ(field["error"]["data"]["field"], "reader");
}

TEST_F(Daemon, Busy_NinthRequestInFlight) {
    auto c = connect();
    const std::string cardId = card(*c)["id"];
    cardControl(0, "delay 200");
    std::vector<json> ids;
    for (int i = 0; i < 8; ++i) {
        ids.push_back(c->send("pin.status", {{"cardId", cardId}}));
    }
    const auto busy = c->responseTo(c->send("pin.status", {{"cardId", cardId}}), 2s);
    expectError(busy, "BUSY");
    EXPECT_EQ(busy["error"]["code"], -32020);
    for (const auto& id : ids) {
        EXPECT_TRUE(c->responseTo(id, 60s).contains("result")) << id;
    }
}

// ---- methods ----

TEST_F(Daemon, Read_SystemInfoReadersCertificatesPinStatus) {
    auto c = connect();
    const auto info = c->call("system.info")["result"];
    EXPECT_EQ(info["name"], "TenderKey");
    EXPECT_EQ(info["protocol"], 1);
    EXPECT_EQ(info["origin"], kSigner);
    const json cardInfo = card(*c);
    EXPECT_EQ(cardInfo["type"], "piv");
    const auto certificates = c->call("certificates.list")["result"]["certificates"];
    std::set<std::string> slots;
    for (const auto& cert : certificates) {
        slots.insert(cert["slot"].get<std::string>());
    }
    EXPECT_EQ(slots, (std::set<std::string>{"82", "9a", "9c", "9d", "9e"}));
    const auto status = c->call("pin.status", {{"cardId", cardInfo["id"]}})["result"];
    EXPECT_EQ(status, (json{{"retriesLeft", 3}, {"blocked", false}, {"pinpad", false}}));
    expectError(c->call("certificates.list", {{"reader", "No Such Reader"}}), "NO_READER");
}

TEST_F(Daemon, Pin_VerifyWrongBlockedAndFormat) {
    auto c = connect(kManager);
    const std::string cardId = card(*c)["id"];
    EXPECT_EQ(c->call("pin.verify", {{"cardId", cardId}, {"pin", "123456"}})["result"]["verified"],
              true);
    auto wrong = c->call("pin.verify", {{"cardId", cardId}, {"pin", "654321"}});
    expectError(wrong, "PIN_INCORRECT");
    EXPECT_EQ(wrong["error"]["data"]["retriesLeft"], 2);

    // PIN_FORMAT never reaches the card: no VERIFY is added to its APDU log.
    const auto before = apduLog(0);
    const auto verifiesBefore =
        std::count_if(before.begin(), before.end(), [](auto& l) { return hasField(l, "ins=20"); });
    const auto format = c->call("pin.verify", {{"cardId", cardId}, {"pin", "12ab"}});
    expectError(format, "PIN_FORMAT");
    EXPECT_EQ(format["error"]["data"]["field"], "pin");
    const auto log = apduLog(0);
    EXPECT_EQ(std::count_if(log.begin(), log.end(), [](auto& l) { return hasField(l, "ins=20"); }),
              verifiesBefore);

    wrong = c->call("pin.verify", {{"cardId", cardId}, {"pin", "654321"}});
    EXPECT_EQ(wrong["error"]["data"]["retriesLeft"], 1);
    expectError(c->call("pin.verify", {{"cardId", cardId}, {"pin", "654321"}}), "PIN_LAST_ATTEMPT");
    const auto blocked =
        c->call("pin.verify", {{"cardId", cardId}, {"pin", "654321"}, {"lastAttempt", true}});
    expectError(blocked, "PIN_BLOCKED");
    EXPECT_EQ(blocked["error"]["data"]["retriesLeft"], 0);
    expectError(c->call("pin.verify", {{"cardId", cardId}, {"pin", "123456"}}), "PIN_BLOCKED");
    const auto status = c->call("pin.status", {{"cardId", cardId}})["result"];
    EXPECT_EQ(status["blocked"], true);
}

TEST_F(Daemon, Pin_ChangeUnblockAndPukChange) {
    auto c = connect(kManager);
    const std::string cardId = card(*c)["id"];
    EXPECT_EQ(c->call("pin.change", {{"cardId", cardId},
                                     {"pin", "123456"},
                                     {"newPin", "2468013"}})["result"]["changed"],
              true);
    expectError(c->call("pin.verify", {{"cardId", cardId}, {"pin", "123456"}}), "PIN_INCORRECT");
    EXPECT_EQ(c->call("pin.verify", {{"cardId", cardId}, {"pin", "2468013"}})["result"]["verified"],
              true);
    // The daemon has never seen this card's PUK counter: it may be the last try, so the PUK is
    // sent only with lastAttempt (the card is not asked: no RESET RETRY COUNTER).
    const auto before = apduLog(0);
    const auto unknownCounter =
        c->call("pin.unblock", {{"cardId", cardId}, {"puk", "87654321"}, {"newPin", "135790"}});
    expectError(unknownCounter, "PIN_LAST_ATTEMPT");
    EXPECT_EQ(unknownCounter["error"]["data"]["retriesLeft"], 1);
    EXPECT_EQ(apduLog(0).size(), before.size());
    const auto wrongPuk = c->call(
        "pin.unblock",
        {{"cardId", cardId}, {"puk", "87654321"}, {"newPin", "135790"}, {"lastAttempt", true}});
    expectError(wrongPuk, "PUK_INCORRECT");
    EXPECT_EQ(wrongPuk["error"]["data"]["retriesLeft"], 2);
    // Two tries known to be left: no lastAttempt needed.
    EXPECT_EQ(c->call("pin.unblock", {{"cardId", cardId},
                                      {"puk", "12345678"},
                                      {"newPin", "135790"}})["result"]["unblocked"],
              true);
    EXPECT_EQ(c->call("pin.verify", {{"cardId", cardId}, {"pin", "135790"}})["result"]["verified"],
              true);
    // Back at its limit, which is at least 3 (the card counted 2 after one wrong PUK).
    EXPECT_EQ(c->call("puk.change", {{"cardId", cardId},
                                     {"puk", "12345678"},
                                     {"newPuk", "87654321"}})["result"]["changed"],
              true);
    EXPECT_EQ(c->call("pin.unblock", {{"cardId", cardId},
                                      {"puk", "87654321"},
                                      {"newPin", "123456"}})["result"]["unblocked"],
              true);
}

TEST_F(Daemon, PukCounter_KeptInTheStateDirectoryAcrossRestarts) {
    {
        auto c = connect(kManager);
        const std::string cardId = card(*c)["id"];
        const auto wrong = c->call(
            "pin.unblock",
            {{"cardId", cardId}, {"puk", "87654321"}, {"newPin", "135790"}, {"lastAttempt", true}});
        EXPECT_EQ(wrong["error"]["data"]["retriesLeft"], 2) << wrong.dump();
    }
    const std::string document = env("STATE_DIRECTORY") + "/cards.json";
    struct stat info {};
    ASSERT_EQ(::stat(document.c_str(), &info), 0) << document;
    EXPECT_EQ(info.st_mode & 07777, 0600u);
    EXPECT_EQ(::stat(env("STATE_DIRECTORY").c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 07777, 0700u);

    daemon_->signal(SIGTERM);
    ASSERT_EQ(daemon_->waitExit(10s), 0);
    start({"--allow-origin", kManager + "=read,manage"});
    auto c = connect(kManager);
    const std::string cardId = card(*c)["id"];
    // Known after the restart: 2 left, so this wrong PUK is sent without lastAttempt ...
    const auto second =
        c->call("pin.unblock", {{"cardId", cardId}, {"puk", "87654321"}, {"newPin", "135790"}});
    expectError(second, "PUK_INCORRECT");
    EXPECT_EQ(second["error"]["data"]["retriesLeft"], 1);
    // ... and the last try is not, even with the right PUK.
    const auto before = apduLog(0);
    expectError(
        c->call("pin.unblock", {{"cardId", cardId}, {"puk", "12345678"}, {"newPin", "135790"}}),
        "PIN_LAST_ATTEMPT");
    EXPECT_EQ(apduLog(0).size(), before.size());
}

TEST_F(Daemon, StateDirectory_GroupWritableDocument_DaemonRefusesToStart) {
    {
        auto c = connect(kManager);
        const std::string cardId = card(*c)["id"];
        (void)c->call(
            "pin.unblock",
            {{"cardId", cardId}, {"puk", "87654321"}, {"newPin", "135790"}, {"lastAttempt", true}});
    }
    daemon_->signal(SIGTERM);
    ASSERT_EQ(daemon_->waitExit(10s), 0);
    const std::string document = env("STATE_DIRECTORY") + "/cards.json";
    ASSERT_EQ(::chmod(document.c_str(), 0660), 0);
    start({"--allow-origin", kManager + "=read,manage"}, false);
    EXPECT_EQ(daemon_->waitExit(10s), 2);
    EXPECT_NE(daemon_->log().find(document + ": the file is writable by group or others"),
              std::string::npos)
        << daemon_->log();
    ASSERT_EQ(::chmod(document.c_str(), 0600), 0);
}

TEST_F(Daemon, PinRequired_CarriesThePinsTriesLeftAndNeverSendsAPin) {
    auto signer = connect(kSigner);
    const auto cert = certificate(*signer, "9c");
    const json digest = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    const auto signWithout = [&] {
        return signer->call("sign", {{"certificateId", cert["id"]}, {"digest", digest}});
    };
    const auto verifiesWithPin = [] {
        const auto log = apduLog(0);
        return std::count_if(log.begin(), log.end(), [](const std::string& l) {
            return hasField(l, "ins=20") && !hasField(l, "lc=0 ");
        });
    };
    const auto sentBefore = verifiesWithPin();
    const auto first = signWithout();
    expectError(first, "PIN_REQUIRED");
    EXPECT_EQ(first["error"]["data"], (json{{"reason", "PIN_REQUIRED"}, {"retriesLeft", 3}}));
    EXPECT_EQ(verifiesWithPin(), sentBefore) << "only the counter is read, no PIN is presented";

    expectError(signer->call(
                    "sign", {{"certificateId", cert["id"]}, {"pin", "654321"}, {"digest", digest}}),
                "PIN_INCORRECT");
    EXPECT_EQ(signWithout()["error"]["data"]["retriesLeft"], 2);

    auto manager = connect(kManager);
    const std::string cardId = card(*manager)["id"];
    const auto verify = manager->call("pin.verify", {{"cardId", cardId}});
    expectError(verify, "PIN_REQUIRED");
    EXPECT_EQ(verify["error"]["data"]["retriesLeft"], 2);
    const auto change = manager->call("pin.change", {{"cardId", cardId}});
    expectError(change, "PIN_REQUIRED");
    EXPECT_EQ(change["error"]["data"]["retriesLeft"], 2);
    // A missing PUK: the card cannot tell its counter.
    const auto unblock = manager->call("pin.unblock", {{"cardId", cardId}});
    expectError(unblock, "PIN_REQUIRED");
    EXPECT_FALSE(unblock["error"]["data"].contains("retriesLeft"));

    // A blocked PIN is not asked for.
    for (int i = 0; i < 2; ++i) {
        manager->call("pin.verify", {{"cardId", cardId}, {"pin", "654321"}, {"lastAttempt", true}});
    }
    const auto blocked = signWithout();
    expectError(blocked, "PIN_BLOCKED");
    EXPECT_EQ(blocked["error"]["data"]["retriesLeft"], 0);
}

TEST_F(Daemon, LastAttempt_FromOriginWithoutManage_PinLastAttemptAndPinNeverSent) {
    // A page that may sign tries to block the card: wrong PIN with lastAttempt, three times.
    auto signer = connect(kSigner);
    const auto cert = certificate(*signer, "9c");
    const auto sign = [&](const std::string& pin) {
        return signer->call("sign", {{"certificateId", cert["id"]},
                                     {"pin", pin},
                                     {"digest", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="},
                                     {"lastAttempt", true}});
    };
    EXPECT_EQ(sign("654321")["error"]["data"]["retriesLeft"], 2);
    EXPECT_EQ(sign("654321")["error"]["data"]["retriesLeft"], 1);
    const auto verifiesWithPin = [] {
        const auto log = apduLog(0);
        return std::count_if(log.begin(), log.end(), [](const std::string& l) {
            return hasField(l, "ins=20") && !hasField(l, "lc=0 ");
        });
    };
    const auto sentBefore = verifiesWithPin();
    const auto third = sign("654321");
    expectError(third, "PIN_LAST_ATTEMPT");
    EXPECT_EQ(third["error"]["data"]["retriesLeft"], 1);
    // Even the right PIN is not sent on the last try for this origin.
    expectError(sign("123456"), "PIN_LAST_ATTEMPT");
    EXPECT_EQ(verifiesWithPin(), sentBefore);
    auto manager = connect(kManager);
    const std::string cardId = card(*manager)["id"];
    EXPECT_EQ(manager->call("pin.status", {{"cardId", cardId}})["result"]["retriesLeft"], 1);
    // An origin with manage may spend the last try.
    EXPECT_EQ(manager->call("pin.verify", {{"cardId", cardId},
                                           {"pin", "123456"},
                                           {"lastAttempt", true}})["result"]["verified"],
              true);
}

TEST_F(Daemon, KeyRoles_OneUsePerPivKey) {
    auto c = connect();
    const std::string cardId = card(*c)["id"];
    std::map<std::string, json> bySlot;
    const json list = c->call("certificates.list");
    for (const auto& cert : list["result"]["certificates"]) {
        if (cert["cardId"] == cardId) {
            bySlot[cert["slot"]] = cert["usableFor"];
        }
    }
    EXPECT_EQ(bySlot["9a"], json({"register"}));
    EXPECT_EQ(bySlot["9c"], json({"sign"}));
    EXPECT_EQ(bySlot["9d"], json({"decrypt"}));
    EXPECT_EQ(bySlot["9e"], json::array());
    // Retired key management with digitalSignature and keyAgreement: decrypt only.
    EXPECT_EQ(bySlot["82"], json({"decrypt"}));
}

TEST_F(Daemon, KeyUsage_DecryptWithSignOrRegisterKey_RefusedCardUntouched) {
    auto c = connect();
    const std::string cardId = card(*c)["id"];
    const std::string ciphertext(256, 'x');
    const auto before = apduLog(0);
    for (const std::string slot : {"9c", "9a"}) {
        expectError(c->call("decrypt", {{"certificateId", cardId + ":" + slot},
                                        {"pin", "123456"},
                                        {"algorithm", "RSAES-PKCS1-v1_5"},
                                        {"ciphertext", base64Encode(ciphertext)}}),
                    "KEY_USAGE");
    }
    // Nor a signature with the retired key-management key.
    expectError(c->call("sign", {{"certificateId", cardId + ":82"},
                                 {"pin", "123456"},
                                 {"digest", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}}),
                "KEY_USAGE");
    EXPECT_EQ(apduLog(0).size(), before.size());
}

TEST_F(Daemon, Sign_RsaPkcs1AndPssVerifyWithOpenSsl) {
    auto c = connect();
    const auto cert = certificate(*c, "9c");
    for (const std::string algorithm : {"RSASSA-PKCS1-v1_5", "RSA-PSS"}) {
        for (const std::string hash : {"SHA-256", "SHA-384"}) {
            const auto r = c->call("sign", {{"certificateId", cert["id"]},
                                            {"pin", "123456"},
                                            {"data", base64Encode(kContent)},
                                            {"hash", hash},
                                            {"algorithm", algorithm}});
            ASSERT_TRUE(r.contains("result")) << r.dump();
            EXPECT_EQ(r["result"]["algorithm"], algorithm);
            EXPECT_EQ(r["result"]["certificate"], cert["der"]);
            EXPECT_TRUE(verifySignature(cert["der"], algorithm, hash, kContent,
                                        base64Decode(r["result"]["signature"])))
                << algorithm << " " << hash;
            EXPECT_FALSE(verifySignature(cert["der"], algorithm, hash, kContent + ".",
                                         base64Decode(r["result"]["signature"])));
        }
    }
}

// The cards' signature key (9C) is EC P-384.
class DaemonEcSignature : public Daemon {};

TEST_F(DaemonEcSignature, Sign_EcdsaDerAndP1363VerifyWithOpenSsl) {
    auto c = connect();
    const auto cert = certificate(*c, "9c");
    ASSERT_EQ(cert["keyAlgorithm"], "EC-P384");
    for (const std::string encoding : {"der", "p1363"}) {
        const auto r = c->call("sign", {{"certificateId", cert["id"]},
                                        {"pin", "123456"},
                                        {"data", base64Encode(kContent)},
                                        {"hash", "SHA-384"},
                                        {"signatureEncoding", encoding}});
        ASSERT_TRUE(r.contains("result")) << r.dump();
        EXPECT_EQ(r["result"]["algorithm"], "ECDSA");
        std::string signature = base64Decode(r["result"]["signature"]);
        if (encoding == "p1363") {
            EXPECT_EQ(signature.size(), 96u);
            signature = p1363ToDer(signature);
        }
        EXPECT_TRUE(verifySignature(cert["der"], "ECDSA", "SHA-384", kContent, signature))
            << encoding;
    }
}

TEST_F(Daemon, Decrypt_RawRsaPkcs1AndOaep) {
    auto c = connect();
    const auto cert = certificate(*c, "9d");
    const std::string secret = "AES-256 key of bid 2025-0042....";
    for (const bool oaep : {false, true}) {
        const auto r = c->call(
            "decrypt", {{"certificateId", cert["id"]},
                        {"pin", "123456"},
                        {"algorithm", oaep ? "RSA-OAEP" : "RSAES-PKCS1-v1_5"},
                        {"ciphertext", base64Encode(rsaEncrypt(cert["der"], oaep, secret))}});
        ASSERT_TRUE(r.contains("result")) << r.dump();
        EXPECT_EQ(base64Decode(r["result"]["data"]), secret);
    }
}

TEST_F(Daemon, Permission_OriginWithoutManageCannotVerify) {
    auto c = connect(kSigner);
    const std::string cardId = card(*c)["id"];
    const auto r = c->call("pin.verify", {{"cardId", cardId}, {"pin", "123456"}});
    expectError(r, "NOT_PERMITTED");
    EXPECT_EQ(r["error"]["data"]["capability"], "manage");
    auto manager = connect(kManager);
    expectError(manager->call("sign", {{"certificateId", "x"}}), "NOT_PERMITTED");
}

TEST_F(Daemon, Card_RemovedDuringSignAndAbsentAfterwards) {
    auto c = connect();
    const auto cert = certificate(*c, "9c");
    const std::string cardId = cert["cardId"];
    cardControl(0, "fault remove-on-ins 87");
    const auto r = c->call(
        "sign",
        {{"certificateId", cert["id"]}, {"pin", "123456"}, {"data", base64Encode(kContent)}});
    expectError(r, "CARD_REMOVED");
    EXPECT_EQ(r["error"]["data"]["outcome"].is_string(), true);
    // The fault left the card out. Once the daemon has seen the reader empty: NO_CARD.
    const std::string reader = env("TK_READER_0");
    bool gone = false;
    for (int i = 0; i < 200 && !gone; ++i) {
        const auto readers = c->call("readers.list");
        for (const auto& entry : readers["result"]["readers"]) {
            gone = gone || (entry["name"] == reader && entry["cardPresent"] == false);
        }
        std::this_thread::sleep_for(gone ? 0ms : 50ms);
    }
    ASSERT_TRUE(gone) << "the daemon never saw the card go: " << c->call("readers.list").dump();
    expectError(c->call("pin.status", {{"cardId", cardId}}), "NO_CARD");
    expectError(c->call("sign", {{"certificateId", cert["id"]},
                                 {"pin", "123456"},
                                 {"data", base64Encode(kContent)}}),
                "CERTIFICATE_NOT_FOUND");
}

TEST_F(Daemon, Events_RemovedAndInsertedArrive) {
    auto c = connect();
    const std::string cardId = card(*c)["id"];
    EXPECT_EQ(c->call("events.subscribe")["result"]["subscribed"], true);
    cardControl(0, "remove");
    auto e = c->nextEvent(10s);
    EXPECT_EQ(e["params"]["type"], "card.removed");
    EXPECT_EQ(e["params"]["cardId"], cardId);
    EXPECT_EQ(e["params"]["reader"], env("TK_READER_0"));
    // The daemon has seen the card go (the event says so): it is NO_CARD now.
    expectError(c->call("pin.status", {{"cardId", cardId}}), "NO_CARD");
    cardControl(0, "insert");
    e = c->nextEvent(10s);
    EXPECT_EQ(e["params"]["type"], "card.inserted");
    EXPECT_EQ(e["params"]["card"]["id"], cardId);
}

TEST_F(Daemon, Sign_TwoClientsOnOneCardAreSerialised) {
    auto first = connect();
    auto second = connect();
    const auto cert = certificate(*first, "9c");
    cardControl(0, "delay 20");
    const std::size_t logStart = apduLog(0).size();
    std::vector<json> a;
    std::vector<json> b;
    for (int i = 0; i < 3; ++i) {
        const json params{
            {"certificateId", cert["id"]}, {"pin", "123456"}, {"data", base64Encode(kContent)}};
        a.push_back(first->send("sign", params));
        b.push_back(second->send("sign", params));
    }
    for (int i = 0; i < 3; ++i) {
        for (auto* pair : {&a, &b}) {
            WsClient& client = pair == &a ? *first : *second;
            const auto r = client.responseTo((*pair)[i], 60s);
            ASSERT_TRUE(r.contains("result")) << r.dump();
            EXPECT_TRUE(verifySignature(cert["der"], "RSASSA-PKCS1-v1_5", "SHA-256", kContent,
                                        base64Decode(r["result"]["signature"])));
        }
    }
    // Every VERIFY with a PIN is followed by its GENERAL AUTHENTICATE (chained parts and GET
    // RESPONSE aside): no other client's APDU in between.
    const auto log = apduLog(0);
    int signatures = 0;
    for (std::size_t i = logStart; i < log.size(); ++i) {
        if (!hasField(log[i], "ins=20 p1=00") || hasField(log[i], "lc=0 ")) {
            continue;
        }
        std::size_t j = i + 1;
        ASSERT_LT(j, log.size());
        EXPECT_TRUE(hasField(log[j], "ins=87")) << "after VERIFY at line " << i << ": " << log[j];
        ++signatures;
    }
    EXPECT_EQ(signatures, 6);
}

// ---- process ----

TEST_F(Daemon, Sigterm_ExitsZeroWithinFiveSeconds) {
    auto c = connect();
    const auto start = std::chrono::steady_clock::now();
    daemon_->signal(SIGTERM);
    EXPECT_EQ(c->readCloseCode(5s), 1001);
    EXPECT_EQ(daemon_->waitExit(5s), 0) << daemon_->log();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST_F(Daemon, Sighup_ReloadClosesConnectionsOfRemovedOrigins) {
    daemon_.reset();
    const std::string config = env("TK_HARNESS_DIR") + "/tenderkeyd.toml";
    const auto write = [&](const std::vector<std::string>& origins) {
        std::ofstream out(config);
        for (const auto& o : origins) {
            out << "[[origins]]\norigin = \"" << o << "\"\n";
        }
    };
    write({kSigner, "https://other.example.gov.tw"});
    start({"--config", config});
    auto kept = connect("https://other.example.gov.tw");
    auto removed = connect(kSigner);
    write({"https://other.example.gov.tw"});
    daemon_->signal(SIGHUP);
    EXPECT_EQ(removed->readCloseCode(5s), 1008);
    EXPECT_TRUE(kept->call("system.info").contains("result"));
    EXPECT_EQ(handshake({host(), kSigner, "tenderkey.v1"}).status, 403);
    // A broken file on reload keeps the configuration in force.
    {
        std::ofstream out(config);
        out << "[[origins]]\norigin = 5\n";
    }
    daemon_->signal(SIGHUP);
    EXPECT_TRUE(daemon_->waitForLog("reload failed", 5s));
    EXPECT_TRUE(kept->call("system.info").contains("result"));
}

TEST_F(Daemon, BadConfiguration_Exit2WithFileAndLine) {
    daemon_.reset();
    const std::string config = env("TK_HARNESS_DIR") + "/bad.toml";
    {
        std::ofstream out(config);
        out << "[log]\nlevel = \"info\"\n\n[limits]\nmax_connections = -3\n";
    }
    ChildProcess bad(TK_DAEMON_BINARY, {"--config", config}, logPath());
    EXPECT_EQ(bad.waitExit(10s), 2);
    EXPECT_NE(bad.log().find(config + ":5:"), std::string::npos) << bad.log();
    ChildProcess missing(TK_DAEMON_BINARY, {"--config", config + ".missing"}, logPath() + ".2");
    EXPECT_EQ(missing.waitExit(10s), 2);
    EXPECT_NE(missing.log().find(config + ".missing"), std::string::npos) << missing.log();
}

TEST_F(Daemon, BadConfiguration_NonLoopbackListenerRefused) {
    daemon_.reset();
    const std::string config = env("TK_HARNESS_DIR") + "/public.toml";
    {
        std::ofstream out(config);
        out << "[[listeners]]\naddress = \"0.0.0.0\"\nport = 61261\n";
    }
    ChildProcess bad(TK_DAEMON_BINARY, {"--config", config}, logPath());
    EXPECT_EQ(bad.waitExit(10s), 2);
    EXPECT_NE(bad.log().find(config + ":2:"), std::string::npos) << bad.log();
    EXPECT_NE(bad.log().find("0.0.0.0"), std::string::npos) << bad.log();
}

// Another program listening on one of the configured addresses: the daemon must not start beside
// it (a browser resolving localhost to that address would reach the other program).
class ForeignListener {
  public:
    ForeignListener(bool ipv6, std::uint16_t port) {
        fd_ = ::socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
        int rc = -1;
        if (ipv6) {
            int one = 1;
            ::setsockopt(fd_, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
            sockaddr_in6 a{};
            a.sin6_family = AF_INET6;
            a.sin6_port = htons(port);
            a.sin6_addr = in6addr_loopback;
            rc = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
        } else {
            sockaddr_in a{};
            a.sin_family = AF_INET;
            a.sin_port = htons(port);
            a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            rc = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
        }
        if (rc != 0 || ::listen(fd_, 4) != 0) {
            throw std::runtime_error("cannot hold the port");
        }
    }
    ~ForeignListener() { ::close(fd_); }
    ForeignListener(const ForeignListener&) = delete;
    ForeignListener& operator=(const ForeignListener&) = delete;

  private:
    int fd_ = -1;
};

TEST_F(Daemon, ForeignHolder_OfAnyConfiguredAddress_DaemonExits1NamingIt) {
    daemon_.reset();
    const std::string config = env("TK_HARNESS_DIR") + "/both.toml";
    {
        std::ofstream out(config);
        out << "[[listeners]]\naddress = \"localhost\"\nport = 61271\n";
    }
    for (const bool ipv6 : {false, true}) {
        ForeignListener other(ipv6, 61271);
        ChildProcess refused(TK_DAEMON_BINARY, {"--config", config}, logPath());
        EXPECT_EQ(refused.waitExit(10s), 1) << refused.log();
        const std::string where = ipv6 ? "ws://[::1]:61271/" : "ws://127.0.0.1:61271/";
        EXPECT_NE(refused.log().find("cannot listen on " + where), std::string::npos)
            << refused.log();
    }
}

// systemd's socket activation without systemd: systemd-socket-activate holds the sockets, and
// on the first connection starts tenderkeyd with them (LISTEN_FDS), as tenderkeyd.socket does.
constexpr const char* kSocketActivate = "/usr/bin/systemd-socket-activate";

TEST_F(Daemon, SocketActivation_InheritedSockets_ServedOnBothAddresses) {
    daemon_.reset();
    const std::string config = env("TK_HARNESS_DIR") + "/activated.toml";
    {
        std::ofstream out(config);
        out << "[[listeners]]\naddress = \"localhost\"\nport = 61272\n";
    }
    ChildProcess activated(kSocketActivate,
                           {"-l", "127.0.0.1:61272", "-l", "[::1]:61272", TK_DAEMON_BINARY,
                            "--config", config, "--allow-origin", kSigner},
                           logPath());
    // The sockets listen before the daemon runs; this first request starts it.
    ASSERT_TRUE(activated.waitForLog("Listening on [::1]:61272", 10s)) << activated.log();
    EXPECT_EQ(httpGet("127.0.0.1", 61272, "/health", "127.0.0.1:61272").status, 200)
        << activated.log();
    ASSERT_TRUE(activated.waitForLog("listening on ws://127.0.0.1:61272/, ws://[::1]:61272/", 15s))
        << activated.log();
    EXPECT_EQ(httpGet("::1", 61272, "/health", "[::1]:61272").status, 200);
    for (const std::string address : {"127.0.0.1", "::1"}) {
        const std::string host = address == "::1" ? "[::1]:61272" : "127.0.0.1:61272";
        WsClient c(address, 61272);
        ASSERT_EQ(c.handshake({host, kSigner, "tenderkey.v1"}).status, 101) << address;
        const auto info = c.call("system.info");
        EXPECT_TRUE(info.contains("result")) << info.dump();
        WsClient foreign(address, 61272);
        EXPECT_EQ(foreign.handshake({host, "https://evil.example", "tenderkey.v1"}).status, 403);
    }
    activated.signal(SIGTERM);
    EXPECT_EQ(activated.waitExit(15s), 0) << activated.log();
}

TEST_F(Daemon, SocketActivation_InheritedSocketNotConfigured_Exits2NamingIt) {
    daemon_.reset();
    const std::string config = env("TK_HARNESS_DIR") + "/ipv4.toml";
    {
        std::ofstream out(config);
        out << "[[listeners]]\naddress = \"127.0.0.1\"\nport = 61272\n";
    }
    ChildProcess activated(
        kSocketActivate,
        {"-l", "127.0.0.1:61272", "-l", "[::1]:61272", TK_DAEMON_BINARY, "--config", config},
        logPath());
    ASSERT_TRUE(activated.waitForLog("Listening on [::1]:61272", 10s)) << activated.log();
    try {
        httpGet("127.0.0.1", 61272, "/health", "127.0.0.1:61272");  // starts the daemon
    } catch (const std::exception&) {
        // The daemon refuses to start: the connection is closed unanswered.
    }
    EXPECT_EQ(activated.waitExit(15s), 2) << activated.log();
    EXPECT_NE(activated.log().find("the inherited listening socket [::1]:61272 is not a "
                                   "configured listener"),
              std::string::npos)
        << activated.log();
}

}  // namespace
TEST_F(Daemon, Limits_ParameterOverConfiguredSize_PayloadTooLargeCardUntouched) {
    daemon_.reset();
    const std::string config = env("TK_HARNESS_DIR") + "/limits.toml";
    {
        std::ofstream out(config);
        out << "[limits]\nmax_parameter_bytes = 64\n\n[[origins]]\norigin = \"" << kSigner
            << "\"\n";
    }
    start({"--config", config});
    auto c = connect();
    const auto cert = certificate(*c, "9c");
    const std::size_t apdusBefore = apduLog(0).size();
    const auto r = c->call("sign", {{"certificateId", cert["id"]},
                                    {"pin", "123456"},
                                    {"data", base64Encode(std::string(65, 'x'))}});
    ASSERT_TRUE(r.contains("error")) << r.dump();
    EXPECT_EQ(r["error"]["code"], -32022);
    EXPECT_EQ(r["error"]["data"]["reason"], "PAYLOAD_TOO_LARGE");
    EXPECT_EQ(r["error"]["data"]["field"], "data");
    EXPECT_EQ(apduLog(0).size(), apdusBefore);
    // At the limit, the same request is signed.
    const auto ok = c->call("sign", {{"certificateId", cert["id"]},
                                     {"pin", "123456"},
                                     {"data", base64Encode(std::string(64, 'x'))}});
    EXPECT_TRUE(ok.contains("result")) << ok.dump();
}

}  // namespace tk::test
