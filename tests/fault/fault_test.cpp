// Faults against the whole stack: tenderkeyd as a process, spoken to over WebSocket on
// loopback, next to a private pcscd with vpcd and a virtual PIV card (tests/harness/with-cards
// sets the TK_* variables read here; every test has its own pcscd, card and daemon).
//
// Every case checks the same four things besides its own:
// - each request gets exactly one answer (answers are counted per id, and the connection is
//   read a while longer to catch a second one);
// - the daemon stays up: afterwards a new client is served and a signature verifies;
// - its resident memory stays bounded (VmRSS of /proc/<pid>/status before and after);
// - no card operation interleaves with another (the card's APDU log: each VERIFY with a PIN
//   is followed at once by its GENERAL AUTHENTICATE, a chained command by its next part, a
//   61xx answer by GET RESPONSE — unless a card event such as a reset or removal came between).

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "support/daemon_process.hpp"
#include "support/openssl_util.hpp"
#include "support/test_env.hpp"
#include "support/ws_client.hpp"

namespace tk::test {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

const std::string kOrigin = "https://portal.example.gov.tw";
const std::string kContent = "TenderKey bid 2025-0042: one lot, firm price.";
// Resident memory may grow this much over a case (allocator caches, sanitizer shadow).
constexpr long kRssSlackKb = 48 * 1024;

// ---- OpenSSL ----

// RSASSA-PKCS1-v1_5 with SHA-256 over kContent, checked with the certificate's key.
bool signatureVerifies(const std::string& certificateBase64, const std::string& signatureBase64) {
    const std::string der = base64Decode(certificateBase64);
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    std::unique_ptr<X509, decltype(&X509_free)> cert(
        d2i_X509(nullptr, &p, static_cast<long>(der.size())), X509_free);
    if (!cert) {
        return false;
    }
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(X509_get_pubkey(cert.get()),
                                                            EVP_PKEY_free);
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    const std::string signature = base64Decode(signatureBase64);
    return EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) == 1 &&
           EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                            signature.size(),
                            reinterpret_cast<const unsigned char*>(kContent.data()),
                            kContent.size()) == 1;
}

// ---- the card and the harness ----

std::string cardControl(const std::string& command) {
    return controlCard(env("TK_VCARD_CONTROL_0"), command);
}

void pcscd(const std::string& action) {
    const std::string command = env("TK_HARNESS_PCSCD") + " " + action;
    if (std::system(command.c_str()) != 0) {
        throw std::runtime_error(command + " failed");
    }
}

// Every line of the card's APDU log, card events ("# reset", "# removed ...") included.
std::vector<std::string> apduLog() {
    std::ifstream in(env("TK_VCARD_APDU_LOG_0"));
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) {
        if (!line.empty()) {
            lines.push_back(line);
        }
    }
    return lines;
}

// The value of `name=` in a log line ("" when absent).
std::string field(const std::string& line, const std::string& name) {
    const std::string key = name + "=";
    std::size_t at = line.rfind(" " + key);
    at = at == std::string::npos ? (line.rfind(key, 0) == 0 ? 0 : std::string::npos) : at + 1;
    if (at == std::string::npos) {
        return {};
    }
    const std::size_t start = at + key.size();
    return line.substr(start, line.find(' ', start) - start);
}

struct LogCheck {
    std::vector<std::string> violations;
    int pinVerifies = 0;  // VERIFY with a PIN answered 9000
    int signatures = 0;   // last part of a GENERAL AUTHENTICATE that the card answered
    int resets = 0;       // "# reset" events
};

// Reads the APDU log from line `from` on and checks that no operation's sequence has a
// command of another inside it.
LogCheck checkApduLog(std::size_t from) {
    const auto lines = apduLog();
    LogCheck check;
    std::optional<std::string> previous;
    for (std::size_t i = from; i < lines.size(); ++i) {
        const std::string& line = lines[i];
        if (line[0] == '#') {
            check.resets += line.rfind("# reset", 0) == 0 ? 1 : 0;
            previous.reset();  // a reset or removal ends every sequence
            continue;
        }
        const std::string ins = field(line, "ins");
        const std::string sw = field(line, "sw");
        const bool faulted = !field(line, "fault").empty();
        if (previous) {
            const std::string& p = *previous;
            const std::string pIns = field(p, "ins");
            const auto where = "line " + std::to_string(i) + " '" + line + "' after '" + p + "'";
            if (pIns == "20" && field(p, "p1") == "00" && field(p, "lc") == "8" &&
                field(p, "sw") == "9000" && ins != "87") {
                check.violations.push_back("VERIFY not followed by its signature: " + where);
            }
            if (field(p, "cla") == "10" && ins != pIns) {
                check.violations.push_back("chained command interrupted: " + where);
            }
            if (field(p, "sw").rfind("61", 0) == 0 && ins != "c0") {
                check.violations.push_back("pending response data not fetched: " + where);
            }
        }
        if (!faulted && ins == "20" && field(line, "p1") == "00" && field(line, "lc") == "8" &&
            sw == "9000") {
            ++check.pinVerifies;
        }
        if (!faulted && ins == "87" && field(line, "cla") == "00" &&
            (sw == "9000" || sw.rfind("61", 0) == 0)) {
            ++check.signatures;
        }
        if (faulted) {
            previous.reset();
        } else {
            previous = line;
        }
    }
    return check;
}

long rssKb(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("VmRSS:", 0) == 0) {
            return std::stol(line.substr(6));
        }
    }
    throw std::runtime_error("no VmRSS for pid " + std::to_string(pid));
}

// ---- answers per id ----

// Every message one connection received, counted by id.
struct Tally {
    std::map<std::string, int> byId;  // id.dump() -> answers
    std::vector<json> answers;
    int nullIds = 0;

    void add(const json& message) {
        answers.push_back(message);
        if (!message.contains("id") || message["id"].is_null()) {
            ++nullIds;
        } else {
            ++byId[message["id"].dump()];
        }
    }
    int count(const json& id) const {
        const auto it = byId.find(id.dump());
        return it == byId.end() ? 0 : it->second;
    }
    const json* answerTo(const json& id) const {
        for (const auto& a : answers) {
            if (a.contains("id") && a["id"] == id) {
                return &a;
            }
        }
        return nullptr;
    }
};

std::string reasonOf(const json& answer) {
    if (answer.contains("result")) {
        return "ok";
    }
    return answer["error"]["data"].value("reason", std::string("?"));
}

// Reads until `expected` answers arrived (or the timeout), then a little longer so that a
// second answer to any id would be seen too.
void readAnswers(WsClient& c, Tally& tally, std::size_t expected, std::chrono::milliseconds timeout,
                 std::chrono::milliseconds linger = 300ms) {
    const auto deadline = Clock::now() + timeout;
    while (tally.answers.size() < expected && Clock::now() < deadline) {
        try {
            tally.add(c.readJson(
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now())));
        } catch (const std::exception&) {
            break;
        }
    }
    const auto lingerEnd = Clock::now() + linger;
    while (Clock::now() < lingerEnd) {
        try {
            tally.add(c.readJson(std::chrono::duration_cast<std::chrono::milliseconds>(
                std::max(lingerEnd - Clock::now(), Clock::duration(0)))));
        } catch (const std::exception&) {
            break;
        }
    }
}

// ---- the fixture ----

class Fault : public ::testing::Test {
  protected:
    void SetUp() override {
#if defined(__SANITIZE_ADDRESS__)
        // Freed memory waits in the sanitizer's quarantine (256 MB by default) and counts as
        // resident: keep it small so that the memory bound still means something.
        const char* asan = std::getenv("ASAN_OPTIONS");
        const std::string options =
            std::string(asan != nullptr ? asan : "") + ":quarantine_size_mb=4";
        setenv("ASAN_OPTIONS", options.c_str(), 1);
#endif
        port_ = freePort();
        config_ = env("TK_HARNESS_DIR") + "/fault.toml";
        {
            std::ofstream out(config_);
            out << "[limits]\nmax_connections = 128\n\n[[origins]]\norigin = \"" << kOrigin
                << "\"\n";
        }
        daemon_ = std::make_unique<ChildProcess>(
            TK_DAEMON_BINARY,
            std::vector<std::string>{"--dev", "--config", config_, "--port", std::to_string(port_)},
            env("TK_HARNESS_DIR") + "/tenderkeyd.log");
        ASSERT_TRUE(daemon_->waitForLog("listening on", 15s)) << daemon_->log();
        auto c = connect();
        cert_ = certificate(*c, "9c");
        // Warm: the first operations after start read the card; the baseline is after them.
        ASSERT_TRUE(signOnce(*c)) << "no signature before the fault";
        rssBefore_ = rssKb(daemon_->pid());
        logStart_ = apduLog().size();
    }

    void TearDown() override {
        if (daemon_) {
            // A clean stop after the faults (and, in sanitizer builds, no leak at exit).
            daemon_->signal(SIGTERM);
            EXPECT_EQ(daemon_->waitExit(15s), 0) << "tenderkeyd did not stop cleanly";
        }
        if (HasFailure() && daemon_) {
            std::cerr << "---- tenderkeyd log (tail) ----\n";
            const std::string log = daemon_->log();
            std::cerr << log.substr(log.size() > 6000 ? log.size() - 6000 : 0);
        }
    }

    std::unique_ptr<WsClient> connect() {
        auto c = std::make_unique<WsClient>("127.0.0.1", port_);
        const auto r = c->open(kOrigin);
        if (r.status != 101) {
            throw std::runtime_error("handshake refused: " + std::to_string(r.status));
        }
        return c;
    }

    json certificate(WsClient& c, const std::string& slot) {
        for (int i = 0; i < 300; ++i) {
            const auto r = c.call("certificates.list");
            if (r.contains("result")) {
                for (const auto& cert : r["result"]["certificates"]) {
                    if (cert["slot"] == slot) {
                        return cert;
                    }
                }
            }
            std::this_thread::sleep_for(50ms);
        }
        throw std::runtime_error("no certificate in slot " + slot);
    }

    json signParams() const {
        return {
            {"certificateId", cert_["id"]}, {"pin", "123456"}, {"data", base64Encode(kContent)}};
    }

    bool signOnce(WsClient& c) {
        const auto r = c.call("sign", signParams(), 60s);
        return r.contains("result") && signatureVerifies(cert_["der"], r["result"]["signature"]);
    }

    // Once the faults are over: a new client is served and its signature verifies (waiting
    // up to `patience` for the card to be back), the process still runs, memory is bounded
    // and the card's log shows no interleaving. Returns the log check for more assertions.
    LogCheck expectHealthyAfterwards(std::chrono::seconds patience = 30s) {
        EXPECT_FALSE(daemon_->waitExit(0ms)) << "tenderkeyd exited";
        auto c = connect();
        EXPECT_TRUE(c->call("system.info").contains("result"));
        bool signed_ = false;
        const auto deadline = Clock::now() + patience;
        while (!signed_ && Clock::now() < deadline) {
            const auto r = c->call("sign", signParams(), 60s);
            signed_ = r.contains("result");
            if (signed_) {
                EXPECT_TRUE(signatureVerifies(cert_["der"], r["result"]["signature"]));
            } else {
                std::this_thread::sleep_for(200ms);
            }
        }
        EXPECT_TRUE(signed_) << "no signature after the fault";
        const long after = rssKb(daemon_->pid());
        EXPECT_LT(after, rssBefore_ + kRssSlackKb)
            << "VmRSS " << rssBefore_ << " kB before, " << after << " kB after";
        std::cerr << "[fault] VmRSS " << rssBefore_ << " kB -> " << after << " kB\n";
        LogCheck check = checkApduLog(logStart_);
        for (const auto& v : check.violations) {
            ADD_FAILURE() << v;
        }
        return check;
    }

    std::uint16_t port_ = 0;
    std::string config_;
    std::unique_ptr<ChildProcess> daemon_;
    json cert_;
    long rssBefore_ = 0;
    std::size_t logStart_ = 0;
};

// One client signing in a loop on its own thread, one request in flight, counting every
// answer by id; what came back is inspected once it stopped.
class SignLoop {
  public:
    // Signatures are verified against `certificate` (base64 DER); `gap` is the pause after
    // each answer.
    SignLoop(std::unique_ptr<WsClient> client, json params, std::string certificate,
             std::chrono::milliseconds gap = 0ms)
        : certificate_(std::move(certificate)),
          client_(std::move(client)),
          params_(std::move(params)),
          gap_(gap) {
        thread_ = std::thread([this] { loop(); });
    }
    ~SignLoop() { stop(); }

    void stop() {
        stop_ = true;
        if (thread_.joinable()) {
            thread_.join();
        }
    }
    int successesSince(Clock::time_point t) const {
        std::lock_guard lock(mutex_);
        int n = 0;
        for (const auto& [at, reason] : outcomes_) {
            n += (at >= t && reason == "ok") ? 1 : 0;
        }
        return n;
    }

    // After stop(): requests sent, answers per id, reasons, signatures that did not verify.
    int sent = 0;
    Tally tally;
    std::map<std::string, int> reasons;
    int badSignatures = 0;
    std::string error;

  private:
    void loop() {
        try {
            while (!stop_) {
                const json id = client_->send("sign", params_);
                ++sent;
                const auto deadline = Clock::now() + 90s;
                while (tally.count(id) == 0 && Clock::now() < deadline) {
                    tally.add(client_->readJson(90s));
                }
                const json* answer = tally.answerTo(id);
                if (answer == nullptr) {
                    error = "no answer to " + id.dump();
                    return;
                }
                const std::string reason = reasonOf(*answer);
                ++reasons[reason];
                if (reason == "ok" &&
                    !signatureVerifies(certificate_, (*answer)["result"]["signature"])) {
                    ++badSignatures;
                }
                {
                    std::lock_guard lock(mutex_);
                    outcomes_.emplace_back(Clock::now(), reason);
                }
                std::this_thread::sleep_for(gap_);
            }
            readAnswers(*client_, tally, tally.answers.size() + 1, 0ms, 300ms);
        } catch (const std::exception& e) {
            error = e.what();
        }
    }

    std::string certificate_;
    std::unique_ptr<WsClient> client_;
    json params_;
    std::chrono::milliseconds gap_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
    mutable std::mutex mutex_;
    std::vector<std::pair<Clock::time_point, std::string>> outcomes_;
};

void expectOneAnswerEach(const SignLoop& loop, const std::set<std::string>& allowed) {
    EXPECT_TRUE(loop.error.empty()) << loop.error;
    EXPECT_EQ(loop.tally.answers.size(), static_cast<std::size_t>(loop.sent));
    EXPECT_EQ(loop.tally.nullIds, 0);
    for (const auto& [id, n] : loop.tally.byId) {
        EXPECT_EQ(n, 1) << "id " << id << " answered " << n << " times";
    }
    for (const auto& [reason, n] : loop.reasons) {
        EXPECT_TRUE(allowed.contains(reason)) << n << " answer(s) " << reason;
    }
    EXPECT_EQ(loop.badSignatures, 0);
}

// ---- the card ----

TEST_F(Fault, CardPulledMidSign_EachRequestAnsweredOnceOutcomeUnknownThenSignsAgain) {
    std::vector<std::unique_ptr<WsClient>> clients;
    for (int i = 0; i < 4; ++i) {
        clients.push_back(connect());
    }
    cardControl("delay 10");
    cardControl("fault remove-on-ins 87");
    std::vector<json> ids;
    for (auto& c : clients) {
        ids.push_back(c->send("sign", signParams()));
    }
    int unknownOutcome = 0;
    for (std::size_t i = 0; i < clients.size(); ++i) {
        Tally tally;
        readAnswers(*clients[i], tally, 1, 30s);
        ASSERT_EQ(tally.answers.size(), 1u);
        ASSERT_EQ(tally.count(ids[i]), 1);
        const json& a = tally.answers[0];
        const std::string reason = reasonOf(a);
        EXPECT_TRUE(reason == "CARD_REMOVED" || reason == "NO_CARD" ||
                    reason == "CERTIFICATE_NOT_FOUND")
            << a.dump();
        std::cerr << "[fault] " << a.dump() << "\n";
        if (reason == "CARD_REMOVED") {
            // The request that met the removal had sent its VERIFY: the card was reached.
            unknownOutcome += a["error"]["data"]["outcome"] == "unknown" ? 1 : 0;
        }
    }
    // Exactly one request reached the card (the removal came with its signature); the others
    // never touched it and say so.
    EXPECT_EQ(unknownOutcome, 1) << "the sign that met the removal must say outcome unknown";
    cardControl("delay 0");
    cardControl("insert");
    certificate(*clients[0], "9c");  // the daemon has read the card again
    for (auto& c : clients) {
        EXPECT_TRUE(signOnce(*c) || signOnce(*c)) << "old connection cannot sign again";
    }
    const auto check = expectHealthyAfterwards();
    EXPECT_GE(check.signatures, 5);
}

// Two clients sign in a loop while another PC/SC application resets the card 30 times. The
// clients pause between requests: pcsc-lite makes the other application wait while the
// daemon holds its transaction, so it can only reset the card between two operations, and a
// card kept busy without a pause would starve it.
void resetDuringSigns(const std::string& mode, const json& params, const std::string& certificate,
                      std::unique_ptr<WsClient> a, std::unique_ptr<WsClient> b) {
    cardControl("delay 2");
    SignLoop first(std::move(a), params, certificate, 150ms);
    SignLoop second(std::move(b), params, certificate, 150ms);
    ChildProcess resetter(TK_PCSC_RESET_BINARY, {env("TK_READER_0"), mode, "30", "40"},
                          env("TK_HARNESS_DIR") + "/reset-" + mode + ".log");
    const auto status = resetter.waitExit(120s);
    first.stop();
    second.stop();
    EXPECT_EQ(status, 0) << resetter.log();
    std::cerr << "[fault] " << mode << ": " << resetter.log();
    for (const SignLoop* loop : {&first, &second}) {
        expectOneAnswerEach(*loop, {"ok", "CARD_REMOVED"});
        EXPECT_GT(loop->reasons.count("ok") ? loop->reasons.at("ok") : 0, 0);
    }
    cardControl("delay 0");
}

TEST_F(Fault, CardResetByOtherApplicationReconnect_AnsweredOncePinNeverResent) {
    resetDuringSigns("reconnect", signParams(), cert_["der"], connect(), connect());
    const auto check = expectHealthyAfterwards();
    EXPECT_GE(check.resets, 1) << "the other application never reset the card";
    // One VERIFY with the PIN per signature: a reset never made the daemon send the PIN again
    // for the same request without its signature following.
    EXPECT_EQ(check.pinVerifies, check.signatures);
}

TEST_F(Fault, CardResetByOtherApplicationDisconnect_AnsweredOncePinNeverResent) {
    resetDuringSigns("disconnect", signParams(), cert_["der"], connect(), connect());
    const auto check = expectHealthyAfterwards();
    EXPECT_GE(check.resets, 1) << "the other application never reset the card";
    EXPECT_EQ(check.pinVerifies, check.signatures);
}

TEST_F(Fault, GarbageResponses_EachRequestAnsweredOnceThenRecovers) {
    cardControl("fault garbage");
    auto c = connect();
    std::vector<json> ids;
    for (int i = 0; i < 4; ++i) {
        ids.push_back(c->send("sign", signParams()));
    }
    ids.push_back(c->send("pin.status", {{"cardId", cert_["cardId"]}}));
    ids.push_back(c->send("certificates.list"));
    Tally tally;
    readAnswers(*c, tally, ids.size(), 60s, 500ms);
    EXPECT_EQ(tally.answers.size(), ids.size());
    for (const auto& id : ids) {
        EXPECT_EQ(tally.count(id), 1) << id;
    }
    for (const auto& a : tally.answers) {
        std::cerr << "[fault] answer " << a["id"] << ": " << reasonOf(a) << "\n";
        EXPECT_NE(reasonOf(a), "INTERNAL") << a.dump();
        if (a.contains("result") && a["result"].contains("signature")) {
            ADD_FAILURE() << "a signature made of garbage: " << a.dump();
        }
    }
    cardControl("fault none");
    expectHealthyAfterwards();
}

TEST_F(Fault, TruncatedResponses_EachRequestAnsweredOnceThenRecovers) {
    cardControl("fault truncate");
    auto c = connect();
    std::vector<json> ids;
    for (int i = 0; i < 4; ++i) {
        ids.push_back(c->send("sign", signParams()));
    }
    ids.push_back(c->send("pin.status", {{"cardId", cert_["cardId"]}}));
    Tally tally;
    readAnswers(*c, tally, ids.size(), 60s, 500ms);
    EXPECT_EQ(tally.answers.size(), ids.size());
    for (const auto& id : ids) {
        EXPECT_EQ(tally.count(id), 1) << id;
    }
    for (const auto& a : tally.answers) {
        std::cerr << "[fault] answer " << a["id"] << ": " << reasonOf(a) << "\n";
        EXPECT_NE(reasonOf(a), "INTERNAL") << a.dump();
        EXPECT_FALSE(a.contains("result") && a["result"].contains("signature"))
            << "a signature from truncated answers: " << a.dump();
    }
    cardControl("fault none");
    expectHealthyAfterwards();
}

// Lines of the card's APDU log from line `from` on that match every `name=value` given.
int countApdus(std::size_t from, const std::map<std::string, std::string>& fields) {
    const auto lines = apduLog();
    int n = 0;
    for (std::size_t i = from; i < lines.size(); ++i) {
        bool all = lines[i][0] != '#';
        for (const auto& [name, value] : fields) {
            all = all && field(lines[i], name) == value;
        }
        n += all ? 1 : 0;
    }
    return n;
}

TEST_F(Fault, GetResponseForever_CardErrorAfterBoundedRoundsThenRecovers) {
    cardControl("fault more-data-forever");
    auto c = connect();
    const auto start = Clock::now();
    const auto r = c->call("sign", signParams(), 60s);
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
    EXPECT_EQ(reasonOf(r), "CARD_ERROR") << r.dump();
    const int rounds = countApdus(logStart_, {{"ins", "c0"}, {"fault", "more-data-forever"}});
    std::cerr << "[fault] 61xx forever: " << rounds << " GET RESPONSE answered 6100, then "
              << reasonOf(r) << " after " << elapsed << " ms\n";
    EXPECT_GT(rounds, 0);
    EXPECT_LE(rounds, 1024);
    cardControl("fault none");
    expectHealthyAfterwards();
}

TEST_F(Fault, WrongLeToVerify_PinPresentedOnceCardError) {
    cardControl("fault wrong-le-on-ins 20");
    auto c = connect();
    const auto r = c->call("sign", signParams(), 60s);
    EXPECT_EQ(reasonOf(r), "CARD_ERROR") << r.dump();
    EXPECT_EQ(r["error"]["data"].value("sw", ""), "6c08") << r.dump();
    // VERIFY with the PIN (P1 00, eight bytes): once, not again with the Le the card asked for.
    EXPECT_EQ(countApdus(logStart_, {{"ins", "20"}, {"p1", "00"}, {"lc", "8"}}), 1);
    cardControl("fault none");
    expectHealthyAfterwards();
}

// ---- pcscd ----

TEST_F(Fault, PcscdKilledAndRestartedUnderLoad_AnsweredOnceAndServedAgain) {
    std::vector<std::unique_ptr<SignLoop>> loops;
    for (int i = 0; i < 3; ++i) {
        loops.push_back(std::make_unique<SignLoop>(connect(), signParams(), cert_["der"]));
    }
    std::this_thread::sleep_for(1s);
    pcscd("kill");
    std::this_thread::sleep_for(1500ms);
    pcscd("start");
    const auto restarted = Clock::now();
    const auto deadline = restarted + 60s;
    bool allBack = false;
    while (!allBack && Clock::now() < deadline) {
        allBack = true;
        for (const auto& loop : loops) {
            allBack = allBack && loop->successesSince(restarted) > 0;
        }
        std::this_thread::sleep_for(100ms);
    }
    for (auto& loop : loops) {
        loop->stop();
    }
    EXPECT_TRUE(allBack) << "not every client signed again after pcscd came back";
    for (const auto& loop : loops) {
        expectOneAnswerEach(*loop, {"ok", "SERVICE_UNAVAILABLE", "CARD_REMOVED", "NO_CARD",
                                    "NO_READER", "CERTIFICATE_NOT_FOUND"});
        std::string summary;
        for (const auto& [reason, n] : loop->reasons) {
            summary += reason + "=" + std::to_string(n) + " ";
        }
        std::cerr << "[fault] client: " << summary << "\n";
    }
    expectHealthyAfterwards();
}

// ---- clients ----

TEST_F(Fault, ClientsDisconnectMidSign_OthersServedCardLeftLocked) {
    cardControl("delay 30");
    std::vector<std::unique_ptr<WsClient>> leaving;
    for (int i = 0; i < 7; ++i) {
        leaving.push_back(connect());
    }
    auto staying = connect();
    for (auto& c : leaving) {
        c->send("sign", signParams());
        c->send("sign", signParams());
    }
    const json stayingId = staying->send("sign", signParams());
    std::this_thread::sleep_for(300ms);
    leaving.clear();  // the sockets close with their requests running or queued
    Tally tally;
    readAnswers(*staying, tally, 1, 90s, 500ms);
    ASSERT_EQ(tally.answers.size(), 1u);
    ASSERT_EQ(tally.count(stayingId), 1);
    EXPECT_TRUE(tally.answers[0].contains("result")) << tally.answers[0].dump();
    EXPECT_TRUE(signatureVerifies(cert_["der"], tally.answers[0]["result"]["signature"]));
    cardControl("delay 0");
    const auto check = expectHealthyAfterwards();
    // Queued requests of connections that left were dropped, not run for nobody: 14 requests
    // of leaving clients, one of the staying client, one health check; at most the few that
    // were running when the sockets closed are signed besides the last two.
    EXPECT_LT(check.signatures, 8);
    std::cerr << "[fault] signatures made for 15 requests of which 14 were abandoned, plus one "
                 "check: "
              << check.signatures << "\n";
    // The card is left with no PIN verified.
    EXPECT_NE(cardControl("status").find("pin_verified=0"), std::string::npos);
}

int rawConnect(std::uint16_t port) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
        close(fd);
        throw std::runtime_error("connect failed");
    }
    return fd;
}

// True when the peer closed `fd` (EOF or reset); never blocks.
bool closedByPeer(int fd) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 0) <= 0) {
        return false;
    }
    char buffer[4096];
    const ssize_t n = recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

TEST_F(Fault, SlowHandshakeClients_DroppedWithinTimeoutOthersServed) {
    // 20 clients that trickle their upgrade request one byte every 400 ms, 20 that send
    // nothing at all: together more than the 32 the daemon would accept as sessions.
    const std::string request =
        "GET / HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port_) +
        "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nOrigin: " + kOrigin +
        "\r\nSec-WebSocket-Version: 13\r\n";
    struct Slow {
        int fd;
        bool trickle;
        std::optional<Clock::duration> closedAfter;
    };
    const auto opened = Clock::now();
    std::vector<Slow> slow;
    for (int i = 0; i < 40; ++i) {
        slow.push_back({rawConnect(port_), i < 20, std::nullopt});
    }
    std::size_t sentBytes = 0;
    auto nextByte = Clock::now();
    int served = 0;
    std::chrono::milliseconds slowestCall{0};
    while (Clock::now() - opened < 20s) {
        if (Clock::now() >= nextByte && sentBytes < request.size()) {
            for (auto& s : slow) {
                if (s.trickle && !s.closedAfter) {
                    (void)send(s.fd, request.data() + sentBytes, 1, MSG_NOSIGNAL);
                }
            }
            ++sentBytes;
            nextByte += 400ms;
        }
        for (auto& s : slow) {
            if (!s.closedAfter && closedByPeer(s.fd)) {
                s.closedAfter = Clock::now() - opened;
            }
        }
        // Meanwhile a normal client connects and is served promptly.
        const auto start = Clock::now();
        auto c = connect();
        EXPECT_TRUE(c->call("system.info", nullptr, 5s).contains("result"));
        const auto took =
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
        slowestCall = std::max(slowestCall, took);
        ++served;
        std::this_thread::sleep_for(100ms);
        if (std::all_of(slow.begin(), slow.end(), [](const Slow& s) { return s.closedAfter; })) {
            break;
        }
    }
    EXPECT_LT(slowestCall, 1000ms) << "a normal client waited behind the slow ones";
    std::chrono::milliseconds latest{0};
    for (const auto& s : slow) {
        ASSERT_TRUE(s.closedAfter)
            << (s.trickle ? "trickling" : "silent") << " client still connected after 20 s";
        latest =
            std::max(latest, std::chrono::duration_cast<std::chrono::milliseconds>(*s.closedAfter));
        close(s.fd);
    }
    // The handshake timeout is 10 s; allow for the event loop's granularity.
    EXPECT_LT(latest, 13s);
    std::cerr << "[fault] slow clients dropped after at most " << latest.count() << " ms; "
              << served << " normal clients served meanwhile, slowest " << slowestCall.count()
              << " ms\n";
    expectHealthyAfterwards();
}

// A masked frame header announcing `length` bytes (the payload is never sent).
std::string frameHeader(int opcode, std::uint64_t length, bool fin = true) {
    std::string h;
    h += static_cast<char>((fin ? 0x80 : 0x00) | opcode);
    h += static_cast<char>(0x80 | 127);
    for (int shift = 56; shift >= 0; shift -= 8) {
        h += static_cast<char>((length >> shift) & 0xff);
    }
    h += std::string("\x11\x22\x33\x44", 4);
    return h;
}

TEST_F(Fault, OversizedFrames_Close1009AtOnceOthersServedMemoryBounded) {
    auto bystander = connect();
    for (int round = 0; round < 30; ++round) {
        // A header announcing 1 TiB: refused on the header alone.
        auto c = connect();
        c->sendRaw(frameHeader(1, std::uint64_t{1} << 40));
        c->sendRaw(std::string(1000, 'x'));
        EXPECT_EQ(c->readCloseCode(5s), 1009) << "round " << round;
        // Fragments that only together exceed the 1 MiB limit.
        auto f = connect();
        std::thread sender([&] {
            try {
                f->sendFrame(1, std::string(600 * 1024, ' '), false);
                f->sendFrame(0, std::string(600 * 1024, ' '), true);
            } catch (const std::exception&) {
                // the daemon may drop the connection after its close frame
            }
        });
        const int code = f->readCloseCode(10s);
        sender.join();
        EXPECT_EQ(code, 1009) << "round " << round;
        EXPECT_TRUE(bystander->call("system.info", nullptr, 5s).contains("result"));
    }
    expectHealthyAfterwards();
}

TEST_F(Fault, TenThousandMalformedMessages_EachAnsweredOnceDaemonBounded) {
    auto c = connect();
    constexpr int kMessages = 10000;
    constexpr int kBatch = 50;
    int expectNullIds = 0;
    std::vector<json> withId;
    Tally tally;
    std::mt19937 random(42);
    for (int start = 0; start < kMessages; start += kBatch) {
        for (int n = start; n < start + kBatch; ++n) {
            const std::string id = std::to_string(n + 1000);
            std::string text;
            switch (n % 8) {
                case 0:  // cut short
                    text = R"({"jsonrpc":"2.0","id":)" + id + R"(,"method":"system.info")";
                    ++expectNullIds;
                    break;
                case 1:
                    text = R"({"jsonrpc":"2.0","id":)" + id + R"(,"method":"no.such.method"})";
                    withId.push_back(n + 1000);
                    break;
                case 2:  // parameters by position
                    text = R"({"jsonrpc":"2.0","id":)" + id +
                           R"(,"method":"certificates.list","params":[1,2]})";
                    withId.push_back(n + 1000);
                    break;
                case 3:  // nested deeper than the parser allows
                    text = std::string(40, '[') + std::string(40, ']');
                    ++expectNullIds;
                    break;
                case 4:  // a member twice
                    text = R"({"jsonrpc":"2.0","id":)" + id + R"(,"id":)" + id +
                           R"(,"method":"system.info"})";
                    ++expectNullIds;
                    break;
                case 5:  // parameters of the wrong type, reaching the service
                    text = R"({"jsonrpc":"2.0","id":)" + id +
                           R"(,"method":"sign","params":{"certificateId":5,"data":[]}})";
                    withId.push_back(n + 1000);
                    break;
                case 6: {  // printable noise
                    text = R"({"jsonrpc":"2.0","id":)" + id + R"(,"params":{"x":)";
                    for (int k = 0; k < 64; ++k) {
                        text += static_cast<char>('!' + random() % 90);
                    }
                    ++expectNullIds;
                    break;
                }
                default:  // not an object
                    text = R"("system.info")";
                    ++expectNullIds;
                    break;
            }
            c->sendFrame(1, text);
        }
        readAnswers(*c, tally, static_cast<std::size_t>(start + kBatch), 30s, 0ms);
        ASSERT_EQ(tally.answers.size(), static_cast<std::size_t>(start + kBatch))
            << "answers missing after message " << start + kBatch;
    }
    readAnswers(*c, tally, kMessages + 1, 0ms, 500ms);
    EXPECT_EQ(tally.answers.size(), static_cast<std::size_t>(kMessages));
    EXPECT_EQ(tally.nullIds, expectNullIds);
    for (const auto& id : withId) {
        EXPECT_EQ(tally.count(id), 1) << id;
    }
    for (const auto& a : tally.answers) {
        ASSERT_TRUE(a.contains("error")) << a.dump();
        ASSERT_NE(reasonOf(a), "INTERNAL") << a.dump();
    }
    // The same connection still works.
    EXPECT_TRUE(c->call("system.info").contains("result"));
    expectHealthyAfterwards();
}

TEST_F(Fault, SixtyFourClientsSignConcurrently_AllSignedNoInterleave) {
    constexpr int kClients = 64;
    constexpr int kEach = 2;
    std::vector<std::unique_ptr<WsClient>> clients;
    for (int i = 0; i < kClients; ++i) {
        clients.push_back(connect());
    }
    std::vector<std::vector<json>> ids(kClients);
    for (int round = 0; round < kEach; ++round) {
        for (int i = 0; i < kClients; ++i) {
            ids[i].push_back(clients[i]->send("sign", signParams()));
        }
    }
    int signedOk = 0;
    for (int i = 0; i < kClients; ++i) {
        Tally tally;
        readAnswers(*clients[i], tally, kEach, 120s, i == kClients - 1 ? 500ms : 0ms);
        EXPECT_EQ(tally.answers.size(), static_cast<std::size_t>(kEach)) << "client " << i;
        for (const auto& id : ids[i]) {
            ASSERT_EQ(tally.count(id), 1) << "client " << i << " id " << id;
            const json* a = tally.answerTo(id);
            ASSERT_TRUE(a->contains("result")) << a->dump();
            EXPECT_TRUE(signatureVerifies(cert_["der"], (*a)["result"]["signature"]));
            ++signedOk;
        }
    }
    EXPECT_EQ(signedOk, kClients * kEach);
    const auto check = expectHealthyAfterwards();
    // 128 signatures plus the one of the health check, each right after its own VERIFY.
    EXPECT_EQ(check.signatures, kClients * kEach + 1);
    EXPECT_EQ(check.pinVerifies, kClients * kEach + 1);
}

}  // namespace
}  // namespace tk::test
