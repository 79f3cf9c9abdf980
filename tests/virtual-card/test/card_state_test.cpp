#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "test_card.hpp"

namespace tk::vcard::test {
namespace {

class TempDir {
  public:
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "vcard-XXXXXX").string();
        path_ = ::mkdtemp(pattern.data());
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    TempDir(TempDir&&) = delete;
    TempDir& operator=(TempDir&&) = delete;
    ~TempDir() { std::filesystem::remove_all(path_); }
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

TEST(CardState, SaveAndLoad_RoundTripsEverything) {
    TempDir dir;
    const auto file = dir.path() / "card.json";
    CardState original = fresh_state();
    original.pin_tries_left = 1;
    original.keys.at(slot::kSignature).pin_policy = PinPolicy::Never;
    original.save(file);

    CardState loaded = CardState::load(file);
    EXPECT_EQ(loaded.serial, original.serial);
    EXPECT_EQ(loaded.pin, original.pin);
    EXPECT_EQ(loaded.puk, original.puk);
    EXPECT_EQ(loaded.pin_tries_left, 1);
    EXPECT_EQ(loaded.puk_tries_max, 3);
    EXPECT_EQ(loaded.management_key, default_management_key());
    EXPECT_EQ(loaded.objects, original.objects);
    ASSERT_EQ(loaded.keys.size(), original.keys.size());
    for (const auto& [ref, key] : original.keys) {
        const SlotKey& back = loaded.keys.at(ref);
        EXPECT_EQ(back.algorithm, key.algorithm);
        EXPECT_EQ(back.pin_policy, key.pin_policy);
        EXPECT_EQ(EVP_PKEY_eq(back.key.get(), key.key.get()), 1) << "slot " << int(ref);
    }
}

TEST(CardState, Save_IsPrivateAndLeavesNoTemporaryFile) {
    TempDir dir;
    const auto file = dir.path() / "card.json";
    fresh_state().save(file);
    fresh_state().save(file);
    struct stat st {};
    ASSERT_EQ(::stat(file.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "card.json.tmp"));
}

TEST(CardState, CardPersistsWrongPin_CounterSurvivesReload) {
    TempDir dir;
    const auto file = dir.path() / "card.json";
    {
        CardState state = fresh_state();
        state.save(file);
        PivCard card(state, [&](const CardState& s) { s.save(file); });
        card.power_on();
        ASSERT_EQ(card.transmit(hex("00a4040005a000000308")).back(), 0x00);
        EXPECT_EQ(card.transmit(hex("0020008008 393939393939ffff")), hex("63c2"));
    }
    CardState reloaded = CardState::load(file);
    EXPECT_EQ(reloaded.pin_tries_left, 2);
    PivCard card(reloaded, nullptr);
    card.transmit(hex("00a4040005a000000308"));
    EXPECT_EQ(card.transmit(hex("0020008000")), hex("63c2"));
}

TEST(CardState, Load_RejectsDamagedFiles) {
    TempDir dir;
    const auto file = dir.path() / "card.json";
    std::ofstream(file) << "{ not json";
    EXPECT_THROW(CardState::load(file), std::runtime_error);

    nlohmann::json j = fresh_state().to_json();
    j["pin"] = "3132";
    std::ofstream(file, std::ios::trunc) << j.dump();
    EXPECT_THROW(CardState::load(file), std::runtime_error);

    j = fresh_state().to_json();
    j["keys"]["9e"]["algorithm"] = alg::kEccP384;
    std::ofstream(file, std::ios::trunc) << j.dump();
    EXPECT_THROW(CardState::load(file), std::runtime_error);

    EXPECT_THROW(CardState::load(dir.path() / "missing.json"), std::runtime_error);
}

}  // namespace
}  // namespace tk::vcard::test
