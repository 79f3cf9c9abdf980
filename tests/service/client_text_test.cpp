#include "service/client_text.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tk::service {
namespace {

TEST(ClientText, ShortPrintableText_AsIs) {
    EXPECT_EQ(clientText("certificates.list"), "certificates.list");
    EXPECT_EQ(clientText("https://portal.example.gov.tw"), "https://portal.example.gov.tw");
    EXPECT_EQ(clientText(""), "");
}

TEST(ClientText, ControlCharactersAndBackslash_Escaped) {
    EXPECT_EQ(clientText("sign\nrequest origin=x outcome=ok"),
              "sign\\x0arequest origin=x outcome=ok");
    EXPECT_EQ(clientText(std::string("a\0b\r\x1b[2J\x7f", 9)), "a\\x00b\\x0d\\x1b[2J\\x7f");
    EXPECT_EQ(clientText("a\\x0a"), "a\\x5cx0a");  // an escape cannot be faked
    EXPECT_EQ(clientText("\xe7\xb0\xbd"), "\\xe7\\xb0\\xbd");
}

TEST(ClientText, LongText_CutAt64BytesWithItsLength) {
    const std::string long_(1 << 20, 'm');
    EXPECT_EQ(clientText(long_), std::string(64, 'm') + "...(1048576 bytes)");
    EXPECT_EQ(clientText(std::string(64, 'm')), std::string(64, 'm'));
    std::string lines;
    for (int i = 0; i < 100; ++i) {
        lines += "x\n";
    }
    const std::string shown = clientText(lines);
    EXPECT_EQ(shown.find('\n'), std::string::npos);
    EXPECT_EQ(shown.rfind("...(200 bytes)"), shown.size() - 14);
}

}  // namespace
}  // namespace tk::service
