// The package of a local program's POST to the HiPKI listener (docs/hipki.md): the body forms
// the vendor's clients send, and the path deciding the function.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "service/hipki/local_program.hpp"

namespace tk::service {
namespace {

using nlohmann::json;

TEST(HipkiLocalProgram, PathNamesTheFunction) {
    EXPECT_EQ(hipki::localProgramFunction("/sign", false), "MakeSignature");
    EXPECT_EQ(hipki::localProgramFunction("/decrypt", true), "DecryptData");
    EXPECT_EQ(hipki::localProgramFunction("/pkcs11info", true), "GetUserCert");
    EXPECT_EQ(hipki::localProgramFunction("/pkcs11info", false), "CheckEnvir");
    EXPECT_FALSE(hipki::localProgramFunction("/popupForm", false));
    EXPECT_FALSE(hipki::localProgramFunction("/sign/", false));
}

TEST(HipkiLocalProgram, TbsPackageAsItIsOrFormEncodedOrBareJson) {
    const json expected = {{"func", "MakeSignature"},
                           {"tbs", "a+b/c=="},
                           {"pin", "12%2534"},
                           {"slotDescription", "Reader 00 00"}};
    const std::string text = expected.dump();
    EXPECT_EQ(hipki::localProgramPackage("MakeSignature", "tbsPackage=" + text), expected);
    EXPECT_EQ(hipki::localProgramPackage("MakeSignature", "tbsPackage=" + text + "\r\n"), expected);
    EXPECT_EQ(hipki::localProgramPackage("MakeSignature", text), expected);
    // application/x-www-form-urlencoded: "+" is a space, %XX a byte, once (the pin keeps the
    // page's own encoding for the adapter to decode).
    const std::string form =
        R"(tbsPackage=%7B%22func%22%3A%22MakeSignature%22%2C%22tbs%22%3A%22a%2Bb%2Fc%3D%3D%22%2C)"
        R"(%22pin%22%3A%2212%252534%22%2C%22slotDescription%22%3A%22Reader+00+00%22%7D)";
    EXPECT_EQ(hipki::localProgramPackage("MakeSignature", form), expected);
}

TEST(HipkiLocalProgram, ThePathDecidesTheFunction) {
    const json package =
        hipki::localProgramPackage("MakeSignature", R"(tbsPackage={"func":"DecryptData"})");
    EXPECT_EQ(package["func"], "MakeSignature");
    // /pkcs11info reads no body.
    EXPECT_EQ(hipki::localProgramPackage("GetUserCert", R"(tbsPackage={"func":"MakeSignature"})"),
              (json{{"func", "GetUserCert"}}));
    EXPECT_EQ(hipki::localProgramPackage("CheckEnvir", ""), (json{{"func", "CheckEnvir"}}));
}

TEST(HipkiLocalProgram, NoJsonObject_NullPackage) {
    for (const std::string body : {"", "tbsPackage=", "tbsPackage=%7", "tbsPackage=[1]", "pin=1",
                                   "tbsPackage=%ZZ", "\"text\""}) {
        EXPECT_TRUE(hipki::localProgramPackage("DecryptData", body).is_null()) << body;
    }
}

}  // namespace
}  // namespace tk::service
