#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "service/state/state_directory.hpp"

namespace tk::service::state {
namespace {

namespace fs = std::filesystem;

mode_t modeOf(const fs::path& path) {
    struct stat info {};
    EXPECT_EQ(::lstat(path.c_str(), &info), 0) << path;
    return info.st_mode & 07777;
}

// Sets or clears one environment variable for the life of the object.
class ScopedEnvironment {
  public:
    ScopedEnvironment(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name)) {
            old_ = old;
        }
        if (value != nullptr) {
            ::setenv(name, value, 1);
        } else {
            ::unsetenv(name);
        }
    }
    ~ScopedEnvironment() {
        if (old_) {
            ::setenv(name_, old_->c_str(), 1);
        } else {
            ::unsetenv(name_);
        }
    }
    ScopedEnvironment(const ScopedEnvironment&) = delete;
    ScopedEnvironment& operator=(const ScopedEnvironment&) = delete;

  private:
    const char* name_;
    std::optional<std::string> old_;
};

class StateDirectoryTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "tk-state-test-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        root_ = pattern;
    }
    void TearDown() override {
        std::error_code ignored;
        fs::permissions(root_ / "state", fs::perms::owner_all, ignored);
        fs::remove_all(root_, ignored);
    }

    // The message of the StateError `action` throws, or "" (a test failure).
    template <typename Action>
    std::string errorOf(Action action) {
        try {
            action();
        } catch (const StateError& e) {
            return e.what();
        }
        ADD_FAILURE() << "no StateError";
        return {};
    }

    fs::path root_;
};

TEST_F(StateDirectoryTest, Open_MissingDirectory_CreatedOwnerOnly) {
    const fs::path path = root_ / "a" / "state";
    const StateDirectory store = StateDirectory::open(path);
    EXPECT_EQ(store.path(), path);
    EXPECT_TRUE(fs::is_directory(path));
    EXPECT_EQ(modeOf(path), 0700u);
}

TEST_F(StateDirectoryTest, Write_ThenRead_SameTextWithMode0600) {
    const mode_t oldMask = ::umask(0);  // a permissive umask must not widen the file's mode
    const StateDirectory store = StateDirectory::open(root_ / "state");
    store.write("cards.json", R"({"a":1})");
    ::umask(oldMask);
    EXPECT_EQ(store.read("cards.json"), std::optional<std::string>(R"({"a":1})"));
    EXPECT_EQ(modeOf(root_ / "state" / "cards.json"), 0600u);
}

TEST_F(StateDirectoryTest, Write_Twice_ReplacesAndLeavesNoTemporaryFile) {
    const StateDirectory store = StateDirectory::open(root_ / "state");
    store.write("doc", "first, longer text");
    store.write("doc", "second");
    EXPECT_EQ(store.read("doc"), std::optional<std::string>("second"));
    int entries = 0;
    for (const auto& entry : fs::directory_iterator(root_ / "state")) {
        (void)entry;
        ++entries;
    }
    EXPECT_EQ(entries, 1);
}

TEST_F(StateDirectoryTest, Read_MissingDocument_IsNullopt) {
    const StateDirectory store = StateDirectory::open(root_ / "state");
    EXPECT_EQ(store.read("nothing.json"), std::nullopt);
}

TEST_F(StateDirectoryTest, Read_GroupWritableFile_Refused) {
    const StateDirectory store = StateDirectory::open(root_ / "state");
    store.write("cards.json", "{}");
    ASSERT_EQ(::chmod((root_ / "state" / "cards.json").c_str(), 0620), 0);
    const std::string message = errorOf([&] { (void)store.read("cards.json"); });
    EXPECT_NE(message.find("cards.json"), std::string::npos) << message;
    EXPECT_NE(message.find("writable by group or others (mode 0620)"), std::string::npos)
        << message;
}

TEST_F(StateDirectoryTest, Read_OtherWritableFile_Refused) {
    const StateDirectory store = StateDirectory::open(root_ / "state");
    store.write("cards.json", "{}");
    ASSERT_EQ(::chmod((root_ / "state" / "cards.json").c_str(), 0602), 0);
    EXPECT_NE(errorOf([&] { (void)store.read("cards.json"); }).find("writable by group or others"),
              std::string::npos);
}

TEST_F(StateDirectoryTest, Open_GroupWritableDirectory_Refused) {
    const fs::path path = root_ / "state";
    ASSERT_EQ(::mkdir(path.c_str(), 0700), 0);
    ASSERT_EQ(::chmod(path.c_str(), 0770), 0);
    const std::string message = errorOf([&] { (void)StateDirectory::open(path); });
    EXPECT_NE(message.find(path.string()), std::string::npos) << message;
    EXPECT_NE(message.find("writable by group or others (mode 0770)"), std::string::npos)
        << message;
}

TEST_F(StateDirectoryTest, Open_DirectoryOfAnotherUser_Refused) {
    if (::geteuid() == 0) {
        // Root: hand the directory to another user and expect the refusal.
        const fs::path path = root_ / "state";
        ASSERT_EQ(::mkdir(path.c_str(), 0700), 0);
        ASSERT_EQ(::chown(path.c_str(), 65534, 65534), 0);
        EXPECT_NE(
            errorOf([&] { (void)StateDirectory::open(path); }).find("belongs to user id 65534"),
            std::string::npos);
    } else {
        // Not root: "/" belongs to root, which is another user.
        EXPECT_NE(errorOf([&] { (void)StateDirectory::open("/"); }).find("belongs to user id 0"),
                  std::string::npos);
    }
}

TEST_F(StateDirectoryTest, Read_SymbolicLink_Refused) {
    const StateDirectory store = StateDirectory::open(root_ / "state");
    std::ofstream(root_ / "elsewhere") << "{}";
    fs::create_symlink(root_ / "elsewhere", root_ / "state" / "cards.json");
    EXPECT_NE(errorOf([&] { (void)store.read("cards.json"); }).find("cannot open"),
              std::string::npos);
}

TEST_F(StateDirectoryTest, Open_RegularFile_Refused) {
    std::ofstream(root_ / "file") << "x";
    EXPECT_NE(errorOf([&] { (void)StateDirectory::open(root_ / "file"); }).find("not a directory"),
              std::string::npos);
}

TEST_F(StateDirectoryTest, DocumentNames_OutsideTheRule_Refused) {
    const StateDirectory store = StateDirectory::open(root_ / "state");
    for (const char* name : {"", ".hidden", "../escape", "a/b", "UPPER", "space name"}) {
        EXPECT_THROW(store.write(name, "x"), std::invalid_argument) << name;
        EXPECT_THROW((void)store.read(name), std::invalid_argument) << name;
    }
}

TEST_F(StateDirectoryTest, Resolve_Order_SystemdThenConfigThenDefaults) {
    {
        const ScopedEnvironment systemd("STATE_DIRECTORY", "/var/lib/tenderkey:/var/lib/other");
        EXPECT_EQ(resolveStateDirectory(std::string("/srv/state")), fs::path("/var/lib/tenderkey"));
    }
    const ScopedEnvironment noSystemd("STATE_DIRECTORY", nullptr);
    EXPECT_EQ(resolveStateDirectory(std::string("/srv/state")), fs::path("/srv/state"));
    if (::geteuid() == 0) {
        EXPECT_EQ(resolveStateDirectory(std::nullopt), fs::path("/var/lib/tenderkey"));
        return;
    }
    {
        const ScopedEnvironment xdg("XDG_STATE_HOME", "/home/u/.state");
        EXPECT_EQ(resolveStateDirectory(std::nullopt), fs::path("/home/u/.state/tenderkey"));
    }
    const ScopedEnvironment noXdg("XDG_STATE_HOME", nullptr);
    const ScopedEnvironment home("HOME", "/home/u");
    EXPECT_EQ(resolveStateDirectory(std::nullopt), fs::path("/home/u/.local/state/tenderkey"));
}

}  // namespace
}  // namespace tk::service::state
