#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "service/state/card_states.hpp"

namespace tk::service::state {
namespace {

namespace fs = std::filesystem;

class CardStatesTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "tk-card-states-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        root_ = pattern;
    }
    void TearDown() override { fs::remove_all(root_); }

    StateDirectory directory() const { return StateDirectory::open(root_ / "state"); }
    fs::path document() const { return root_ / "state" / "cards.json"; }

    fs::path root_;
};

TEST_F(CardStatesTest, UnknownCard_NothingKnown) {
    const CardStates states(directory());
    EXPECT_EQ(states.get("piv-0001"), CardState{});
    EXPECT_FALSE(fs::exists(document()));
}

TEST_F(CardStatesTest, PukAnswers_WrittenAndReadBackAfterARestart) {
    {
        CardStates states(directory());
        states.pukRejected("piv-0001", 2);
        states.pukRejected("piv-0002", 0);
    }
    const nlohmann::json written = nlohmann::json::parse(std::ifstream(document()));
    EXPECT_EQ(written,
              (nlohmann::json{{"version", 1},
                              {"cards",
                               {{"piv-0001", {{"pukRetriesLeft", 2}, {"pukRetryLimitAtLeast", 3}}},
                                {"piv-0002", {{"pukRetriesLeft", 0}}}}}}));
    CardStates states(directory());
    EXPECT_EQ(states.get("piv-0001"), (CardState{2, 3}));
    EXPECT_EQ(states.get("piv-0002"), (CardState{0, std::nullopt}));
    // A success puts the counter back at its limit, known only as a lower bound.
    states.pukAccepted("piv-0001");
    EXPECT_EQ(states.get("piv-0001"), (CardState{3, 3}));
    states.pukAccepted("piv-0002");
    EXPECT_EQ(states.get("piv-0002"), CardState{});
}

TEST_F(CardStatesTest, GroupWritableDocument_RefusedAtLoad) {
    CardStates(directory()).pukRejected("piv-0001", 2);
    ASSERT_EQ(::chmod(document().c_str(), 0664), 0);
    try {
        const CardStates states(directory());
        ADD_FAILURE() << "loaded a group-writable document";
    } catch (const StateError& e) {
        EXPECT_NE(std::string(e.what()).find("writable by group or others"), std::string::npos)
            << e.what();
    }
}

TEST_F(CardStatesTest, MalformedDocument_RefusedWithItsPath) {
    (void)directory();
    for (const char* text : {"not json", R"({"version":2,"cards":{}})",
                             R"({"version":1,"cards":{"a":{"pukRetriesLeft":-1}}})",
                             R"({"version":1,"cards":{"a":{"pukRetriesLeft":"2"}}})"}) {
        { std::ofstream(document()) << text; }
        ASSERT_EQ(::chmod(document().c_str(), 0600), 0);
        try {
            const CardStates states(directory());
            ADD_FAILURE() << "loaded: " << text;
        } catch (const StateError& e) {
            EXPECT_NE(std::string(e.what()).find(document().string()), std::string::npos)
                << e.what();
        }
    }
}

}  // namespace
}  // namespace tk::service::state
