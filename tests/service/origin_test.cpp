#include <gtest/gtest.h>

#include <variant>

#include "service/origin.hpp"
#include "service/origin_policy.hpp"
#include "service/public_suffix.hpp"

namespace tk::service {
namespace {

OriginPattern pattern(std::string_view text) {
    auto parsed = parseOriginPattern(text);
    if (auto* problem = std::get_if<std::string>(&parsed)) {
        ADD_FAILURE() << text << ": " << *problem;
        return {};
    }
    return std::get<OriginPattern>(parsed);
}

std::string refusal(std::string_view text) {
    auto parsed = parseOriginPattern(text);
    if (auto* problem = std::get_if<std::string>(&parsed)) {
        return *problem;
    }
    ADD_FAILURE() << text << " was accepted";
    return {};
}

bool matches(std::string_view patternText, std::string_view origin) {
    const auto parsed = parseOrigin(origin);
    return parsed && pattern(patternText).matches(*parsed);
}

TEST(ParseOrigin, TakesSchemeHostPortAndNormalisesDefaultPortAndCase) {
    EXPECT_EQ(parseOrigin("https://web.pcc.gov.tw"), (Origin{"https", "web.pcc.gov.tw", 443}));
    EXPECT_EQ(parseOrigin("HTTPS://Web.PCC.gov.TW:443"), (Origin{"https", "web.pcc.gov.tw", 443}));
    EXPECT_EQ(parseOrigin("http://localhost:8080"), (Origin{"http", "localhost", 8080}));
    EXPECT_EQ(parseOrigin("http://[::1]:3000"), (Origin{"http", "[::1]", 3000}));
    EXPECT_EQ(parseOrigin("http://127.0.0.1"), (Origin{"http", "127.0.0.1", 80}));
}

TEST(ParseOrigin, RefusesWhatIsNotATupleOrigin) {
    for (const char* text : {"null",
                             "",
                             "https://",
                             "https://a.tw/",
                             "https://a.tw/x",
                             "https://user@a.tw",
                             "https://a.tw?q",
                             "https://a.tw#f",
                             "file:///etc",
                             "chrome-extension://abc",
                             "https://a..tw",
                             "https://a.tw.",
                             "https://-a.tw",
                             "https://a.tw:0",
                             "https://a.tw:65536",
                             "https://a.tw:+1",
                             "https://a .tw",
                             "https://網路.tw",
                             "https://a.tw:",
                             "wss://a.tw"}) {
        EXPECT_FALSE(parseOrigin(text).has_value()) << text;
    }
}

TEST(OriginPattern, WildcardMatchesSubdomainsAtAnyDepthButNotTheDomainItself) {
    EXPECT_TRUE(matches("https://*.pcc.gov.tw", "https://a.pcc.gov.tw"));
    EXPECT_TRUE(matches("https://*.pcc.gov.tw", "https://a.b.pcc.gov.tw"));
    EXPECT_FALSE(matches("https://*.pcc.gov.tw", "https://pcc.gov.tw"));
    EXPECT_FALSE(matches("https://*.pcc.gov.tw", "https://evilpcc.gov.tw"));
    EXPECT_FALSE(matches("https://*.pcc.gov.tw", "https://a.pcc.gov.tw.evil.com"));
    EXPECT_FALSE(matches("https://*.pcc.gov.tw", "https://.pcc.gov.tw"));
}

TEST(OriginPattern, SchemeAndPortMustMatchExactly) {
    EXPECT_FALSE(matches("https://*.pcc.gov.tw", "http://a.pcc.gov.tw"));
    EXPECT_FALSE(matches("https://*.pcc.gov.tw", "https://a.pcc.gov.tw:8443"));
    EXPECT_TRUE(matches("https://*.pcc.gov.tw:8443", "https://a.pcc.gov.tw:8443"));
    EXPECT_FALSE(matches("https://web.pcc.gov.tw", "https://web.pcc.gov.tw:8443"));
    EXPECT_FALSE(matches("https://web.pcc.gov.tw:8443", "https://web.pcc.gov.tw"));
    EXPECT_FALSE(matches("http://localhost:8080", "http://localhost:8081"));
    EXPECT_FALSE(matches("http://localhost:8080", "https://localhost:8080"));
}

TEST(OriginPattern, ExplicitDefaultPortIsTheSameOrigin) {
    EXPECT_TRUE(matches("https://web.pcc.gov.tw:443", "https://web.pcc.gov.tw"));
    EXPECT_TRUE(matches("https://web.pcc.gov.tw", "https://web.pcc.gov.tw:443"));
    EXPECT_EQ(pattern("https://web.pcc.gov.tw:443").text, "https://web.pcc.gov.tw");
}

TEST(OriginPattern, HostAndSchemeAreCaseInsensitive) {
    EXPECT_TRUE(matches("https://WEB.pcc.gov.tw", "https://web.PCC.gov.tw"));
    EXPECT_TRUE(matches("HTTPS://*.Pcc.Gov.Tw", "https://A.pcc.gov.tw"));
    EXPECT_EQ(pattern("HTTPS://*.Pcc.Gov.Tw").text, "https://*.pcc.gov.tw");
}

TEST(OriginPattern, ExactEntryMatchesOnlyItsHost) {
    EXPECT_TRUE(matches("https://web.pcc.gov.tw", "https://web.pcc.gov.tw"));
    EXPECT_FALSE(matches("https://web.pcc.gov.tw", "https://a.web.pcc.gov.tw"));
    EXPECT_FALSE(matches("https://web.pcc.gov.tw", "https://pcc.gov.tw"));
}

TEST(OriginPattern, RefusesNullPathsHttpAndMalformedEntries) {
    EXPECT_NE(refusal("null").find("null"), std::string::npos);
    EXPECT_NE(refusal("https://web.pcc.gov.tw/").find("path"), std::string::npos);
    EXPECT_NE(refusal("https://web.pcc.gov.tw/tender").find("path"), std::string::npos);
    EXPECT_NE(refusal("http://web.pcc.gov.tw").find("http:"), std::string::npos);
    EXPECT_NE(refusal("http://*.localhost").find("wildcard"), std::string::npos);
    EXPECT_NE(refusal("ftp://web.pcc.gov.tw").find("scheme"), std::string::npos);
    EXPECT_NE(refusal("web.pcc.gov.tw").find("scheme://host"), std::string::npos);
    EXPECT_NE(refusal("https://a*.pcc.gov.tw").find("wildcard"), std::string::npos);
    EXPECT_NE(refusal("https://*.*.pcc.gov.tw").find("wildcard"), std::string::npos);
    EXPECT_NE(refusal("https://w*b.pcc.gov.tw").find("wildcard"), std::string::npos);
    EXPECT_NE(refusal("https://*.10.0.0.1").find("IP address"), std::string::npos);
    EXPECT_NE(refusal("https://網路.tw").find("punycode"), std::string::npos);
    EXPECT_NE(refusal("https://web.pcc.gov.tw:99999").find("port"), std::string::npos);
    EXPECT_NE(refusal("https://user@web.pcc.gov.tw").find("user"), std::string::npos);
    EXPECT_FALSE(refusal("").empty());
}

TEST(OriginPattern, HttpOnlyForLoopbackHosts) {
    EXPECT_EQ(pattern("http://localhost:8080").text, "http://localhost:8080");
    EXPECT_EQ(pattern("http://127.0.0.1:8080").text, "http://127.0.0.1:8080");
    EXPECT_EQ(pattern("http://127.1.2.3").text, "http://127.1.2.3");
    EXPECT_EQ(pattern("http://[::1]:8080").text, "http://[::1]:8080");
    EXPECT_FALSE(refusal("http://192.168.1.10").empty());
    EXPECT_FALSE(refusal("http://[::2]").empty());
    EXPECT_FALSE(refusal("http://localhost.example.com").empty());
}

TEST(OriginPattern, WildcardDirectlyOnAPublicSuffixIsRefused) {
    for (const char* text :
         {"https://*.gov.tw", "https://*.com.tw", "https://*.org.tw", "https://*.edu.tw",
          "https://*.net.tw", "https://*.idv.tw", "https://*.tw", "https://*.com", "https://*.org",
          "https://*.co.uk", "https://*.github.io", "https://*.xyz", "https://*.GOV.TW"}) {
        EXPECT_NE(refusal(text).find("public suffix"), std::string::npos) << text;
    }
    EXPECT_EQ(pattern("https://*.pcc.gov.tw").text, "https://*.pcc.gov.tw");
    EXPECT_EQ(pattern("https://*.example.com.tw").text, "https://*.example.com.tw");
    // An exact origin on a suffix itself is harmless (it is one site).
    EXPECT_EQ(pattern("https://gov.tw").text, "https://gov.tw");
}

// The Public Suffix List as the system ships it (libpsl with the `publicsuffix` data), both
// sections. What the list says, checked against /usr/share/publicsuffix/public_suffix_list.dat:
// fly.dev and vercel.app are in its private section, gov.tw, com.tw and 網路.tw under "tw" in
// the ICANN section, taipei is a top-level domain; co.tw is not listed (Taiwan's commercial
// second level is com.tw), so co.tw is a name someone registered, like pcc.gov.tw.
TEST(PublicSuffixes, WildcardOnASuffixOfEitherSectionOfTheListIsRefused) {
    for (const char* text : {"https://*.fly.dev", "https://*.vercel.app", "https://*.gov.tw",
                             "https://*.taipei", "https://*.com.tw", "https://*.xn--zf0ao64a.tw",
                             "https://*.github.io", "https://*.netlify.app", "https://*.co.uk"}) {
        EXPECT_NE(refusal(text).find("public suffix"), std::string::npos) << text;
    }
    EXPECT_EQ(pattern("https://*.pcc.gov.tw").text, "https://*.pcc.gov.tw");
    EXPECT_EQ(pattern("https://*.co.tw").text, "https://*.co.tw");
    EXPECT_EQ(pattern("https://*.myapp.fly.dev").text, "https://*.myapp.fly.dev");
    EXPECT_EQ(pattern("https://*.web.taipei").text, "https://*.web.taipei");
}

TEST(PublicSuffixes, ListHasBothSectionsAndTheImplicitTopLevelRule) {
    for (const char* suffix : {"fly.dev", "vercel.app", "gov.tw", "taipei", "com.tw", "tw", "com",
                               "co.uk", "github.io"}) {
        EXPECT_EQ(isPublicSuffix(suffix), true) << suffix;
    }
    // A top-level domain the list does not know is a suffix too (the list's "*" rule).
    EXPECT_EQ(isPublicSuffix("not-a-listed-tld"), true);
    for (const char* name : {"pcc.gov.tw", "co.tw", "myapp.fly.dev", "example.com.tw"}) {
        EXPECT_EQ(isPublicSuffix(name), false) << name;
    }
}

TEST(OriginPolicy, ReturnsTheEntryCapabilitiesOrNothing) {
    Capabilities manage;
    manage.add(Capability::Read);
    manage.add(Capability::Manage);
    const OriginPolicy policy(
        {{"https://web.pcc.gov.tw", Capabilities::defaults()}, {"https://*.pcc.gov.tw", manage}});
    EXPECT_EQ(policy.match("https://web.pcc.gov.tw"), Capabilities::defaults());
    EXPECT_EQ(policy.match("https://a.pcc.gov.tw"), manage);
    EXPECT_EQ(policy.match("https://pcc.gov.tw"), std::nullopt);
    EXPECT_EQ(policy.match("null"), std::nullopt);
    EXPECT_EQ(policy.match(""), std::nullopt);
    EXPECT_EQ(policy.match("https://evil.example"), std::nullopt);
}

TEST(OriginPolicy, ExactEntryWinsOverWildcardAndLongerWildcardOverShorter) {
    Capabilities readOnly;
    readOnly.add(Capability::Read);
    Capabilities signOnly;
    signOnly.add(Capability::Sign);
    const OriginPolicy policy({{"https://*.pcc.gov.tw", readOnly},
                               {"https://*.web.pcc.gov.tw", signOnly},
                               {"https://a.web.pcc.gov.tw", Capabilities::all()}});
    EXPECT_EQ(policy.match("https://a.web.pcc.gov.tw"), Capabilities::all());
    EXPECT_EQ(policy.match("https://b.web.pcc.gov.tw"), signOnly);
    EXPECT_EQ(policy.match("https://web.pcc.gov.tw"), readOnly);
}

TEST(OriginPolicy, InvalidEntryThrowsConfigError) {
    EXPECT_THROW(OriginPolicy({{"https://*.gov.tw", Capabilities::defaults()}}), ConfigError);
}

TEST(SharedOriginPolicy, ReloadReportsConnectionsWhoseOriginLostItsEntry) {
    SharedOriginPolicy shared(std::make_shared<OriginPolicy>(
        std::vector<OriginEntry>{{"https://web.pcc.gov.tw", Capabilities::defaults()},
                                 {"https://*.example.gov.tw", Capabilities::defaults()}}));
    const std::vector<std::pair<std::uint64_t, std::string>> connections{
        {1, "https://web.pcc.gov.tw"}, {2, "https://a.example.gov.tw"}, {3, "https://other.tw"}};
    Capabilities readOnly;
    readOnly.add(Capability::Read);
    const auto lost = shared.replace(std::make_shared<OriginPolicy>(std::vector<OriginEntry>{
                                         {"https://*.example.gov.tw", readOnly}}),
                                     connections);
    EXPECT_EQ(lost, (std::vector<std::uint64_t>{1, 3}));
    EXPECT_EQ(shared.match("https://a.example.gov.tw"), readOnly);  // changed entry: new set
    EXPECT_EQ(shared.match("https://web.pcc.gov.tw"), std::nullopt);
}

}  // namespace
}  // namespace tk::service
