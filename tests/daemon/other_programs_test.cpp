// tenderkeyd next to other programs that use the same cards: a PC/SC tool that resets the card
// between two requests, a card whose certificate was renewed with another tool while the daemon
// was not looking, and a cloned card in a second reader. Each test runs alone in its own
// tests/harness/with-cards (private pcscd, virtual cards, its own daemon). Every message is
// checked against protocol/schema/, every signature verified with OpenSSL against the
// certificate certificates.list returned, and what reached the cards is read from their APDU
// logs.

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
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
const std::string kContent = "TenderKey bid 2025-0042: one lot, firm price.";

bool verifiesRsaSha256(const std::string& certificate, const std::string& data,
                       const std::string& signature) {
    PKey key = publicKeyOf(certificate);
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    if (EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1) {
        return false;
    }
    return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                            signature.size(), reinterpret_cast<const unsigned char*>(data.data()),
                            data.size()) == 1;
}

// The subject of a base64 DER certificate, one line (OpenSSL's own printing).
std::string subjectOf(const std::string& certificateBase64) {
    const std::string der = base64Decode(certificateBase64);
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    std::unique_ptr<X509, decltype(&X509_free)> cert(
        d2i_X509(nullptr, &p, static_cast<long>(der.size())), X509_free);
    if (!cert) {
        throw std::runtime_error("certificate does not parse");
    }
    char line[512];
    X509_NAME_oneline(X509_get_subject_name(cert.get()), line, sizeof line);
    return line;
}

std::string readerOf(int card) {
    return env(("TK_READER_" + std::to_string(card)).c_str());
}

std::string cardControl(int card, const std::string& command) {
    return controlCard(env(("TK_VCARD_CONTROL_" + std::to_string(card)).c_str()), command);
}

// Every line of a card's APDU log (APDU lines and "# event" lines).
std::vector<std::string> apduLog(int card) {
    std::ifstream in(env(("TK_VCARD_APDU_LOG_" + std::to_string(card)).c_str()));
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) {
        if (!line.empty()) {
            lines.push_back(line);
        }
    }
    return lines;
}

std::string field(const std::string& line, const std::string& name) {
    const std::string key = " " + name + "=";
    const std::string padded = " " + line;
    const std::size_t at = padded.find(key);
    if (at == std::string::npos) {
        return {};
    }
    const std::size_t start = at + key.size();
    return padded.substr(start, padded.find(' ', start) - start);
}

bool isApdu(const std::string& line) {
    return line[0] != '#';
}

// VERIFY commands that carry a PIN (a data field): the PIN presented to the card.
std::size_t pinPresentations(const std::vector<std::string>& lines, std::size_t from) {
    std::size_t count = 0;
    for (std::size_t i = from; i < lines.size(); ++i) {
        if (isApdu(lines[i]) && field(lines[i], "ins") == "20" && field(lines[i], "lc") != "0") {
            ++count;
        }
    }
    return count;
}

std::string describe(const std::vector<std::string>& lines, std::size_t from) {
    std::ostringstream out;
    for (std::size_t i = from; i < lines.size(); ++i) {
        out << "  " << lines[i] << "\n";
    }
    return out.str();
}

int run(const std::string& command) {
    const int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

class DaemonWithOtherPrograms : public ::testing::Test {
  protected:
    void SetUp() override {
        port_ = freePort();
        daemon_ = std::make_unique<ChildProcess>(
            TK_DAEMON_BINARY,
            std::vector<std::string>{"--dev", "--port", std::to_string(port_), "--allow-origin",
                                     kSigner, "--allow-origin", kManager + "=read,manage"},
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

    // The card in reader `reader` once the daemon identified it.
    json card(WsClient& c, int reader = 0) {
        const std::string name = readerOf(reader);
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

    json certificate(WsClient& c, const std::string& slot, int reader = 0) {
        const std::string cardId = card(c, reader)["id"];
        const json list = c.call("certificates.list");
        for (const auto& cert : list["result"]["certificates"]) {
            if (cert["cardId"] == cardId && cert["slot"] == slot &&
                cert["reader"] == readerOf(reader)) {
                return cert;
            }
        }
        throw std::runtime_error("no certificate in slot " + slot);
    }

    json sign(WsClient& c, const json& cert) {
        return c.call("sign", {{"certificateId", cert["id"]},
                               {"pin", "123456"},
                               {"data", base64Encode(kContent)},
                               {"hash", "SHA-256"},
                               {"algorithm", "RSASSA-PKCS1-v1_5"}});
    }

    static void expectError(const json& response, const std::string& reason) {
        ASSERT_TRUE(response.contains("error")) << response.dump();
        EXPECT_EQ(response["error"]["data"]["reason"], reason) << response.dump();
    }

    std::uint16_t port_ = 0;
    std::unique_ptr<ChildProcess> daemon_;
    std::vector<std::string> violations_;
};

// One card; other programs use it too.
class OtherPrograms : public DaemonWithOtherPrograms {};

// Two readers holding copies of one card (tests/harness/with-cards --clone).
class ClonedCards : public DaemonWithOtherPrograms {};

// What a user did: sign, run `yubico-piv-tool -a status` (it selects the PIV application and
// disconnects with SCARD_RESET_CARD), sign again. The reset reaches the daemon before anything
// of the second request reached the card, so the daemon reconnects, selects and signs.
TEST_F(OtherPrograms, SignAfterYubicoPivToolStatus_SignsWithThePinPresentedOnce) {
    auto c = connect();
    const auto cert = certificate(*c, "9c");
    const auto first = sign(*c, cert);
    ASSERT_TRUE(first.contains("result")) << first.dump();

    ASSERT_EQ(run("yubico-piv-tool -r '" + readerOf(0) + "' -a status >" + env("TK_HARNESS_DIR") +
                  "/yubico-status.log 2>&1"),
              0);
    const auto lines = apduLog(0);
    bool reset = false;
    for (const auto& line : lines) {
        reset = reset || line.rfind("# reset", 0) == 0;
    }
    ASSERT_TRUE(reset) << "yubico-piv-tool did not reset the card\n" << describe(lines, 0);

    const std::size_t mark = apduLog(0).size();
    const auto second = sign(*c, cert);
    ASSERT_TRUE(second.contains("result")) << second.dump();
    EXPECT_TRUE(
        verifiesRsaSha256(cert["der"], kContent, base64Decode(second["result"]["signature"])));
    const auto after = apduLog(0);
    EXPECT_EQ(pinPresentations(after, mark), 1U) << describe(after, mark);
    // The first command of the request selects the PIV application again.
    ASSERT_GT(after.size(), mark);
    EXPECT_EQ(field(after[mark], "ins"), "a4") << describe(after, mark);
}

// The 9C certificate is renewed by another program (yubico-piv-tool, same key, new
// certificate from the card's CA) while the daemon keeps what it read; the card is then taken
// out and put back. The daemon reads the certificate objects again on insertion and lists the
// new certificate; a signature verifies with it.
TEST_F(OtherPrograms, CertificateRenewedBeforeReinsertion_NewCertificateListed) {
    auto c = connect();
    const auto before = certificate(*c, "9c");
    EXPECT_EQ(c->call("events.subscribe")["result"]["subscribed"], true);

    const std::string dir = env("TK_VCARD_DIR_0");
    const std::string work = env("TK_HARNESS_DIR");
    { std::ofstream(work + "/old-9c.b64") << before["der"].get<std::string>() << "\n"; }
    const std::string script = "set -e; cd '" + work +
                               "'; base64 -d old-9c.b64 > old-9c.der; "
                               "openssl x509 -inform DER -in old-9c.der -noout -pubkey > 9c.pub; "
                               "openssl x509 -new -force_pubkey 9c.pub -subj '/C=TW/CN=Renewed 9C' "
                               "-days 30 -CA '" +
                               dir + "/ca.pem' -CAkey '" + dir +
                               "/ca-key.pem' -out new-9c.pem; yubico-piv-tool -r '" + readerOf(0) +
                               "' -a import-certificate -s 9c -i new-9c.pem";
    ASSERT_EQ(run("bash -c \"" + script + "\" >" + work + "/renew.log 2>&1"), 0);
    // Nothing tells the daemon while the card stays in.
    EXPECT_EQ(certificate(*c, "9c")["der"], before["der"]);

    cardControl(0, "remove");
    auto e = c->nextEvent(10s);
    ASSERT_EQ(e["params"]["type"], "card.removed") << e.dump();
    const std::size_t mark = apduLog(0).size();
    cardControl(0, "insert");
    e = c->nextEvent(10s);
    ASSERT_EQ(e["params"]["type"], "card.inserted") << e.dump();
    const auto lines = apduLog(0);
    std::size_t apdus = 0;
    for (std::size_t i = mark; i < lines.size(); ++i) {
        apdus += isApdu(lines[i]) ? 1 : 0;
    }
    std::cerr << "[economy] card inserted, certificate changed: " << apdus << " APDUs\n"
              << describe(lines, mark);

    const auto after = certificate(*c, "9c");
    EXPECT_EQ(after["id"], before["id"]);
    EXPECT_NE(after["der"], before["der"]);
    EXPECT_NE(subjectOf(after["der"]).find("CN=Renewed 9C"), std::string::npos)
        << subjectOf(after["der"]);
    const auto r = sign(*c, after);
    ASSERT_TRUE(r.contains("result")) << r.dump();
    EXPECT_EQ(r["result"]["certificate"], after["der"]);
    EXPECT_TRUE(verifiesRsaSha256(after["der"], kContent, base64Decode(r["result"]["signature"])));
}

// The same card id in two readers. Requests naming it answer AMBIGUOUS_CARD with both readers
// and touch neither card; listing and events go on; once one copy is out the other is used.
TEST_F(ClonedCards, SameCardIdInTwoReaders_RequestsAnswerAmbiguousCardNamingBoth) {
    auto c = connect();
    auto manager = connect(kManager);
    const json first = card(*c, 0);
    const json second = card(*c, 1);
    ASSERT_EQ(first["id"], second["id"]) << "the harness did not clone the card";
    const std::string cardId = first["id"];
    const auto cert = certificate(*c, "9c", 0);
    const json both = json::array({readerOf(0), readerOf(1)});

    const std::size_t mark0 = apduLog(0).size();
    const std::size_t mark1 = apduLog(1).size();
    const auto status = c->call("pin.status", {{"cardId", cardId}});
    expectError(status, "AMBIGUOUS_CARD");
    EXPECT_EQ(status["error"]["code"], -32016);
    EXPECT_EQ(status["error"]["data"]["readers"], both) << status.dump();
    const auto signed_ = sign(*c, cert);
    expectError(signed_, "AMBIGUOUS_CARD");
    EXPECT_EQ(signed_["error"]["data"]["readers"], both) << signed_.dump();
    const auto verify = manager->call("pin.verify", {{"cardId", cardId}, {"pin", "123456"}});
    expectError(verify, "AMBIGUOUS_CARD");
    EXPECT_EQ(apduLog(0).size(), mark0) << describe(apduLog(0), mark0);
    EXPECT_EQ(apduLog(1).size(), mark1) << describe(apduLog(1), mark1);

    // Listing goes on: both readers with their card, every certificate once per reader.
    const auto readers = c->call("readers.list")["result"]["readers"];
    EXPECT_EQ(readers.size(), 2U);
    std::size_t listed9c = 0;
    const json list = c->call("certificates.list");
    for (const auto& entry : list["result"]["certificates"]) {
        listed9c += entry["id"] == cert["id"] ? 1 : 0;
    }
    EXPECT_EQ(listed9c, 2U);

    // Events go on, and with one copy left the requests are served again.
    EXPECT_EQ(c->call("events.subscribe")["result"]["subscribed"], true);
    cardControl(1, "remove");
    const auto e = c->nextEvent(10s);
    EXPECT_EQ(e["params"]["type"], "card.removed");
    EXPECT_EQ(e["params"]["reader"], readerOf(1));
    EXPECT_EQ(e["params"]["cardId"], cardId);
    EXPECT_EQ(c->call("pin.status", {{"cardId", cardId}})["result"]["retriesLeft"], 3);
    const auto r = sign(*c, cert);
    ASSERT_TRUE(r.contains("result")) << r.dump();
    EXPECT_TRUE(verifiesRsaSha256(cert["der"], kContent, base64Decode(r["result"]["signature"])));
}

}  // namespace
}  // namespace tk::test
