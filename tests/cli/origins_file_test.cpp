// In-place editing of the daemon's configuration by `tenderkey origins add|remove`: comments
// and layout survive, the daemon's loader has the last word, the file is replaced atomically
// with its mode, and a concurrent edit is refused.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "cli/exit_status.hpp"
#include "cli/origins_file.hpp"
#include "service/config.hpp"

namespace tk::cli {
namespace {

namespace fs = std::filesystem;

const std::string kConfig =
    "# TenderKey on this office PC\n"
    "[log]\n"
    "level = \"info\"   # raise to debug when needed\n"
    "\n"
    "[[listeners]]\n"
    "address = \"127.0.0.1\"\n"
    "port = 61261\n"
    "\n"
    "# The procurement portal\n"
    "[[origins]]\n"
    "origin = \"https://web.pcc.gov.tw\"\n"
    "capabilities = [\n"
    "  \"read\",\n"
    "  \"sign\",\n"
    "]\n"
    "\n"
    "# Card care\n"
    "[[origins]]\n"
    "origin = \"https://ca.example.com.tw\"  # the CA's page\n"
    "capabilities = [\"read\", \"manage\"]\n"
    "\n"
    "[limits]\n"
    "max_connections = 16\n";

class OriginsFile : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "tk-origins.XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
        path_ = dir_ + "/tenderkeyd.toml";
        write(kConfig);
        ASSERT_EQ(::chmod(path_.c_str(), 0640), 0);
    }
    void TearDown() override { fs::remove_all(dir_); }

    void write(const std::string& text) {
        std::ofstream out(path_, std::ios::binary | std::ios::trunc);
        out << text;
    }
    std::string read() const {
        std::ifstream in(path_, std::ios::binary);
        return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    }
    std::size_t filesInDir() const {
        return static_cast<std::size_t>(
            std::distance(fs::directory_iterator(dir_), fs::directory_iterator()));
    }

    std::string dir_;
    std::string path_;
};

TEST_F(OriginsFile, Add_AppendsTableKeepsCommentsAndEverythingElse) {
    const EditResult result =
        addOrigin(path_, parseOriginOperand("https://b.example.gov.tw=read,decrypt"));
    EXPECT_TRUE(result.changed);
    EXPECT_EQ(result.action, "added");
    const std::string text = read();
    // The old text is a prefix: nothing of it was rewritten.
    ASSERT_TRUE(text.starts_with(kConfig)) << text;
    EXPECT_EQ(text.substr(kConfig.size()),
              "\n[[origins]]\norigin = \"https://b.example.gov.tw\"\n"
              "capabilities = [\"read\", \"decrypt\"]\n");
    const service::Config config = service::loadConfigFile(path_);
    ASSERT_EQ(config.origins.size(), 3U);
    EXPECT_EQ(config.origins[2].pattern, "https://b.example.gov.tw");
    EXPECT_EQ(capabilityList(config.origins[2].capabilities), "read,decrypt");
    EXPECT_EQ(config.limits.maxConnections, 16);
}

TEST_F(OriginsFile, Add_WithoutCapabilities_GetsDefaultsAndCanonicalForm) {
    addOrigin(path_, parseOriginOperand("HTTPS://B.Example.GOV.tw:443"));
    const service::Config config = service::loadConfigFile(path_);
    ASSERT_EQ(config.origins.size(), 3U);
    EXPECT_EQ(config.origins[2].pattern, "https://b.example.gov.tw");
    EXPECT_EQ(config.origins[2].capabilities, service::Capabilities::defaults());
    EXPECT_EQ(read().find("capabilities", kConfig.size()), std::string::npos);
}

TEST_F(OriginsFile, Add_KeepsModeAndLeavesNoTemporaryFile) {
    addOrigin(path_, parseOriginOperand("https://b.example.gov.tw"));
    struct stat st {};
    ASSERT_EQ(::stat(path_.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0640U);
    EXPECT_EQ(filesInDir(), 1U);
}

TEST_F(OriginsFile, Add_SameEntryAgain_Unchanged) {
    const EditResult result =
        addOrigin(path_, parseOriginOperand("https://ca.example.com.tw=manage,read"));
    EXPECT_FALSE(result.changed);
    EXPECT_EQ(result.action, "unchanged");
    EXPECT_EQ(read(), kConfig);
}

TEST_F(OriginsFile, Add_OtherCapabilities_ReplacesTheEntry) {
    const EditResult result = addOrigin(path_, parseOriginOperand("https://web.pcc.gov.tw=read"));
    EXPECT_EQ(result.action, "updated");
    const service::Config config = service::loadConfigFile(path_);
    ASSERT_EQ(config.origins.size(), 2U);
    EXPECT_EQ(config.origins[0].pattern, "https://ca.example.com.tw");
    EXPECT_EQ(config.origins[1].pattern, "https://web.pcc.gov.tw");
    EXPECT_EQ(capabilityList(config.origins[1].capabilities), "read");
    EXPECT_EQ(read().find("\"sign\""), std::string::npos) << read();
}

TEST_F(OriginsFile, Remove_TakesTheWholeTableAndKeepsComments) {
    const EditResult result = removeOrigin(path_, "https://web.pcc.gov.tw");
    EXPECT_EQ(result.action, "removed");
    const std::string text = read();
    EXPECT_EQ(text,
              "# TenderKey on this office PC\n"
              "[log]\n"
              "level = \"info\"   # raise to debug when needed\n"
              "\n"
              "[[listeners]]\n"
              "address = \"127.0.0.1\"\n"
              "port = 61261\n"
              "\n"
              "# The procurement portal\n"
              "\n"
              "# Card care\n"
              "[[origins]]\n"
              "origin = \"https://ca.example.com.tw\"  # the CA's page\n"
              "capabilities = [\"read\", \"manage\"]\n"
              "\n"
              "[limits]\n"
              "max_connections = 16\n");
    const service::Config config = service::loadConfigFile(path_);
    ASSERT_EQ(config.origins.size(), 1U);
    EXPECT_EQ(config.origins[0].pattern, "https://ca.example.com.tw");
}

TEST_F(OriginsFile, Remove_UnknownOrigin_RefusedFileUnchanged) {
    EXPECT_THROW(removeOrigin(path_, "https://other.example.gov.tw"), ConfigProblem);
    EXPECT_EQ(read(), kConfig);
}

TEST_F(OriginsFile, DaemonRules_HttpPublicSuffixWildcardNull_Refused) {
    EXPECT_THROW(parseOriginOperand("http://portal.example.gov.tw"), ConfigProblem);
    EXPECT_THROW(parseOriginOperand("https://*.gov.tw"), ConfigProblem);
    EXPECT_THROW(parseOriginOperand("null"), ConfigProblem);
    EXPECT_THROW(parseOriginOperand("https://a.example.gov.tw/path"), ConfigProblem);
    EXPECT_THROW(parseOriginOperand("https://a.example.gov.tw=read,fly"), ConfigProblem);
    EXPECT_NO_THROW(parseOriginOperand("http://localhost:8080"));
    EXPECT_NO_THROW(parseOriginOperand("https://*.example.gov.tw"));
}

TEST_F(OriginsFile, BrokenFile_RefusedUnchanged) {
    const std::string broken = kConfig + "[limits2]\nx = 1\n";
    write(broken);
    try {
        addOrigin(path_, parseOriginOperand("https://b.example.gov.tw"));
        FAIL() << "a file that does not load was edited";
    } catch (const ConfigProblem& e) {
        EXPECT_NE(std::string(e.what()).find(path_ + ":24:"), std::string::npos) << e.what();
    }
    EXPECT_EQ(read(), broken);
}

TEST_F(OriginsFile, InlineOriginsArray_RefusedUnchanged) {
    const std::string inlineArray =
        "# inline form\norigins = [ { origin = \"https://web.pcc.gov.tw\" } ]\n";
    write(inlineArray);
    EXPECT_THROW(addOrigin(path_, parseOriginOperand("https://b.example.gov.tw")), ConfigProblem);
    EXPECT_THROW(removeOrigin(path_, "https://web.pcc.gov.tw"), ConfigProblem);
    EXPECT_EQ(read(), inlineArray);
    EXPECT_EQ(filesInDir(), 1U);
}

TEST_F(OriginsFile, ConcurrentEdit_RefusedWhileAnotherHoldsTheLock) {
    const int fd = ::open(path_.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::flock(fd, LOCK_EX), 0);
    EXPECT_THROW(addOrigin(path_, parseOriginOperand("https://b.example.gov.tw")), ConfigBusy);
    EXPECT_EQ(read(), kConfig);
    ::close(fd);
    EXPECT_TRUE(addOrigin(path_, parseOriginOperand("https://b.example.gov.tw")).changed);
}

TEST_F(OriginsFile, Symlink_EditsTheTargetAndKeepsTheLink) {
    const std::string link = dir_ + "/link.toml";
    fs::create_symlink(path_, link);
    addOrigin(link, parseOriginOperand("https://b.example.gov.tw"));
    EXPECT_TRUE(fs::is_symlink(link));
    EXPECT_EQ(service::loadConfigFile(path_).origins.size(), 3U);
}

TEST_F(OriginsFile, MissingFile_Refused) {
    EXPECT_THROW(addOrigin(dir_ + "/absent.toml", parseOriginOperand("https://b.example.gov.tw")),
                 ConfigProblem);
    EXPECT_FALSE(fs::exists(dir_ + "/absent.toml"));
}

}  // namespace
}  // namespace tk::cli
