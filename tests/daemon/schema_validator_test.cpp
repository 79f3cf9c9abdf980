// The test-side JSON Schema validator must reject what the schemas forbid, or the schema
// checks of the other tests could not fail.

#include <gtest/gtest.h>

#include "support/schema_validator.hpp"

namespace tk::test {
namespace {

using json = nlohmann::json;

const ProtocolSchemas& schemas() {
    static const ProtocolSchemas instance(TK_PROTOCOL_SCHEMA_DIR);
    return instance;
}

TEST(SchemaValidator, ValidMessages_Pass) {
    EXPECT_TRUE(
        schemas()
            .failure(json::parse(
                R"({"jsonrpc":"2.0","id":7,"error":{"code":-32032,"message":"Incorrect PIN","data":{"reason":"PIN_INCORRECT","retriesLeft":2}}})"))
            .empty());
    EXPECT_TRUE(
        schemas()
            .success(
                "pin.status",
                json::parse(
                    R"({"jsonrpc":"2.0","id":5,"result":{"retriesLeft":3,"blocked":false,"pinpad":false}})"))
            .empty());
    EXPECT_TRUE(
        schemas()
            .notification(json::parse(
                R"({"jsonrpc":"2.0","method":"event","params":{"type":"reader.removed","reader":"R"}})"))
            .empty());
}

TEST(SchemaValidator, WrongMessages_Fail) {
    // Wrong code for the reason, unknown member, missing member, wrong type, bad event.
    EXPECT_FALSE(
        schemas()
            .failure(json::parse(
                R"({"jsonrpc":"2.0","id":7,"error":{"code":-32000,"message":"x","data":{"reason":"PIN_INCORRECT","retriesLeft":2}}})"))
            .empty());
    EXPECT_FALSE(
        schemas()
            .success(
                "pin.status",
                json::parse(
                    R"({"jsonrpc":"2.0","id":5,"result":{"retriesLeft":3,"blocked":false,"pinpad":false,"x":1}})"))
            .empty());
    EXPECT_FALSE(
        schemas()
            .success("pin.status",
                     json::parse(
                         R"({"jsonrpc":"2.0","id":5,"result":{"retriesLeft":3,"blocked":false}})"))
            .empty());
    EXPECT_FALSE(
        schemas()
            .success(
                "pin.status",
                json::parse(
                    R"({"jsonrpc":"2.0","id":5.5,"result":{"retriesLeft":3,"blocked":false,"pinpad":false}})"))
            .empty());
    EXPECT_FALSE(
        schemas()
            .notification(json::parse(
                R"({"jsonrpc":"2.0","method":"event","params":{"type":"card.removed","reader":"R"}})"))
            .empty());
    EXPECT_FALSE(
        schemas().health(json::parse(R"({"status":"ok","version":"1","readers":1})")).empty());
}

}  // namespace
}  // namespace tk::test
