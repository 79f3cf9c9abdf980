#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "fake_vpcd.hpp"
#include "test_card.hpp"

extern char** environ;

namespace tk::vcard::test {
namespace {

using namespace std::chrono_literals;

class CliTest : public ::testing::Test {
  protected:
    CliTest() {
        std::string pattern = (std::filesystem::temp_directory_path() / "vcard-XXXXXX").string();
        dir = ::mkdtemp(pattern.data());
    }
    CliTest(const CliTest&) = delete;
    CliTest& operator=(const CliTest&) = delete;
    CliTest(CliTest&&) = delete;
    CliTest& operator=(CliTest&&) = delete;
    ~CliTest() override { std::filesystem::remove_all(dir); }

    pid_t spawn(const std::vector<std::string>& args) {
        std::vector<std::string> argv_storage{VCARD_BINARY};
        argv_storage.insert(argv_storage.end(), args.begin(), args.end());
        std::vector<char*> argv;
        argv.reserve(argv_storage.size() + 1);
        for (std::string& a : argv_storage) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        const std::string out = (dir / "output.txt").string();
        posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                         0600);
        posix_spawn_file_actions_adddup2(&actions, 1, 2);
        pid_t pid = -1;
        EXPECT_EQ(posix_spawn(&pid, VCARD_BINARY, &actions, nullptr, argv.data(), environ), 0);
        posix_spawn_file_actions_destroy(&actions);
        return pid;
    }
    static int wait_exit(pid_t pid) {
        int status = 0;
        EXPECT_EQ(::waitpid(pid, &status, 0), pid);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    int run(const std::vector<std::string>& args) { return wait_exit(spawn(args)); }
    std::string output() {
        std::ifstream in(dir / "output.txt");
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    }

    std::filesystem::path dir;
};

TEST_F(CliTest, Help_ForBothCommands) {
    EXPECT_EQ(run({"init", "--help"}), 0);
    EXPECT_NE(output().find("--rsa-bits"), std::string::npos);
    EXPECT_EQ(run({"run", "--help"}), 0);
    EXPECT_NE(output().find("--apdu-log"), std::string::npos);
}

TEST_F(CliTest, UsageErrors_ExitTwo) {
    EXPECT_EQ(run({}), 2);
    EXPECT_EQ(run({"frobnicate"}), 2);
    EXPECT_EQ(run({"init"}), 2);
    EXPECT_NE(output().find("--state FILE is required"), std::string::npos);
    EXPECT_EQ(run({"init", "--state", (dir / "c.json").string(), "--rsa-bits", "1024"}), 2);
    EXPECT_EQ(run({"init", "--state", (dir / "c.json").string(), "--pin", "12ab56"}), 2);
    EXPECT_EQ(run({"run", "--state", (dir / "c.json").string(), "--fault", "sideways"}), 2);
    EXPECT_FALSE(std::filesystem::exists(dir / "c.json"));
}

TEST_F(CliTest, RunWithoutState_ExitsOne) {
    EXPECT_EQ(run({"run", "--state", (dir / "missing.json").string()}), 1);
}

TEST_F(CliTest, InitThenRun_SignalsRemoveInsertAndStop) {
    const std::string state = (dir / "card.json").string();
    ASSERT_EQ(run({"init", "--state", state, "--pin", "24681357", "--serial", "7654321"}), 0);
    EXPECT_TRUE(std::filesystem::exists(dir / "ca.pem"));
    EXPECT_TRUE(std::filesystem::exists(dir / "ca-key.pem"));
    EXPECT_EQ(run({"init", "--state", state}), 1) << "refuses to overwrite without --force";

    FakeVpcd vpcd;
    const pid_t pid =
        spawn({"run", "--state", state, "--vpcd", "127.0.0.1:" + std::to_string(vpcd.port())});
    ASSERT_TRUE(vpcd.accept(5s));
    EXPECT_EQ(vpcd.exchange(hex("00a4040005a000000308")).value_or(Bytes{}).back(), 0x00);
    EXPECT_EQ(vpcd.exchange(hex("00f8000000")), hex("0074cbb19000"));
    EXPECT_EQ(vpcd.exchange(hex("0020008008 3234363831333537")), hex("9000"));

    ::kill(pid, SIGUSR1);
    EXPECT_TRUE(vpcd.peer_closed(3s));
    ::kill(pid, SIGUSR2);
    ASSERT_TRUE(vpcd.accept(3s));
    EXPECT_EQ(vpcd.exchange(hex("04")), hex("3b800181"));
    ::kill(pid, SIGTERM);
    EXPECT_EQ(wait_exit(pid), 0);
}

TEST_F(CliTest, Run_PersistsRetryCounterToStateFile) {
    const std::string state = (dir / "card.json").string();
    ASSERT_EQ(run({"init", "--state", state, "--pin-tries", "5"}), 0);
    FakeVpcd vpcd;
    const pid_t pid =
        spawn({"run", "--state", state, "--vpcd", "127.0.0.1:" + std::to_string(vpcd.port())});
    ASSERT_TRUE(vpcd.accept(5s));
    vpcd.exchange(hex("00a4040005a000000308"));
    EXPECT_EQ(vpcd.exchange(hex("0020008008 393939393939ffff")), hex("63c4"));
    ::kill(pid, SIGINT);
    EXPECT_EQ(wait_exit(pid), 0);
    EXPECT_EQ(CardState::load(state).pin_tries_left, 4);
}

}  // namespace
}  // namespace tk::vcard::test
