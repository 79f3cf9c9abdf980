#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "card_runner.hpp"
#include "fake_vpcd.hpp"
#include "test_card.hpp"

namespace tk::vcard::test {
namespace {

using namespace std::chrono_literals;

class RunnerTest : public ::testing::Test {
  protected:
    RunnerTest() {
        std::string pattern = (std::filesystem::temp_directory_path() / "vcard-XXXXXX").string();
        dir_ = ::mkdtemp(pattern.data());
        options.port = vpcd.port();
        options.connect_timeout = 2s;
        options.control_path = dir_ / "control.sock";
        options.apdu_log_path = dir_ / "apdu.log";
    }
    RunnerTest(const RunnerTest&) = delete;
    RunnerTest& operator=(const RunnerTest&) = delete;
    RunnerTest(RunnerTest&&) = delete;
    RunnerTest& operator=(RunnerTest&&) = delete;
    ~RunnerTest() override {
        stop();
        std::filesystem::remove_all(dir_);
    }

    void start() {
        runner_ = std::make_unique<CardRunner>(card, options);
        thread_ = std::thread([this] { exit_code = runner_->run(); });
        ASSERT_TRUE(vpcd.accept(3s)) << "card never connected";
    }
    void stop() {
        if (thread_.joinable()) {
            runner_->request_stop();
            thread_.join();
        }
    }
    std::string control(const std::string& line) {
        return control_command(options.control_path, line);
    }
    std::string log_text() {
        std::ifstream in(options.apdu_log_path);
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    }
    Bytes apdu(std::string_view hex_apdu) {
        auto r = vpcd.exchange(hex(hex_apdu));
        EXPECT_TRUE(r) << "no answer to " << hex_apdu;
        return r.value_or(Bytes{});
    }

    FakeVpcd vpcd;
    CardState state = fresh_state();
    PivCard card{state, nullptr};
    RunnerOptions options;
    std::atomic<int> exit_code{-1};

  private:
    std::filesystem::path dir_;
    std::unique_ptr<CardRunner> runner_;
    std::thread thread_;
};

TEST_F(RunnerTest, PowerOnAtrAndApdus_OverSplitFrames) {
    start();
    vpcd.send_frame(hex("01"));
    EXPECT_EQ(vpcd.exchange(hex("04")), hex("3b800181"));
    EXPECT_EQ(status_of(apdu("00a4040005a000000308")), 0x9000);
    EXPECT_EQ(apdu("0020008000"), hex("63c3"));
    const Bytes cert = apdu("00cb3fff055c035fc10500");
    EXPECT_EQ(cert.size(), 258u);
    EXPECT_EQ(cert[256], 0x61);
    stop();
    EXPECT_EQ(exit_code, 0);
    EXPECT_TRUE(vpcd.peer_closed(2s)) << "stopping removes the card";
}

TEST_F(RunnerTest, ResetFromVpcd_ClearsSelection) {
    start();
    vpcd.send_frame(hex("01"));
    apdu("00a4040005a000000308");
    vpcd.send_frame(hex("02"));
    EXPECT_EQ(vpcd.exchange(hex("04")), hex("3b800181"));
    EXPECT_EQ(apdu("00fd000000"), hex("6d00"));
}

TEST_F(RunnerTest, ControlRemoveAndInsert_ReconnectsToVpcd) {
    start();
    apdu("00a4040005a000000308");
    EXPECT_EQ(control("remove"), "ok");
    EXPECT_TRUE(vpcd.peer_closed(2s));
    EXPECT_NE(control("status").find("inserted=0 connected=0"), std::string::npos);
    EXPECT_EQ(control("insert"), "ok");
    ASSERT_TRUE(vpcd.accept(2s));
    EXPECT_EQ(apdu("00fd000000"), hex("6d00")) << "a re-inserted card starts unselected";
    EXPECT_NE(control("status").find("inserted=1 connected=1"), std::string::npos);
    EXPECT_EQ(control("frobnicate").rfind("error", 0), 0u);
}

TEST_F(RunnerTest, FaultRemoveOnIns_PullsCardBeforeAnswering) {
    options.fault = *Fault::parse("remove-on-ins:20");
    start();
    apdu("00a4040005a000000308");
    vpcd.send_frame(hex("0020008008313233343536ffff"));
    EXPECT_FALSE(vpcd.receive_frame(1s));
    EXPECT_TRUE(vpcd.peer_closed(2s));
    EXPECT_EQ(state.pin_tries_left, 3) << "the command never reached the card";
    EXPECT_NE(control("status").find("fault=none"), std::string::npos) << "fires once";
}

TEST_F(RunnerTest, FaultGarbageAndTruncate_CorruptResponses) {
    start();
    EXPECT_EQ(control("fault garbage"), "ok");
    const Bytes garbage = apdu("00a4040005a000000308");
    ASSERT_EQ(garbage.size(), 18u);
    EXPECT_EQ(status_of(garbage), 0xDEAD);
    EXPECT_EQ(control("fault truncate"), "ok");
    EXPECT_EQ(apdu("00fd000000"), hex("0504"));
    EXPECT_EQ(control("fault none"), "ok");
    EXPECT_EQ(apdu("00fd000000"), hex("0504039000"));
    EXPECT_EQ(control("fault sideways").rfind("error", 0), 0u);
}

TEST_F(RunnerTest, Delay_PostponesEveryAnswer) {
    options.delay = 150ms;
    start();
    const auto begin = std::chrono::steady_clock::now();
    EXPECT_EQ(status_of(apdu("00a4040005a000000308")), 0x9000);
    EXPECT_GE(std::chrono::steady_clock::now() - begin, 150ms);
    EXPECT_EQ(control("delay 0"), "ok");
    const auto again = std::chrono::steady_clock::now();
    apdu("00fd000000");
    EXPECT_LT(std::chrono::steady_clock::now() - again, 150ms);
}

TEST_F(RunnerTest, RemoveDuringDelay_DropsTheCommand) {
    options.delay = 1000ms;
    start();
    apdu("00a4040005a000000308");
    vpcd.send_frame(hex("0020008008393939393939ffff"));
    EXPECT_EQ(control("remove"), "ok");
    EXPECT_FALSE(vpcd.receive_frame(1500ms));
    EXPECT_EQ(state.pin_tries_left, 3);
}

TEST_F(RunnerTest, ApduLog_OneLinePerApduNoData) {
    start();
    vpcd.send_frame(hex("01"));
    apdu("00a4040005a000000308");
    apdu("0020008008313233343536ffff");
    stop();
    const std::string log = log_text();
    EXPECT_NE(log.find("# power-on\n"), std::string::npos);
    EXPECT_NE(log.find("cla=00 ins=a4 p1=04 p2=00 lc=5 le=0 sw=9000 rlen="), std::string::npos);
    EXPECT_NE(log.find("cla=00 ins=20 p1=00 p2=80 lc=8 le=0 sw=9000 rlen=0\n"), std::string::npos);
    EXPECT_EQ(log.find("313233343536"), std::string::npos);
    EXPECT_EQ(log.find("123456"), std::string::npos);
    std::istringstream lines(log);
    int apdu_lines = 0;
    for (std::string line; std::getline(lines, line);) {
        apdu_lines += line.rfind("cla=", 0) == 0 ? 1 : 0;
    }
    EXPECT_EQ(apdu_lines, 2);
}

TEST_F(RunnerTest, VpcdDropsConnection_CardReconnects) {
    start();
    vpcd.close_connection();
    ASSERT_TRUE(vpcd.accept(3s));
    EXPECT_EQ(vpcd.exchange(hex("04")), hex("3b800181"));
}

TEST(Runner, ControlPathIsARegularFile_Refused) {
    const auto file = std::filesystem::temp_directory_path() /
                      ("vcard-not-a-socket-" + std::to_string(::getpid()));
    std::ofstream(file) << "keep me";
    CardState state = fresh_state();
    PivCard card(state, nullptr);
    RunnerOptions options;
    options.control_path = file;
    EXPECT_THROW(CardRunner(card, options), std::runtime_error);
    EXPECT_TRUE(std::filesystem::exists(file));
    std::filesystem::remove(file);
}

TEST(Runner, VpcdNotListening_ExitsWithFailureAfterTimeout) {
    std::uint16_t port = 0;
    {
        FakeVpcd closed;
        port = closed.port();
    }
    CardState state = fresh_state();
    PivCard card(state, nullptr);
    RunnerOptions options;
    options.port = port;
    options.connect_timeout = 300ms;
    CardRunner runner(card, options);
    const auto begin = std::chrono::steady_clock::now();
    EXPECT_EQ(runner.run(), 1);
    EXPECT_GE(std::chrono::steady_clock::now() - begin, 300ms);
}

}  // namespace
}  // namespace tk::vcard::test
