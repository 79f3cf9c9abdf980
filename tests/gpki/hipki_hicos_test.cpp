// The HiPKI dialect over the PKCS#11 backend: tenderkeyd with the HiCOS shim over a SoftHSM2
// token laid out as a GPKI company card (tests/gpki/support), and the popup's connection (a
// bridge connection of the HiPKI listener's own origin, attached to a portal) sending
// hipki.call. The SIGN key of a GPKI card also registers, so PKCS1 and RAW need sign-raw;
// the token's PIN counter reaches last_error; whether a PIN reached the token is read from the
// shim's C_Login log. Signatures are verified by OpenSSL.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "support/daemon_process.hpp"
#include "support/gpki.hpp"
#include "support/harness_files.hpp"
#include "support/hipki_popup.hpp"
#include "support/openssl_checks.hpp"
#include "support/openssl_util.hpp"
#include "support/schema_validator.hpp"
#include "support/test_env.hpp"
#include "support/ws_client.hpp"

namespace tk::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

// A portal with the default capabilities, and one the administrator granted sign-raw.
const std::string kPortal = "https://web.pcc.gov.tw";
const std::string kRawPortal = "https://raw.pcc.gov.tw";
const std::string kContent = "投標文件 tender 2026-12-06";

constexpr std::int64_t kLoginFailed = 0x76100006;
constexpr std::int64_t kSiteNotAuthorised = 0x76000031;

card::Bytes bytesOf(const std::string& text) {
    return card::Bytes(text.begin(), text.end());
}

class HicosHipki : public ::testing::Test {
  protected:
    void SetUp() override {
        port_ = freePort();
        hipkiPort_ = freePortBesides(port_);
        const std::string config = token_.directory() + "/tenderkeyd.toml";
        std::ofstream(config) << "[hipki]\nenabled = true\nport = " << hipkiPort_ << "\n";
        daemon_ = std::make_unique<ChildProcess>(
            TK_DAEMON_BINARY,
            std::vector<std::string>{"--dev", "--port", std::to_string(port_), "--config", config,
                                     "--allow-origin", kPortal + "=read,sign,decrypt,manage",
                                     "--allow-origin", kRawPortal + "=read,sign,sign-raw",
                                     "--pkcs11-module", hicosShimModule()},
            env("TK_HARNESS_DIR") + "/tenderkeyd.log");
        ASSERT_TRUE(daemon_->waitForLog("listening on", 15s)) << daemon_->log();
        popup_ = popupFor(kPortal);
        rawPopup_ = popupFor(kRawPortal);
        ASSERT_TRUE(popup_ && rawPopup_);
        // The token's slot: the one holding the company card's SIGN certificate.
        const std::string signer = base64Encode(readFile(gpkiFile("company-sign.der")));
        for (int i = 0; i < 100 && slot_.empty(); ++i) {
            const json r = call(*popup_, {{"func", "GetUserCert"}});
            for (const json& slot : r["slots"]) {
                if (slot["token"].is_null()) {
                    continue;
                }
                for (const json& cert : slot["token"]["certs"]) {
                    if (cert["certb64"] == signer) {
                        slot_ = slot["slotDescription"];
                    }
                }
            }
            std::this_thread::sleep_for(100ms);
        }
        ASSERT_FALSE(slot_.empty()) << "the daemon never showed the HiCOS token";
    }

    void TearDown() override {
        for (const auto& v : violations_) {
            ADD_FAILURE() << "schema violation: " << v;
        }
        if (HasFailure() && daemon_) {
            std::cerr << "---- tenderkeyd log ----\n" << daemon_->log();
        }
    }

    // The popup's WebSocket: to the HiPKI listener from its own origin, attached to `portal`.
    std::unique_ptr<WsClient> popupFor(const std::string& portal) {
        return openHipkiPopup(
            hipkiPort_, portal, [this](const json& message, const std::string& method) {
                for (const auto& e : schemas().message(message, method)) {
                    violations_.push_back(message.dump().substr(0, 300) + ": " + e);
                }
            });
    }

    static json call(WsClient& popup, const json& package) { return hipkiCall(popup, package); }

    json sign(WsClient& popup, const std::string& type, const std::string& pin = kHicosPin) {
        return call(popup, {{"func", "MakeSignature"},
                            {"signatureType", type},
                            {"tbs", base64Encode(kContent)},
                            {"tbsEncoding", "base64"},
                            {"hashAlgorithm", "SHA256"},
                            {"slotDescription", slot_},
                            {"pin", pin}});
    }

    // `openssl cms -verify` of an attached SignedData against the test root and the issuing
    // CA; the content it recovers, or "" (and a failure) when it does not verify.
    std::string cmsVerified(const std::string& der) const {
        const std::string dir = token_.directory();
        writeFile(dir + "/sig.der", der);
        writeFile(dir + "/store.pem",
                  readFile(gpkiFile("root.pem")) + readFile(gpkiFile("ca-moeaca.pem")));
        const std::string command = "openssl cms -verify -binary -inform DER -purpose any -in " +
                                    dir + "/sig.der -CAfile " + dir + "/store.pem -out " + dir +
                                    "/verified.bin >" + dir + "/verify.log 2>&1";
        if (std::system(command.c_str()) != 0) {
            ADD_FAILURE() << readFile(dir + "/verify.log");
            return {};
        }
        return readFile(dir + "/verified.bin");
    }

    HicosToken token_{"company", "moeaca"};  // before the daemon, which inherits its variables
    std::uint16_t port_ = 0;
    std::uint16_t hipkiPort_ = 0;
    std::unique_ptr<ChildProcess> daemon_;
    std::unique_ptr<WsClient> popup_;
    std::unique_ptr<WsClient> rawPopup_;
    std::string slot_;
    std::vector<std::string> violations_;
};

TEST_F(HicosHipki, Pkcs1AndRaw_OnlyWithSignRaw_Pkcs7WithSign) {
    const std::string signer = readFile(gpkiFile("company-sign.der"));
    // The SIGN key registers too: raw signatures need sign-raw, and the token is not touched.
    EXPECT_EQ(sign(*popup_, "PKCS1")["ret_code"], kSiteNotAuthorised);
    const std::string info = std::string(
                                 "\x30\x31\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04"
                                 "\x02\x01\x05\x00\x04\x20",
                                 19) +
                             std::string(32, '\x11');
    EXPECT_EQ(call(*popup_, {{"func", "MakeSignature"},
                             {"signatureType", "RAW"},
                             {"tbs", base64Encode(info)},
                             {"slotDescription", slot_},
                             {"pin", kHicosPin}})["ret_code"],
              kSiteNotAuthorised);
    EXPECT_EQ(token_.loginCalls(), 0);

    // A CMS signature is not raw: sign is enough.
    json r = sign(*popup_, "PKCS7");
    ASSERT_EQ(r["ret_code"], 0) << r.dump();
    EXPECT_EQ(base64Decode(r["certb64"]), signer);
    EXPECT_EQ(cmsVerified(base64Decode(r["signature"])), kContent);

    r = sign(*rawPopup_, "PKCS1");
    ASSERT_EQ(r["ret_code"], 0) << r.dump();
    EXPECT_TRUE(opensslVerifies(bytesOf(signer), card::SignatureScheme::RsaPkcs1v15,
                                card::HashAlgorithm::Sha256, bytesOf(kContent),
                                bytesOf(base64Decode(r["signature"]))));
}

TEST_F(HicosHipki, WrongPins_TokenCounterInLastError_LastTryNeverSpent_Blocked) {
    json r = sign(*popup_, "PKCS7", "wrong111");
    EXPECT_EQ(r["ret_code"], kLoginFailed) << r.dump();
    EXPECT_EQ(r["last_error"], -2147483646);
    r = sign(*popup_, "PKCS7", "wrong222");
    EXPECT_EQ(r["ret_code"], kLoginFailed) << r.dump();
    EXPECT_EQ(r["last_error"], -2147483647);
    EXPECT_EQ(token_.loginCalls(), 2);
    // One try left: not even the right PIN reaches the token.
    r = sign(*popup_, "PKCS7");
    EXPECT_EQ(r["ret_code"], kLoginFailed) << r.dump();
    EXPECT_EQ(r["last_error"], -2147483647);
    EXPECT_EQ(token_.loginCalls(), 2);

    // The holder spends the last try through TenderKey's own API (which may): blocked.
    WsClient api("127.0.0.1", port_);
    ASSERT_EQ(api.open(kPortal).status, 101);
    std::string cardId;
    const json readers = api.call("readers.list");
    for (const json& reader : readers["result"]["readers"]) {
        if (reader["cardPresent"] == true && reader["card"]["type"] == "pkcs11") {
            cardId = reader["card"]["id"];
        }
    }
    const json blocked =
        api.call("pin.verify", {{"cardId", cardId}, {"pin", "wrong333"}, {"lastAttempt", true}});
    ASSERT_EQ(blocked["error"]["data"]["reason"], "PIN_BLOCKED") << blocked.dump();
    EXPECT_EQ(token_.loginCalls(), 3);
    r = sign(*popup_, "PKCS7");
    EXPECT_EQ(r["ret_code"], kLoginFailed) << r.dump();
    EXPECT_EQ(r["last_error"], 0xA4);
    EXPECT_EQ(token_.loginCalls(), 3);
}

}  // namespace
}  // namespace tk::test
