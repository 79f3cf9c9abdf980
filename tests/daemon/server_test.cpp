// The WebSocket server (daemon/server) on real loopback sockets, in front of a scripted
// service::Api: handshake checks, /health, JSON-RPC framing, limits, completions from other
// threads, events, reload and graceful stop. Every JSON message the tests receive is checked
// against protocol/schema/.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>

#include "server/server.hpp"
#include "service/hipki/status_image.hpp"
#include "support/schema_validator.hpp"
#include "support/ws_client.hpp"

namespace tk::test {
namespace {

using json = nlohmann::json;
using service::ApiError;
using service::CallContext;
using service::Capabilities;
using service::Completion;

const std::string kPortal = "https://portal.example.gov.tw";
const std::string kAdmin = "https://admin.example.gov.tw";

// A service that answers every call with a result naming the call, unless told to hold calls
// for the test to answer later.
class FakeApi : public service::Api {
  public:
    struct Call {
        CallContext context;
        std::string method;
        json params;
        Completion done;
    };

    void call(const CallContext& context, std::string_view method, const json& params,
              Completion done) override {
        std::unique_lock lock(mutex_);
        ++calls_;
        if (throwOnCall) {
            throw std::runtime_error("scripted failure");
        }
        if (hold) {
            held_.push_back({context, std::string(method), params, std::move(done)});
            changed_.notify_all();
            return;
        }
        lock.unlock();
        if (method == "system.info") {
            done(json{{"name", "TenderKey"},
                      {"version", "0.1.0"},
                      {"protocol", 1},
                      {"backends", {"piv"}},
                      {"origin", context.origin}},
                 std::nullopt);
        } else if (method == "events.subscribe") {
            done(json{{"subscribed", true}}, std::nullopt);
        } else if (method == "readers.list") {
            done(json{{"readers", json::array()}}, std::nullopt);
        } else {
            ApiError error;
            error.reason = "NO_CARD";
            error.code = -32012;
            error.message = "No card";
            done(std::nullopt, error);
        }
    }

    void connectionOpened(std::uint64_t id, service::EventSink sink) override {
        std::lock_guard lock(mutex_);
        sinks_[id] = std::move(sink);
        opened_.push_back(id);
        changed_.notify_all();
    }

    void connectionClosed(std::uint64_t id) override {
        std::lock_guard lock(mutex_);
        sinks_.erase(id);
        closed_.push_back(id);
        changed_.notify_all();
    }

    int readerCount() const override { return 2; }

    // Waits until `n` calls are held and takes them.
    std::vector<Call> takeHeld(std::size_t n) {
        std::unique_lock lock(mutex_);
        if (!changed_.wait_for(lock, 10s, [&] { return held_.size() >= n; })) {
            throw std::runtime_error("calls did not arrive");
        }
        std::vector<Call> taken(std::make_move_iterator(held_.begin()),
                                std::make_move_iterator(held_.begin() + static_cast<long>(n)));
        held_.erase(held_.begin(), held_.begin() + static_cast<long>(n));
        return taken;
    }

    bool waitClosed(std::size_t n) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, 10s, [&] { return closed_.size() >= n; });
    }

    void pushEventToAll(const json& params) {
        std::vector<service::EventSink> sinks;
        {
            std::lock_guard lock(mutex_);
            for (auto& [id, sink] : sinks_) {
                sinks.push_back(sink);
            }
        }
        for (auto& sink : sinks) {
            sink(params);
        }
    }

    std::size_t openedCount() {
        std::lock_guard lock(mutex_);
        return opened_.size();
    }
    int callCount() {
        std::lock_guard lock(mutex_);
        return calls_;
    }

    std::atomic<bool> hold{false};
    std::atomic<bool> throwOnCall{false};

  private:
    std::mutex mutex_;
    std::condition_variable changed_;
    int calls_ = 0;
    std::vector<Call> held_;
    std::map<std::uint64_t, service::EventSink> sinks_;
    std::vector<std::uint64_t> opened_;
    std::vector<std::uint64_t> closed_;
};

server::OriginLookup lookupOf(std::map<std::string, Capabilities> entries) {
    return [entries = std::move(entries)](std::string_view origin) -> std::optional<Capabilities> {
        const auto it = entries.find(std::string(origin));
        if (it == entries.end()) {
            return std::nullopt;
        }
        return it->second;
    };
}

const ProtocolSchemas& schemas() {
    static const ProtocolSchemas instance(TK_PROTOCOL_SCHEMA_DIR);
    return instance;
}

class ServerTest : public ::testing::Test {
  protected:
    void SetUp() override { startServer(); }

    void startServer(service::Limits limits = {}, bool pagePins = true, bool hipki = false,
                     std::shared_ptr<const service::ConsentPolicy> consent = nullptr) {
        port_ = freePort();
        server::ServerSettings settings;
        settings.listeners = {service::ListenerConfig{"localhost", port_, {}, {}}};
        settings.limits = limits;
        settings.version = "0.1.0";
        settings.pagePins = pagePins;
        if (hipki) {
            settings.hipki = service::hipki::AdapterOptions{"1.3.4.999999"};
        }
        server_ = std::make_unique<server::Server>(
            api_, settings,
            lookupOf({{kPortal, Capabilities::defaults()}, {kAdmin, Capabilities::all()}}),
            std::move(consent));
        server_->start();
    }

    void TearDown() override {
        server_.reset();
        for (const auto& v : violations_) {
            ADD_FAILURE() << "schema violation: " << v;
        }
    }

    std::unique_ptr<WsClient> client(const std::string& origin = kPortal,
                                     const std::string& address = "127.0.0.1") {
        auto c = std::make_unique<WsClient>(address, port_);
        const auto response = origin.empty() ? HttpResponse{} : c->open(origin);
        if (!origin.empty() && response.status != 101) {
            throw std::runtime_error("handshake failed: " + std::to_string(response.status));
        }
        c->onMessage = [this](const json& message, const std::string& method) {
            for (auto& e : schemas().message(message, method)) {
                violations_.push_back(message.dump() + ": " + e);
            }
        };
        return c;
    }

    HttpResponse handshake(const Handshake& h) {
        WsClient c("127.0.0.1", port_);
        auto response = c.handshake(h);
        // A refusal is the whole answer: the connection ends after it.
        if (response.status != 101) {
            EXPECT_TRUE(c.waitPeerClosed(5s)) << "connection left open after " << response.status;
        }
        return response;
    }

    std::string hostHeader() const { return "127.0.0.1:" + std::to_string(port_); }

    // Sends raw text and returns the single response.
    json exchange(WsClient& c, const std::string& text) {
        c.sendText(text);
        return c.readJson();
    }

    FakeApi api_;
    std::uint16_t port_ = 0;
    std::unique_ptr<server::Server> server_;
    std::vector<std::string> violations_;
};

void expectRefusal(const HttpResponse& r, int status) {
    EXPECT_EQ(r.status, status);
    EXPECT_EQ(r.statusLine.rfind("HTTP/1.1 ", 0), 0u) << r.statusLine;
    EXPECT_EQ(r.headers.count("content-length") ? r.headers.at("content-length") : "", "0");
    EXPECT_TRUE(r.body.empty());
    EXPECT_EQ(r.headers.count("sec-websocket-accept"), 0u);
}

// ---- handshake ----

TEST_F(ServerTest, Handshake_ValidRequest_SelectsSubprotocol) {
    for (const std::string& host : {hostHeader(), "LOCALHOST:" + std::to_string(port_)}) {
        WsClient c("127.0.0.1", port_);
        const auto r = c.handshake({host, kPortal, "chat, tenderkey.v1"});
        EXPECT_EQ(r.status, 101) << host;
        EXPECT_EQ(r.headers.at("sec-websocket-protocol"), "tenderkey.v1");
    }
    WsClient v6("::1", port_);
    EXPECT_EQ(v6.handshake({"[::1]:" + std::to_string(port_), kPortal, "tenderkey.v1"}).status,
              101);
}

TEST_F(ServerTest, Handshake_ForeignHost_Refused403WithoutSession) {
    const std::string port = std::to_string(port_);
    for (const std::optional<std::string>& host :
         {std::optional<std::string>("evil.example:" + port), std::optional<std::string>(),
          std::optional<std::string>("127.0.0.1:1"), std::optional<std::string>("127.0.0.1"),
          std::optional<std::string>("127.0.0.2:" + port),
          std::optional<std::string>("localhost.:" + port),
          std::optional<std::string>("127.0.0.1:" + port + ", evil.example")}) {
        expectRefusal(handshake({host, kPortal, "tenderkey.v1"}), 403);
    }
    EXPECT_EQ(api_.openedCount(), 0u);
}

TEST_F(ServerTest, Handshake_OriginMissingOrForeign_Refused403WithoutSession) {
    for (const std::optional<std::string>& origin :
         {std::optional<std::string>(), std::optional<std::string>("https://evil.example"),
          std::optional<std::string>("null"), std::optional<std::string>(kPortal + "/"),
          std::optional<std::string>("http://portal.example.gov.tw")}) {
        expectRefusal(handshake({hostHeader(), origin, "tenderkey.v1"}), 403);
    }
    EXPECT_EQ(api_.openedCount(), 0u);
}

TEST_F(ServerTest, Handshake_WithoutSubprotocol_Refused400WithoutSession) {
    for (const std::optional<std::string>& protocol :
         {std::optional<std::string>(), std::optional<std::string>("chat"),
          std::optional<std::string>("tenderkey.v2, TENDERKEY.V1"),
          std::optional<std::string>(std::string(70, 'x') + ", tenderkey.v1")}) {
        expectRefusal(handshake({hostHeader(), kPortal, protocol}), 400);
    }
    EXPECT_EQ(api_.openedCount(), 0u);
}

TEST_F(ServerTest, Handshake_ChecksRunInProtocolOrder) {
    // Host before Origin, Origin before subprotocol.
    expectRefusal(handshake({"evil.example:1", std::nullopt, std::nullopt}), 403);
    expectRefusal(handshake({hostHeader(), "https://evil.example", std::nullopt}), 403);
}

TEST_F(ServerTest, Handshake_ConnectionLimit_33rdRefused503) {
    std::vector<std::unique_ptr<WsClient>> open;
    for (int i = 0; i < 32; ++i) {
        open.push_back(client());
    }
    expectRefusal(handshake({hostHeader(), kPortal, "tenderkey.v1"}), 503);
    EXPECT_EQ(server_->connectionCount(), 32);
    open.pop_back();
    for (int i = 0; i < 100 && server_->connectionCount() != 31; ++i) {
        std::this_thread::sleep_for(20ms);
    }
    EXPECT_NO_THROW(client());
}

// ---- /health and plain HTTP ----

TEST_F(ServerTest, Health_ValidHost_AnswersStatusVersionReaders) {
    const auto r = httpGet("127.0.0.1", port_, "/health", hostHeader());
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.headers.at("content-type"), "application/json");
    const auto body = json::parse(r.body);
    EXPECT_EQ(body, (json{{"status", "ok"}, {"version", "0.1.0"}, {"readers", 2}}));
    EXPECT_TRUE(schemas().health(body).empty());
    EXPECT_EQ(httpGet("::1", port_, "/health", "[::1]:" + std::to_string(port_)).status, 200);
}

TEST_F(ServerTest, Health_ForeignOrMissingHost_Refused403) {
    for (const std::optional<std::string>& host :
         {std::optional<std::string>("evil.example:" + std::to_string(port_)),
          std::optional<std::string>()}) {
        const auto r = httpGet("127.0.0.1", port_, "/health", host);
        expectRefusal(r, 403);
    }
}

TEST_F(ServerTest, Http_OtherPath_Answers404WithoutBody) {
    const auto r = httpGet("127.0.0.1", port_, "/", hostHeader());
    expectRefusal(r, 404);
}

// ---- pages (the bridge window) ----

std::string sourceFile(const std::string& name) {
    std::ifstream in(std::string(TK_PAGES_DIR) + "/" + name, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST_F(ServerTest, Pages_Bridge_ServedFromTheBinaryWithTheSecurityHeaders) {
    const std::string port = std::to_string(port_);
    const std::string policy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src ws://127.0.0.1:" +
        port + " ws://localhost:" + port + " ws://[::1]:" + port +
        "; frame-ancestors 'none'; form-action 'none'; base-uri 'none'";
    for (const auto& [path, file, type] :
         {std::tuple<std::string, std::string, std::string>{"/bridge", "bridge.html",
                                                            "text/html; charset=utf-8"},
          {"/bridge.js", "bridge.js", "text/javascript; charset=utf-8"},
          {"/bridge.css", "bridge.css", "text/css; charset=utf-8"}}) {
        const auto r = httpGet("127.0.0.1", port_, path, hostHeader());
        ASSERT_EQ(r.status, 200) << path;
        EXPECT_EQ(r.body, sourceFile(file)) << path;
        EXPECT_FALSE(r.body.empty());
        EXPECT_EQ(r.headers.at("content-type"), type);
        EXPECT_EQ(r.headers.at("content-security-policy"), policy);
        EXPECT_EQ(r.headers.at("x-frame-options"), "DENY");
        EXPECT_EQ(r.headers.at("x-content-type-options"), "nosniff");
        EXPECT_EQ(r.headers.at("referrer-policy"), "no-referrer");
        EXPECT_EQ(r.headers.at("cache-control"), "no-store");
        for (const auto& [name, value] : r.headers) {
            EXPECT_NE(name.rfind("access-control-", 0), 0u) << name;
            EXPECT_NE(name, "cross-origin-opener-policy");
        }
    }
    EXPECT_EQ(httpGet("::1", port_, "/bridge", "[::1]:" + port).status, 200);
    expectRefusal(httpGet("127.0.0.1", port_, "/bridge.html", hostHeader()), 404);
}

TEST_F(ServerTest, Pages_ForeignHost_Refused403) {
    for (const std::string path : {"/bridge", "/bridge.js"}) {
        expectRefusal(httpGet("127.0.0.1", port_, path, "evil.example:" + std::to_string(port_)),
                      403);
    }
}

// ---- bridge connections ----

std::string reasonOf(const json& response) {
    return response["error"]["data"]["reason"].get<std::string>();
}

TEST_F(ServerTest, Bridge_OwnOrigin_OnlyAttachFirstThenJudgedAsTheAttachedOrigin) {
    const std::string own = "http://127.0.0.1:" + std::to_string(port_);
    auto bridge = client(own);
    EXPECT_EQ(reasonOf(bridge->call("system.info")), "NOT_ATTACHED");
    EXPECT_EQ(reasonOf(bridge->call("readers.list")), "NOT_ATTACHED");
    EXPECT_EQ(api_.callCount(), 0);

    const auto attached = bridge->call("bridge.attach", {{"origin", kPortal}});
    EXPECT_EQ(attached["result"], (json{{"origin", kPortal}, {"pagePins", true}}));
    // The service sees the attached origin, never the bridge's own.
    EXPECT_EQ(bridge->call("system.info")["result"]["origin"], kPortal);
    // kPortal's entry has the default set: no manage.
    const auto refused = bridge->call("pin.verify");
    EXPECT_EQ(reasonOf(refused), "NOT_PERMITTED");
    EXPECT_EQ(refused["error"]["data"]["capability"], "manage");
    EXPECT_EQ(reasonOf(bridge->call("bridge.attach", {{"origin", kAdmin}})), "ALREADY_ATTACHED");
    EXPECT_EQ(bridge->call("system.info")["result"]["origin"], kPortal);

    auto viaLocalhost = client("http://localhost:" + std::to_string(port_));
    EXPECT_EQ(viaLocalhost->call("bridge.attach", {{"origin", kAdmin}})["result"]["origin"],
              kAdmin);
    EXPECT_EQ(reasonOf(viaLocalhost->call("pin.verify")), "NO_CARD");  // manage granted
}

TEST_F(ServerTest, PagePinsOff_PageRequestsWithSecretsRefused_BridgeToldAndItsPinsPass) {
    server_.reset();
    startServer({}, false);
    auto portal = client(kPortal);
    for (const std::string member : {"pin", "newPin", "puk", "newPuk"}) {
        EXPECT_EQ(reasonOf(portal->call("sign", {{"certificateId", "c"}, {member, "123456"}})),
                  "PAGE_PIN_REFUSED")
            << member;
    }
    EXPECT_EQ(api_.callCount(), 0);
    EXPECT_EQ(reasonOf(portal->call("sign", {{"certificateId", "c"}})), "NO_CARD");

    auto bridge = client("http://127.0.0.1:" + std::to_string(port_));
    EXPECT_EQ(bridge->call("bridge.attach", {{"origin", kPortal}})["result"]["pagePins"], false);
    // The bridge window's own PIN entry goes through.
    EXPECT_EQ(reasonOf(bridge->call("sign", {{"certificateId", "c"}, {"pin", "123456"}})),
              "NO_CARD");
    EXPECT_EQ(api_.callCount(), 2);
}

TEST_F(ServerTest, HipkiCall_OnlyOnAnAttachedBridgeWithHipkiEnabled) {
    const std::string own = "http://127.0.0.1:" + std::to_string(port_);
    const json check{{"package", {{"func", "CheckEnvir"}}}};
    auto bridge = client(own);
    ASSERT_TRUE(bridge->call("bridge.attach", {{"origin", kPortal}}).contains("result"));
    EXPECT_EQ(reasonOf(bridge->call("hipki.call", check)), "METHOD_NOT_FOUND");  // not enabled

    server_.reset();
    startServer({}, true, true);
    const std::string ownNow = "http://127.0.0.1:" + std::to_string(port_);
    auto portal = client(kPortal);
    EXPECT_EQ(reasonOf(portal->call("hipki.call", check)), "METHOD_NOT_FOUND");
    auto waiting = client(ownNow);
    EXPECT_EQ(reasonOf(waiting->call("hipki.call", check)), "NOT_ATTACHED");
    EXPECT_EQ(api_.callCount(), 0);

    ASSERT_TRUE(waiting->call("bridge.attach", {{"origin", kPortal}}).contains("result"));
    json r = waiting->call("hipki.call", {{"package", "CheckEnvir"}});
    EXPECT_EQ(reasonOf(r), "INVALID_PARAMS");
    EXPECT_EQ(r["error"]["data"]["field"], "package");
    r = waiting->call("hipki.call", {{"package", {{"func", "CheckEnvir"}}}, {"as", kAdmin}});
    EXPECT_EQ(r["error"]["data"]["field"], "as");

    r = waiting->call("hipki.call", check);
    EXPECT_EQ(r["result"], (json{{"func", "pkcs11info"},
                                 {"ret_code", 0},
                                 {"last_error", 0},
                                 {"message", ""},
                                 {"serverVersion", "1.3.4.999999"},
                                 {"slots", json::array()}}));
    // The service saw the attached origin.
    r = waiting->call("hipki.call", {{"package", {{"func", "MakeSignature"}, {"tbs", "x"}}}});
    EXPECT_EQ(r["result"]["func"], "sign");
    EXPECT_EQ(r["result"]["ret_code"], 0x76000006);  // the scripted NO_CARD of certificates.list
    EXPECT_EQ(r["result"]["message"], "No card");
}

// ---- consent for unlisted origins ----

constexpr const char* kShop = "https://www.shop.example.co.uk";

class ConsentServerTest : public ServerTest {
  protected:
    void startWithConsent(service::ConsentConfig config) {
        server_.reset();
        records_ = std::make_shared<service::ConsentRecords>();
        startServer({}, true, false,
                    std::make_shared<const service::ConsentPolicy>(std::move(config), records_,
                                                                   [this] { return now_; }));
    }
    std::unique_ptr<WsClient> bridge() {
        return client("http://127.0.0.1:" + std::to_string(port_));
    }

    std::shared_ptr<service::ConsentRecords> records_;
    std::chrono::system_clock::time_point now_ = std::chrono::system_clock::now();
};

TEST_F(ConsentServerTest, Unlisted_OfferedWithItsDomain_OnceAttachesThisConnectionOnly) {
    startWithConsent({});
    auto b = bridge();
    const auto offered = b->call("bridge.attach", {{"origin", kShop}});
    EXPECT_EQ(offered["error"]["data"], (json{{"reason", "ORIGIN_NOT_ALLOWED"},
                                              {"consent", true},
                                              {"registrableDomain", "example.co.uk"}}));
    EXPECT_EQ(reasonOf(b->call("system.info")), "NOT_ATTACHED");
    EXPECT_EQ(reasonOf(b->call("bridge.consent", {{"decision", "maybe"}})), "INVALID_PARAMS");
    const auto once = b->call("bridge.consent", {{"decision", "once"}});
    EXPECT_EQ(once["result"], (json{{"origin", kShop}, {"pagePins", true}, {"consented", true}}));
    EXPECT_EQ(b->call("system.info")["result"]["origin"], kShop);
    // read, register, sign-cms: sign reaches the method (which allows cms only), never decrypt
    // or manage.
    EXPECT_EQ(reasonOf(b->call("register", {{"certificateId", "c"}})), "NO_CARD");
    EXPECT_EQ(reasonOf(b->call("sign", {{"certificateId", "c"}})), "NO_CARD");
    EXPECT_EQ(b->call("decrypt")["error"]["data"]["capability"], "decrypt");
    EXPECT_EQ(b->call("pin.verify")["error"]["data"]["capability"], "manage");
    EXPECT_EQ(reasonOf(b->call("bridge.consent", {{"decision", "always"}})), "ALREADY_ATTACHED");
    EXPECT_TRUE(records_->list().empty()) << "once is not stored";

    // Another window asks again.
    auto second = bridge();
    EXPECT_EQ(second->call("bridge.attach", {{"origin", kShop}})["error"]["data"]["consent"], true);
}

TEST_F(ConsentServerTest, Always_StoredAttachesAtOnceUntilItExpires) {
    startWithConsent({true, {}, 180});
    auto b = bridge();
    b->call("bridge.attach", {{"origin", kShop}});
    EXPECT_EQ(b->call("bridge.consent", {{"decision", "always"}})["result"]["consented"], true);
    ASSERT_EQ(records_->list().size(), 1u);
    EXPECT_EQ(records_->list()[0].origin, kShop);

    auto next = bridge();
    EXPECT_EQ(next->call("bridge.attach", {{"origin", kShop}})["result"],
              (json{{"origin", kShop}, {"pagePins", true}, {"consented", true}}));
    now_ += std::chrono::days{180};
    auto late = bridge();
    EXPECT_EQ(late->call("bridge.attach", {{"origin", kShop}})["error"]["data"]["consent"], true);
}

TEST_F(ConsentServerTest, NotOffered_ConsentMessageRefused) {
    startWithConsent({true, {"https://evil.example.com"}, 180});
    auto b = bridge();
    // Without an offer on this connection, a consent message counts for nothing.
    EXPECT_EQ(reasonOf(b->call("bridge.consent", {{"decision", "always"}})), "NOT_ATTACHED");
    for (const std::string origin : {"https://evil.example.com", "http://shop.example.com"}) {
        const auto refused = b->call("bridge.attach", {{"origin", origin}});
        EXPECT_EQ(refused["error"]["data"], (json{{"reason", "ORIGIN_NOT_ALLOWED"}})) << origin;
        EXPECT_EQ(reasonOf(b->call("bridge.consent", {{"decision", "once"}})), "NOT_ATTACHED");
    }
    // An offer stands only until the next attach on the connection.
    EXPECT_EQ(b->call("bridge.attach", {{"origin", kShop}})["error"]["data"]["consent"], true);
    b->call("bridge.attach", {{"origin", "https://evil.example.com"}});
    EXPECT_EQ(reasonOf(b->call("bridge.consent", {{"decision", "once"}})), "NOT_ATTACHED");
    // A page's own connection knows no bridge.consent.
    auto portal = client(kPortal);
    EXPECT_EQ(reasonOf(portal->call("bridge.consent", {{"decision", "once"}})), "METHOD_NOT_FOUND");

    startWithConsent({false, {}, 180});
    auto disabled = bridge();
    EXPECT_EQ(disabled->call("bridge.attach", {{"origin", kShop}})["error"]["data"],
              (json{{"reason", "ORIGIN_NOT_ALLOWED"}}));
    EXPECT_TRUE(records_->list().empty());
}

TEST_F(ServerTest, Bridge_AttachFromAPortalConnection_MethodNotFound) {
    auto portal = client(kPortal);
    EXPECT_EQ(reasonOf(portal->call("bridge.attach", {{"origin", kAdmin}})), "METHOD_NOT_FOUND");
    EXPECT_EQ(portal->call("system.info")["result"]["origin"], kPortal);
}

TEST_F(ServerTest, Bridge_AttachToUnlistedOrInvalidOrigin_Refused) {
    const std::string own = "http://127.0.0.1:" + std::to_string(port_);
    auto bridge = client(own);
    EXPECT_EQ(reasonOf(bridge->call("bridge.attach", {{"origin", "https://evil.example"}})),
              "ORIGIN_NOT_ALLOWED");
    for (const json& params :
         {json{{"origin", own}}, json{{"origin", "http://localhost:" + std::to_string(port_)}},
          json{{"origin", "null"}}, json{{"origin", kPortal + "/"}},
          json{{"origin", "HTTPS://portal.example.gov.tw"}}, json{{"origin", 7}}, json::object()}) {
        const auto r = bridge->call("bridge.attach", params);
        EXPECT_EQ(reasonOf(r), "INVALID_PARAMS") << params;
        EXPECT_EQ(r["error"]["data"]["field"], "origin") << params;
    }
    const auto extra = bridge->call("bridge.attach", {{"origin", kPortal}, {"as", kAdmin}});
    EXPECT_EQ(extra["error"]["data"]["field"], "as");
    // Still unattached after refusals; a valid attach then works.
    EXPECT_EQ(reasonOf(bridge->call("system.info")), "NOT_ATTACHED");
    EXPECT_EQ(bridge->call("bridge.attach", {{"origin", kPortal}})["result"]["origin"], kPortal);
}

TEST_F(ServerTest, Bridge_OriginOfAnotherPort_IsNoBridge) {
    expectRefusal(handshake({hostHeader(), "http://127.0.0.1:1", "tenderkey.v1"}), 403);
    expectRefusal(
        handshake({hostHeader(), "https://127.0.0.1:" + std::to_string(port_), "tenderkey.v1"}),
        403);
}

TEST_F(ServerTest, Bridge_Reload_AttachedOriginRemoved_Closed1008UnattachedKept) {
    const std::string own = "http://127.0.0.1:" + std::to_string(port_);
    auto attached = client(own);
    ASSERT_TRUE(attached->call("bridge.attach", {{"origin", kPortal}}).contains("result"));
    auto waiting = client(own);
    server_->replaceOrigins(lookupOf({{kAdmin, Capabilities::defaults()}}));
    EXPECT_EQ(attached->readCloseCode(), 1008);
    EXPECT_EQ(reasonOf(waiting->call("bridge.attach", {{"origin", kPortal}})),
              "ORIGIN_NOT_ALLOWED");
    EXPECT_EQ(waiting->call("bridge.attach", {{"origin", kAdmin}})["result"]["origin"], kAdmin);
}

TEST_F(ServerTest, Bridge_SelfTest_ReadOnlyAsItsOwnOrigin_AttachesNowhere_KeptOnReload) {
    const std::string own = "http://127.0.0.1:" + std::to_string(port_);
    auto page = client(own);
    EXPECT_EQ(reasonOf(page->call("bridge.selfTest", {{"origin", kPortal}})), "INVALID_PARAMS");
    EXPECT_EQ(page->call("bridge.selfTest")["result"], (json{{"origin", own}, {"pagePins", true}}));
    EXPECT_EQ(page->call("system.info")["result"]["origin"], own);
    EXPECT_EQ(page->call("sign", {{"certificateId", "c"}})["error"]["data"]["capability"], "sign");
    EXPECT_EQ(page->call("decrypt")["error"]["data"]["capability"], "decrypt");
    EXPECT_EQ(page->call("register")["error"]["data"]["capability"], "register");
    EXPECT_EQ(reasonOf(page->call("bridge.attach", {{"origin", kPortal}})), "ALREADY_ATTACHED");
    EXPECT_EQ(reasonOf(page->call("bridge.selfTest")), "ALREADY_ATTACHED");
    // No site's connection has it.
    EXPECT_EQ(reasonOf(client(kPortal)->call("bridge.selfTest")), "METHOD_NOT_FOUND");
    // Its own origin is no allow-list entry: a reload leaves it open.
    server_->replaceOrigins(lookupOf({{kAdmin, Capabilities::defaults()}}));
    EXPECT_EQ(page->call("system.info")["result"]["origin"], own);
}

TEST_F(ServerTest, Pages_SelfTest_OnlyToATopLevelNavigation) {
    const std::string navigation = "Sec-Fetch-Dest: document\r\nSec-Fetch-Mode: navigate\r\n";
    const auto r = httpGet("127.0.0.1", port_, "/selfTest.htm", hostHeader(), navigation);
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.body, sourceFile("selfTest.htm"));
    EXPECT_EQ(r.headers.at("content-type"), "text/html; charset=utf-8");
    EXPECT_EQ(r.headers.at("x-frame-options"), "DENY");
    EXPECT_EQ(r.headers.at("cross-origin-opener-policy"), "same-origin");
    for (const std::string headers :
         {"", "Sec-Fetch-Dest: document\r\n", "Sec-Fetch-Mode: navigate\r\n",
          "Sec-Fetch-Dest: iframe\r\nSec-Fetch-Mode: navigate\r\n",
          "Sec-Fetch-Dest: empty\r\nSec-Fetch-Mode: no-cors\r\n",
          "Sec-Fetch-Dest: script\r\nSec-Fetch-Mode: no-cors\r\n"}) {
        expectRefusal(httpGet("127.0.0.1", port_, "/selfTest.htm", hostHeader(), headers), 403);
    }
    // Its script holds no data: served as every page is.
    EXPECT_EQ(httpGet("127.0.0.1", port_, "/selfTest.js", hostHeader()).status, 200);
}

TEST_F(ServerTest, Pages_StatusImage_OnlyWithHipki_SameBytesForEveryCaller) {
    expectRefusal(httpGet("127.0.0.1", port_, "/p11Image.bmp", hostHeader()), 404);
    server_.reset();
    startServer({}, true, true);
    const auto first = httpGet("127.0.0.1", port_, "/p11Image.bmp", hostHeader());
    ASSERT_EQ(first.status, 200);
    EXPECT_EQ(first.body, service::hipki::statusImage("1.3.4.999999"));
    EXPECT_EQ(first.headers.at("content-type"), "image/bmp");
    EXPECT_EQ(first.headers.at("cache-control"), "no-store");
    EXPECT_EQ(first.headers.at("vary"), "Origin");
    EXPECT_EQ(first.headers.at("access-control-allow-origin"), "*");
    EXPECT_EQ(first.headers.at("x-content-type-options"), "nosniff");
    for (const std::string headers :
         {"Origin: https://evil.example\r\n", "Origin: null\r\n",
          "Referer: https://web.pcc.gov.tw/tps/\r\n",
          "Origin: https://web.pcc.gov.tw\r\nSec-Fetch-Site: cross-site\r\n"}) {
        const auto r =
            httpGet("127.0.0.1", port_, "/p11Image.bmp?1765000000", hostHeader(), headers);
        EXPECT_EQ(r.body, first.body) << headers;
        EXPECT_EQ(r.headers.at("access-control-allow-origin"), "*") << headers;
    }
    expectRefusal(httpGet("127.0.0.1", port_, "/p11Image.bmp", "evil.com:" + std::to_string(port_)),
                  403);
}

// ---- framing ----

TEST_F(ServerTest, Frame_Binary_ClosesWith1003) {
    auto c = client();
    c->sendFrame(2, R"({"jsonrpc":"2.0","id":1,"method":"system.info"})");
    EXPECT_EQ(c->readCloseCode(), 1003);
    EXPECT_EQ(api_.callCount(), 0);
}

TEST_F(ServerTest, Frame_InvalidUtf8_ClosesWith1007) {
    auto c = client();
    c->sendText("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xff\"}");
    EXPECT_EQ(c->readCloseCode(), 1007);
}

TEST_F(ServerTest, Message_LargerThanLimitInOneFrame_ClosesWith1009WhileClientSends) {
    auto c = client();
    const std::string big(3 * 1024 * 1024, 'a');
    // The client keeps sending while the server has already refused; the close frame must
    // still reach it.
    std::thread sender([&] {
        try {
            c->sendText(big);
        } catch (const std::exception&) {
            // the server may reset the connection once it gave up waiting
        }
    });
    const int code = c->readCloseCode(20s);
    sender.join();
    EXPECT_EQ(code, 1009);
    EXPECT_EQ(api_.callCount(), 0);
}

TEST_F(ServerTest, Message_LargerThanLimitAcrossFragments_ClosesWith1009) {
    auto c = client();
    const std::string part(300 * 1024, ' ');
    c->sendFrame(1, "[" + part, false);
    for (int i = 0; i < 3; ++i) {
        c->sendFrame(0, part, false);
    }
    EXPECT_EQ(c->readCloseCode(), 1009);
}

TEST_F(ServerTest, Message_ExactlyAtLimitAndFragmented_IsRead) {
    auto c = client();
    const std::string head = R"({"jsonrpc":"2.0","id":5,"method":"system.info","params":{}})";
    const std::string text = head + std::string(1024 * 1024 - head.size(), ' ');
    c->expectResponse(5, "system.info");
    c->sendFrame(1, text.substr(0, 1000), false);
    c->sendFrame(0, text.substr(1000, 500000), false);
    c->sendFrame(0, text.substr(501000), true);
    const auto r = c->responseTo(5);
    EXPECT_EQ(r["result"]["origin"], kPortal);
}

// ---- JSON-RPC envelope ----

TEST_F(ServerTest, Envelope_NotJson_ParseErrorWithNullId) {
    auto c = client();
    for (const char* text : {"{", "", "not json", R"({"a":"\ud800"})", "[1,]"}) {
        const auto r = exchange(*c, text);
        EXPECT_EQ(r["id"], nullptr);
        EXPECT_EQ(r["error"]["code"], -32700) << text;
        EXPECT_EQ(r["error"]["data"]["reason"], "PARSE_ERROR");
    }
}

TEST_F(ServerTest, Envelope_NestingDeeperThan16_ParseError) {
    auto c = client();
    const auto nested = [](int depth) {
        std::string params = "1";
        for (int i = 0; i < depth - 2; ++i) {
            params = "[" + params + "]";
        }
        return R"({"jsonrpc":"2.0","id":1,"method":"system.info","params":{"x":)" + params + "}}";
    };
    EXPECT_EQ(exchange(*c, nested(17))["error"]["data"]["reason"], "PARSE_ERROR");
    // 16 levels are read; the fake service then answers the call.
    EXPECT_TRUE(exchange(*c, nested(16)).contains("result"));
}

TEST_F(ServerTest, Envelope_Batch_OneInvalidRequestAndNothingRuns) {
    auto c = client();
    for (
        const std::string text :
        {R"([{"jsonrpc":"2.0","id":1,"method":"system.info"},{"jsonrpc":"2.0","id":2,"method":"system.info"}])",
         "[]"}) {
        const auto r = exchange(*c, text);
        EXPECT_EQ(r["id"], nullptr);
        EXPECT_EQ(r["error"]["data"]["reason"], "INVALID_REQUEST");
    }
    EXPECT_FALSE(c->readFrame(300ms).has_value()) << "a batch got more than one answer";
    EXPECT_EQ(api_.callCount(), 0);
}

TEST_F(ServerTest, Envelope_NotificationOrNullId_InvalidRequestWithNullId) {
    auto c = client();
    for (const char* text : {R"({"jsonrpc":"2.0","method":"system.info"})",
                             R"({"jsonrpc":"2.0","id":null,"method":"system.info"})",
                             R"({"jsonrpc":"2.0","id":1.5,"method":"system.info"})",
                             R"({"jsonrpc":"2.0","id":9007199254740992,"method":"system.info"})",
                             R"({"jsonrpc":"2.0","id":"","method":"system.info"})",
                             R"({"jsonrpc":"2.0","id":true,"method":"system.info"})"}) {
        const auto r = exchange(*c, text);
        EXPECT_EQ(r["id"], nullptr) << text;
        EXPECT_EQ(r["error"]["data"]["reason"], "INVALID_REQUEST") << text;
    }
    EXPECT_EQ(api_.callCount(), 0);
}

TEST_F(ServerTest, Envelope_BadMembers_InvalidRequestWithTheId) {
    auto c = client();
    for (const char* text :
         {R"({"jsonrpc":"1.0","id":3,"method":"system.info"})",
          R"({"id":3,"method":"system.info"})", R"({"jsonrpc":"2.0","id":3,"method":""})",
          R"({"jsonrpc":"2.0","id":3,"method":7})",
          R"({"jsonrpc":"2.0","id":3,"method":"system.info","params":5})",
          R"({"jsonrpc":"2.0","id":3,"method":"system.info","x":1})"}) {
        const auto r = exchange(*c, text);
        EXPECT_EQ(r["id"], 3) << text;
        EXPECT_EQ(r["error"]["data"]["reason"], "INVALID_REQUEST") << text;
    }
}

TEST_F(ServerTest, Envelope_RepeatedMember_InvalidRequestWithNullId) {
    auto c = client();
    const auto r =
        exchange(*c, R"({"jsonrpc":"2.0","id":4,"method":"system.info","params":{"a":1,"a":2}})");
    EXPECT_EQ(r["id"], nullptr);
    EXPECT_EQ(r["error"]["data"]["reason"], "INVALID_REQUEST");
}

TEST_F(ServerTest, Envelope_IdsEchoed_IntegralFloatAsInteger) {
    auto c = client();
    EXPECT_EQ(exchange(*c, R"({"jsonrpc":"2.0","id":"abc-1","method":"system.info"})")["id"],
              "abc-1");
    const auto r = exchange(*c, R"({"jsonrpc":"2.0","id":7.0,"method":"system.info"})");
    EXPECT_TRUE(r["id"].is_number_integer());
    EXPECT_EQ(r["id"], 7);
    EXPECT_EQ(
        exchange(*c, R"({"jsonrpc":"2.0","id":-9007199254740991,"method":"system.info"})")["id"],
        -9007199254740991LL);
}

TEST_F(ServerTest, Envelope_UnknownMethod_MethodNotFound) {
    auto c = client();
    const auto r = exchange(*c, R"({"jsonrpc":"2.0","id":1,"method":"card.format"})");
    EXPECT_EQ(r["error"]["code"], -32601);
    EXPECT_EQ(r["error"]["data"]["reason"], "METHOD_NOT_FOUND");
    EXPECT_EQ(api_.callCount(), 0);
}

TEST_F(ServerTest, Envelope_MethodOutsideCapabilities_NotPermittedNamingIt) {
    auto c = client();
    const auto r =
        exchange(*c, R"({"jsonrpc":"2.0","id":1,"method":"pin.verify","params":{"bogus":true}})");
    EXPECT_EQ(r["error"]["code"], -32050);
    EXPECT_EQ(r["error"]["data"], (json{{"reason", "NOT_PERMITTED"}, {"capability", "manage"}}));
    EXPECT_EQ(api_.callCount(), 0);
    auto admin = client(kAdmin);
    EXPECT_EQ(
        exchange(*admin,
                 R"({"jsonrpc":"2.0","id":2,"method":"pin.verify"})")["error"]["data"]["reason"],
        "NO_CARD");
}

TEST_F(ServerTest, Envelope_ParamsByPosition_InvalidParamsWithoutField) {
    auto c = client();
    const auto r = exchange(*c, R"({"jsonrpc":"2.0","id":1,"method":"readers.list","params":[]})");
    EXPECT_EQ(r["error"]["data"], (json{{"reason", "INVALID_PARAMS"}}));
}

// ---- in flight, completions, events ----

TEST_F(ServerTest, InFlight_NinthRequestBusyAtOnce_SlotFreedByAnswer) {
    api_.hold = true;
    auto c = client();
    std::vector<json> ids;
    for (int i = 0; i < 8; ++i) {
        ids.push_back(c->send("readers.list"));
    }
    auto held = api_.takeHeld(8);
    const auto busyId = c->send("readers.list");
    const auto busy = c->responseTo(busyId, 5s);
    EXPECT_EQ(busy["error"]["code"], -32020);
    EXPECT_EQ(busy["error"]["data"]["reason"], "BUSY");
    // METHOD_NOT_FOUND and NOT_PERMITTED come before BUSY.
    EXPECT_EQ(c->call("card.format")["error"]["data"]["reason"], "METHOD_NOT_FOUND");
    EXPECT_EQ(c->call("pin.verify")["error"]["data"]["reason"], "NOT_PERMITTED");
    // Answered from another thread, in reverse order.
    std::thread answer([&] {
        for (auto it = held.rbegin(); it != held.rend(); ++it) {
            it->done(json{{"readers", json::array()}}, std::nullopt);
        }
    });
    for (const auto& id : ids) {
        EXPECT_TRUE(c->responseTo(id).contains("result"));
    }
    answer.join();
    const auto next = c->send("readers.list");
    api_.takeHeld(1)[0].done(json{{"readers", json::array()}}, std::nullopt);
    EXPECT_TRUE(c->responseTo(next).contains("result"));
}

TEST_F(ServerTest, Completion_AfterClientLeft_DroppedAndServiceTold) {
    api_.hold = true;
    auto c = client();
    c->send("readers.list");
    auto held = api_.takeHeld(1);
    c.reset();
    ASSERT_TRUE(api_.waitClosed(1));
    held[0].done(json{{"readers", json::array()}}, std::nullopt);
    // The server goes on serving others.
    api_.hold = false;
    auto other = client();
    EXPECT_TRUE(other->call("system.info").contains("result"));
}

TEST_F(ServerTest, Completion_ServiceThrows_InternalWithCorrelationId) {
    api_.throwOnCall = true;
    auto c = client();
    const auto r = c->call("system.info");
    EXPECT_EQ(r["error"]["code"], -32603);
    EXPECT_EQ(r["error"]["data"]["reason"], "INTERNAL");
    EXPECT_TRUE(r["error"]["data"]["correlationId"].is_string());
}

TEST_F(ServerTest, Completion_CalledTwice_SecondDropped) {
    api_.hold = true;
    auto c = client();
    const auto id = c->send("readers.list");
    auto held = api_.takeHeld(1);
    held[0].done(json{{"readers", json::array()}}, std::nullopt);
    held[0].done(json{{"readers", json::array()}}, std::nullopt);
    EXPECT_TRUE(c->responseTo(id).contains("result"));
    EXPECT_FALSE(c->readFrame(300ms).has_value());
}

TEST_F(ServerTest, Events_PushedToConnection) {
    auto c = client();
    EXPECT_EQ(c->call("events.subscribe")["result"]["subscribed"], true);
    api_.pushEventToAll({{"type", "reader.added"}, {"reader", "Virtual PCD 00 00"}});
    const auto e = c->nextEvent();
    EXPECT_EQ(e["method"], "event");
    EXPECT_EQ(e["params"]["type"], "reader.added");
    EXPECT_FALSE(e.contains("id"));
}

// ---- reload and stop ----

TEST_F(ServerTest, Reload_OriginRemoved_ConnectionClosed1008OthersKept) {
    auto portal = client(kPortal);
    auto admin = client(kAdmin);
    server_->replaceOrigins(lookupOf({{kAdmin, Capabilities::defaults()}}));
    EXPECT_EQ(portal->readCloseCode(), 1008);
    // The admin page stays, with the new capabilities from its next request on.
    EXPECT_EQ(admin->call("pin.verify")["error"]["data"]["reason"], "NOT_PERMITTED");
    EXPECT_TRUE(admin->call("system.info").contains("result"));
    expectRefusal(handshake({hostHeader(), kPortal, "tenderkey.v1"}), 403);
}

TEST_F(ServerTest, Stop_AnswersInFlightWithinGraceThenCloses1001) {
    api_.hold = true;
    auto c = client();
    const auto id = c->send("readers.list");
    auto held = api_.takeHeld(1);
    std::thread answer([&] {
        std::this_thread::sleep_for(300ms);
        held[0].done(json{{"readers", json::array()}}, std::nullopt);
    });
    const auto start = std::chrono::steady_clock::now();
    std::thread stopper([&] { server_->stop(5s); });
    EXPECT_TRUE(c->responseTo(id).contains("result"));
    EXPECT_EQ(c->readCloseCode(), 1001);
    stopper.join();
    answer.join();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TEST_F(ServerTest, Stop_WorkNotDoneInGrace_ClosedAnyway) {
    api_.hold = true;
    auto c = client();
    c->send("readers.list");
    auto held = api_.takeHeld(1);
    const auto start = std::chrono::steady_clock::now();
    server_->stop(500ms);
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_GE(took, 500ms);
    EXPECT_LT(took, 3s);
    EXPECT_EQ(c->readCloseCode(), 1001);
    held[0].done(json{{"readers", json::array()}}, std::nullopt);  // late: dropped
}

TEST(ServerListeners, NonLoopbackAddress_Refused) {
    FakeApi api;
    for (const char* address : {"0.0.0.0", "::", "192.168.1.10", "example.com", ""}) {
        server::ServerSettings settings;
        settings.listeners = {service::ListenerConfig{address, 61261, {}, {}}};
        EXPECT_THROW(server::Server(api, settings, {}), server::ServerError) << address;
    }
}

TEST(ServerListeners, PortInUse_StartFailsWithServerError) {
    FakeApi api;
    const auto port = freePort();
    server::ServerSettings settings;
    settings.listeners = {service::ListenerConfig{"127.0.0.1", port, {}, {}}};
    server::Server first(api, settings, {});
    first.start();
    server::Server second(api, settings, {});
    EXPECT_THROW(second.start(), server::ServerError);
}

// A socket listening on address:port, as a service manager hands it to the daemon.
int listeningSocket(const std::string& address, std::uint16_t port) {
    const bool ipv6 = address.find(':') != std::string::npos;
    const int fd = socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_storage storage{};
    socklen_t length = 0;
    if (ipv6) {
        const int only = 1;
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &only, sizeof(only));
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        inet_pton(AF_INET6, address.c_str(), &in6->sin6_addr);
        length = sizeof(sockaddr_in6);
    } else {
        auto* in = reinterpret_cast<sockaddr_in*>(&storage);
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        inet_pton(AF_INET, address.c_str(), &in->sin_addr);
        length = sizeof(sockaddr_in);
    }
    if (bind(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0 || listen(fd, 16) != 0) {
        ::close(fd);
        throw std::runtime_error("cannot listen on " + address);
    }
    return fd;
}

TEST(ServerListeners, InheritedSockets_AdoptedAndServedOnBothAddresses) {
    FakeApi api;
    const auto port = freePort();
    server::ServerSettings settings;
    settings.listeners = {service::ListenerConfig{"localhost", port, {}, {}}};
    settings.version = "0.1.0";
    // The port is held before the server starts: it must take these sockets, not bind its own
    // (binding would fail: the address is in use).
    settings.inherited = {{"127.0.0.1", port, listeningSocket("127.0.0.1", port)},
                          {"::1", port, listeningSocket("::1", port)}};
    server::Server server(api, settings, lookupOf({{kPortal, Capabilities::defaults()}}));
    server.start();
    const std::string p = std::to_string(port);
    EXPECT_EQ(httpGet("127.0.0.1", port, "/health", "127.0.0.1:" + p).status, 200);
    EXPECT_EQ(httpGet("::1", port, "/health", "[::1]:" + p).status, 200);
    // The handshake checks apply to adopted connections: a foreign Origin is refused.
    for (const std::string address : {"127.0.0.1", "::1"}) {
        const std::string host = address == "::1" ? "[::1]:" + p : address + ":" + p;
        WsClient ok(address, port);
        EXPECT_EQ(ok.handshake({host, kPortal, "tenderkey.v1"}).status, 101) << address;
        EXPECT_TRUE(ok.call("system.info").contains("result")) << address;
        WsClient refused(address, port);
        EXPECT_EQ(refused.handshake({host, "https://evil.example", "tenderkey.v1"}).status, 403)
            << address;
    }
}

TEST(ServerListeners, InheritedSocket_NotConfigured_StartRefused) {
    FakeApi api;
    const auto port = freePort();
    server::ServerSettings settings;
    settings.listeners = {service::ListenerConfig{"127.0.0.1", port, {}, {}}};
    settings.inherited = {{"::1", port, listeningSocket("::1", port)}};
    server::Server server(api, settings, {});
    try {
        server.start();
        ADD_FAILURE() << "a server started beside an inherited socket it does not serve";
    } catch (const server::ServerError& e) {
        EXPECT_NE(std::string(e.what()).find("is not one of the configured listeners"),
                  std::string::npos)
            << e.what();
    }
}

}  // namespace
}  // namespace tk::test

namespace tk::test {
namespace {

// Sends `request` over TLS to 127.0.0.1:port and returns the response head.
std::string tlsExchange(std::uint16_t port, const std::string& request) {
    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                          SSL_CTX_free);
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(port);
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&in), sizeof(in)) != 0) {
        ::close(fd);
        throw std::runtime_error("connect failed");
    }
    std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
    SSL_set_fd(ssl.get(), fd);
    std::string head;
    if (SSL_connect(ssl.get()) == 1 &&
        SSL_write(ssl.get(), request.data(), static_cast<int>(request.size())) > 0) {
        char buffer[4096];
        while (head.find("\r\n\r\n") == std::string::npos) {
            const int n = SSL_read(ssl.get(), buffer, sizeof(buffer));
            if (n <= 0) {
                break;
            }
            head.append(buffer, static_cast<std::size_t>(n));
        }
    }
    ::close(fd);
    return head;
}

TEST(ServerTls, CertificateAndKey_ListenerSpeaksWssWithTheSameChecks) {
    const auto dir =
        std::filesystem::temp_directory_path() / ("tk-server-tls-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string cert = (dir / "cert.pem").string();
    const std::string key = (dir / "key.pem").string();
    const std::string command =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
        "-subj /CN=localhost -keyout " +
        key + " -out " + cert + " 2>/dev/null";
    ASSERT_EQ(std::system(command.c_str()), 0);
    FakeApi api;
    const auto port = freePort();
    server::ServerSettings settings;
    settings.listeners = {service::ListenerConfig{"127.0.0.1", port, cert, key}};
    server::Server server(api, settings, lookupOf({{kPortal, Capabilities::defaults()}}));
    server.start();
    EXPECT_EQ(server.endpoints().at(0).url(), "wss://127.0.0.1:" + std::to_string(port) + "/");
    const std::string upgrade =
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: tenderkey.v1\r\n"
        "Origin: " +
        kPortal + "\r\n\r\n";
    const std::string good = tlsExchange(
        port, "GET / HTTP/1.1\r\nHost: localhost:" + std::to_string(port) + "\r\n" + upgrade);
    EXPECT_EQ(good.rfind("HTTP/1.1 101", 0), 0u) << good;
    const std::string rebinding = tlsExchange(
        port, "GET / HTTP/1.1\r\nHost: evil.example:" + std::to_string(port) + "\r\n" + upgrade);
    EXPECT_EQ(rebinding.rfind("HTTP/1.1 403", 0), 0u) << rebinding;
    // Plain HTTP on the TLS port gets nothing.
    EXPECT_EQ(httpGet("127.0.0.1", port, "/health", "127.0.0.1:" + std::to_string(port)).status, 0);
    server.stop(std::chrono::milliseconds(0));
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tk::test
