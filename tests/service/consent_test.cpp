#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "service/config.hpp"
#include "service/consent.hpp"

namespace tk::service {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class ConsentTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "tk-consent-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        root_ = pattern;
        now_ = *parseUtc("2026-12-06T21:00:00Z");
    }
    void TearDown() override { fs::remove_all(root_); }

    std::shared_ptr<ConsentRecords> records() const {
        return std::make_shared<ConsentRecords>(state::StateDirectory::open(root_ / "state"));
    }
    ConsentPolicy policy(ConsentConfig config, std::shared_ptr<ConsentRecords> store) {
        return ConsentPolicy(std::move(config), std::move(store), [this] { return now_; });
    }
    fs::path document() const { return root_ / "state" / "consent.json"; }

    fs::path root_;
    SystemClock::time_point now_;
};

TEST_F(ConsentTest, Offer_HttpsAndLoopbackHttpOnly_WithTheRegistrableDomain) {
    const ConsentPolicy p = policy({}, records());
    const auto offer = p.offer("https://www.shop.example.co.uk:8443");
    ASSERT_TRUE(offer);
    EXPECT_EQ(offer->registrableDomain, "example.co.uk");
    EXPECT_EQ(p.offer("https://web.pcc.gov.tw")->registrableDomain, "pcc.gov.tw");
    ASSERT_TRUE(p.offer("http://127.0.0.1:8088"));
    EXPECT_FALSE(p.offer("http://127.0.0.1:8088")->registrableDomain);
    EXPECT_TRUE(p.offer("http://localhost:3000"));
    // A public host over http cannot be approved; neither can what is not a canonical origin.
    EXPECT_FALSE(p.offer("http://shop.example.com"));
    EXPECT_FALSE(p.offer("null"));
    EXPECT_FALSE(p.offer("https://*.example.com"));
    EXPECT_FALSE(p.offer("HTTPS://shop.example.com"));
    EXPECT_FALSE(p.offer("https://shop.example.com/"));
}

TEST_F(ConsentTest, DeniedOrDisabled_NeverOffered) {
    const ConsentPolicy denying =
        policy({true, {"https://evil.example.com", "https://*.bad.example.org"}, 180}, records());
    EXPECT_FALSE(denying.offer("https://evil.example.com"));
    EXPECT_FALSE(denying.offer("https://a.b.bad.example.org"));
    EXPECT_TRUE(denying.offer("https://good.example.com"));
    const ConsentPolicy disabled = policy({false, {}, 180}, records());
    EXPECT_FALSE(disabled.offer("https://good.example.com"));
    EXPECT_THROW(policy({true, {"https://*.com"}, 180}, records()), ConfigError);
}

TEST_F(ConsentTest, Always_StoredWithItsDate_SurvivesARestart_ExpiresAfterDays) {
    const std::string origin = "https://shop.example.com";
    {
        const ConsentPolicy p = policy({true, {}, 30}, records());
        EXPECT_FALSE(p.granted(origin));
        p.remember(origin);
        EXPECT_TRUE(p.granted(origin));
    }
    EXPECT_EQ(nlohmann::json::parse(std::ifstream(document())),
              (nlohmann::json{{"version", 1},
                              {"origins", {{origin, {{"granted", "2026-12-06T21:00:00Z"}}}}}}));
    struct stat info {};
    ASSERT_EQ(::stat(document().c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0600);

    const ConsentPolicy restarted = policy({true, {}, 30}, records());
    now_ += std::chrono::days{30} - 1s;
    EXPECT_TRUE(restarted.granted(origin));
    now_ += 1s;
    EXPECT_FALSE(restarted.granted(origin)) << "30 days old: expired";
    // Denied later: the old consent no longer counts.
    now_ = *parseUtc("2026-12-07T00:00:00Z");
    EXPECT_TRUE(restarted.granted(origin));
    EXPECT_FALSE(policy({true, {origin}, 30}, records()).granted(origin));
    EXPECT_FALSE(policy({false, {}, 30}, records()).granted(origin));
}

TEST_F(ConsentTest, Remove_TakesEffectForTheRunningPolicy) {
    const std::string origin = "https://shop.example.com";
    const ConsentPolicy p = policy({}, records());
    p.remember(origin);
    // Another process (tenderkey origins remove) edits the document.
    EXPECT_TRUE(records()->remove(origin));
    EXPECT_FALSE(records()->remove(origin));
    EXPECT_FALSE(p.granted(origin));
    EXPECT_TRUE(records()->list().empty());
}

TEST_F(ConsentTest, UnusableDocument_RefusedAtLoad_CountsAsNoConsentLater) {
    const auto store = records();
    const ConsentPolicy p = policy({}, store);
    p.remember("https://shop.example.com");
    std::ofstream(document())
        << R"({"version":1,"origins":{"https://x.example":{"granted":"yesterday"}}})";
    EXPECT_THROW(records(), state::StateError);
    EXPECT_FALSE(p.granted("https://x.example"));
    ::chmod(document().c_str(), 0666);
    EXPECT_THROW(store->list(), state::StateError);
}

TEST_F(ConsentTest, UtcText_RoundTrips_MalformedRefused) {
    const auto when = parseUtc("2024-02-29T23:59:59Z");
    ASSERT_TRUE(when);
    EXPECT_EQ(formatUtc(*when), "2024-02-29T23:59:59Z");
    EXPECT_FALSE(parseUtc("2023-02-29T00:00:00Z"));
    EXPECT_FALSE(parseUtc("2024-02-28T24:00:00Z"));
    EXPECT_FALSE(parseUtc("2024-02-28 10:00:00Z"));
    EXPECT_FALSE(parseUtc("2024-02-28T10:00:00+08:00"));
}

}  // namespace
}  // namespace tk::service
