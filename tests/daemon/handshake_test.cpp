// The pure parts of the server: Host and subprotocol checks, the order of the handshake
// checks, request reading, and the method table against protocol/schema/index.json.

#include <gtest/gtest.h>

#include <fstream>

#include "server/handshake.hpp"
#include "server/json_rpc.hpp"
#include "service/capabilities.hpp"

namespace tk::server {
namespace {

using json = nlohmann::json;

TEST(HostCheck, LoopbackNamesWithThePort_Accepted) {
    EXPECT_TRUE(isLoopbackHost("127.0.0.1:61261", 61261, false));
    EXPECT_TRUE(isLoopbackHost("[::1]:61261", 61261, false));
    EXPECT_TRUE(isLoopbackHost("localhost:61261", 61261, false));
    EXPECT_TRUE(isLoopbackHost("LocalHost:61261", 61261, true));
}

TEST(HostCheck, RebindingNamesOtherPortsAndJunk_Refused) {
    for (const char* host :
         {"evil.example:61261", "127.0.0.1:61262", "127.0.0.1:", "127.0.0.1", "[::1]", "localhost",
          "127.0.0.1:061261x", "127.1:61261", "localhost.:61261", "::1:61261", "[::1]:99999", "",
          "localhost:61261:61261", "evil.localhost:61261"}) {
        EXPECT_FALSE(isLoopbackHost(host, 61261, false)) << host;
    }
}

TEST(HostCheck, NoPort_OnlyForTheSchemeDefault) {
    EXPECT_TRUE(isLoopbackHost("localhost", 80, false));
    EXPECT_TRUE(isLoopbackHost("127.0.0.1", 443, true));
    EXPECT_FALSE(isLoopbackHost("127.0.0.1", 443, false));
}

TEST(SubprotocolCheck, OfferedAmongOthers_Accepted) {
    EXPECT_TRUE(offersSubprotocol("tenderkey.v1"));
    EXPECT_TRUE(offersSubprotocol("chat,  tenderkey.v1 ,x"));
    EXPECT_FALSE(offersSubprotocol("tenderkey.v1x"));
    EXPECT_FALSE(offersSubprotocol("TenderKey.v1"));
    EXPECT_FALSE(offersSubprotocol(""));
    EXPECT_FALSE(offersSubprotocol(std::string(64, 'a') + ",tenderkey.v1"));
    EXPECT_FALSE(offersSubprotocol(std::string(120, ' ') + ",tenderkey.v1"));
}

UpgradeRequest goodRequest() {
    return {"127.0.0.1:61261",
            "https://a.example",
            "tenderkey.v1",
            "websocket",
            "Upgrade",
            "13",
            "dGhlIHNhbXBsZSBub25jZQ=="};
}

OriginLookup onlyA() {
    return [](std::string_view o) -> std::optional<service::Capabilities> {
        if (o == "https://a.example") {
            return service::Capabilities::defaults();
        }
        return std::nullopt;
    };
}

TEST(HandshakeOrder, HostOriginSubprotocolLimit) {
    const ListenerFacts listener{61261, false};
    EXPECT_EQ(judgeUpgrade(goodRequest(), listener, onlyA(), 0, 32).status, 0);
    EXPECT_EQ(judgeUpgrade(goodRequest(), listener, onlyA(), 0, 32).capabilities,
              service::Capabilities::defaults());

    auto r = goodRequest();
    r.host = "evil.example:61261";
    r.origin = std::nullopt;
    r.subprotocols = std::nullopt;
    EXPECT_EQ(judgeUpgrade(r, listener, onlyA(), 32, 32).status, 403);
    r.host = "127.0.0.1:61261";
    EXPECT_EQ(judgeUpgrade(r, listener, onlyA(), 32, 32).why, "origin");
    r.origin = "https://a.example";
    EXPECT_EQ(judgeUpgrade(r, listener, onlyA(), 32, 32).status, 400);
    r.subprotocols = "tenderkey.v1";
    EXPECT_EQ(judgeUpgrade(r, listener, onlyA(), 32, 32).status, 503);
    EXPECT_EQ(judgeUpgrade(r, listener, onlyA(), 31, 32).status, 0);
}

TEST(HandshakeOrder, MalformedUpgrade_Refused400) {
    const ListenerFacts listener{61261, false};
    auto r = goodRequest();
    r.version = "8";
    EXPECT_EQ(judgeUpgrade(r, listener, onlyA(), 0, 32).status, 400);
    r = goodRequest();
    r.key = std::nullopt;
    EXPECT_EQ(judgeUpgrade(r, listener, onlyA(), 0, 32).status, 400);
    r = goodRequest();
    r.connection = "keep-alive";
    EXPECT_EQ(judgeUpgrade(r, listener, onlyA(), 0, 32).status, 400);
    r = goodRequest();
    r.upgrade = "h2c";
    EXPECT_EQ(judgeUpgrade(r, listener, onlyA(), 0, 32).status, 400);
}

TEST(ReadRequest, ValidRequest_OmittedParamsIsEmptyObject) {
    const auto read = readRequest(R"({"jsonrpc":"2.0","id":"x","method":"readers.list"})");
    ASSERT_TRUE(std::holds_alternative<Request>(read));
    const auto& request = std::get<Request>(read);
    EXPECT_EQ(request.id, "x");
    EXPECT_EQ(request.method, "readers.list");
    EXPECT_EQ(request.params, json::object());
}

TEST(ReadRequest, IdRules) {
    const auto reasonAndId = [](const std::string& id) {
        const auto read =
            readRequest(R"({"jsonrpc":"2.0","id":)" + id + R"(,"method":"readers.list"})");
        if (const auto* r = std::get_if<Request>(&read)) {
            return r->id;
        }
        return json("refused");
    };
    EXPECT_EQ(reasonAndId("9007199254740991"), 9007199254740991LL);
    EXPECT_EQ(reasonAndId("-9007199254740991"), -9007199254740991LL);
    EXPECT_EQ(reasonAndId("9007199254740992"), "refused");
    EXPECT_EQ(reasonAndId("7e0"), 7);
    EXPECT_EQ(reasonAndId("7.25"), "refused");
    EXPECT_EQ(reasonAndId("1e400"), "refused");
    EXPECT_EQ(reasonAndId("\"" + std::string(128, 'a') + "\""), std::string(128, 'a'));
    EXPECT_EQ(reasonAndId("\"" + std::string(129, 'a') + "\""), "refused");
    // 128 characters, more bytes.
    std::string chinese;
    for (int i = 0; i < 128; ++i) {
        chinese += "\xe6\xa8\x99";
    }
    EXPECT_EQ(reasonAndId("\"" + chinese + "\""), chinese);
    EXPECT_EQ(reasonAndId("[1]"), "refused");
}

TEST(ErrorMessage, ReasonAddedAndDefaultsFromTable) {
    const auto m = json::parse(errorMessage(3, "BUSY"));
    EXPECT_EQ(m, (json{{"jsonrpc", "2.0"},
                       {"id", 3},
                       {"error",
                        {{"code", -32020},
                         {"message", m["error"]["message"]},
                         {"data", {{"reason", "BUSY"}}}}}}));
    EXPECT_FALSE(m["error"]["message"].get<std::string>().empty());
    service::ApiError e;
    e.reason = "PIN_INCORRECT";
    e.data = {{"retriesLeft", 2}};
    const auto p = json::parse(errorMessage("a", e));
    EXPECT_EQ(p["error"]["code"], -32032);
    EXPECT_EQ(p["error"]["data"], (json{{"reason", "PIN_INCORRECT"}, {"retriesLeft", 2}}));
}

TEST(MethodTable, AgreesWithProtocolIndex) {
    std::ifstream in(std::string(TK_PROTOCOL_SCHEMA_DIR) + "/index.json");
    const auto index = json::parse(in);
    EXPECT_EQ(index["methods"].size(), service::apiMethods().size());
    for (const auto& [name, entry] : index["methods"].items()) {
        const service::MethodInfo* m = service::findMethod(name);
        ASSERT_NE(m, nullptr) << name;
        EXPECT_EQ(service::capabilityName(m->capability), entry["capability"].get<std::string>())
            << name;
    }
}

}  // namespace
}  // namespace tk::server
