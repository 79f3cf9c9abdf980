#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "service/reasons.hpp"

namespace tk::service {
namespace {

nlohmann::json protocolErrors() {
    std::ifstream file(std::string(TK_SOURCE_DIR) + "/protocol/errors.json");
    EXPECT_TRUE(file) << "protocol/errors.json not found";
    return nlohmann::json::parse(file);
}

TEST(ReasonTable, EqualsProtocolErrorsJson) {
    const nlohmann::json reasons = protocolErrors().at("reasons");
    std::set<std::string> seen;
    for (const ReasonInfo& info : allReasons()) {
        const std::string name(info.name);
        ASSERT_TRUE(reasons.contains(name)) << name << " is not in protocol/errors.json";
        EXPECT_EQ(reasons[name].at("code").get<int>(), info.code) << name;
        EXPECT_EQ(reasons[name].at("message").get<std::string>(), info.message) << name;
        seen.insert(name);
    }
    for (const auto& [name, entry] : reasons.items()) {
        EXPECT_TRUE(seen.contains(name)) << name << " of protocol/errors.json is missing in C++";
    }
    EXPECT_EQ(seen.size(), reasons.size());
}

TEST(ReasonTable, LookupByEnumGivesItsOwnRow) {
    for (const ReasonInfo& info : allReasons()) {
        EXPECT_EQ(reasonInfo(info.reason).name, info.name);
    }
}

TEST(MakeError, AppendsDetailAndKeepsData) {
    const ApiError error = makeError(Reason::PinIncorrect, "second try", {{"retriesLeft", 1}});
    EXPECT_EQ(error.reason, "PIN_INCORRECT");
    EXPECT_EQ(error.code, -32032);
    EXPECT_EQ(error.message, "Incorrect PIN: second try");
    EXPECT_EQ(error.data, (nlohmann::json{{"retriesLeft", 1}}));
    EXPECT_EQ(makeError(Reason::Busy).message, "Too many requests in flight on this connection");
}

}  // namespace
}  // namespace tk::service
