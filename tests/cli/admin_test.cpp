// `tenderkey status|origins|doctor` against the real components, inside
// tests/harness/with-cards: the real tenderkeyd (started by the test with its own
// configuration file), the harness's pcscd with a virtual card, its private network namespace.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/daemon_process.hpp"
#include "support/harness.hpp"
#include "support/process.hpp"
#include "support/ws_client.hpp"

namespace tk::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// Exit statuses of docs/cli.md.
constexpr int kOk = 0;
constexpr int kConfigInvalid = 15;
constexpr int kDaemonDown = 18;
constexpr int kWarnings = 19;
constexpr int kChecksFailed = 20;

constexpr const char* kPortal = "https://portal.example.gov.tw";
constexpr const char* kNewPortal = "https://bids.example.gov.tw";

std::string describe(const ProcessResult& r) {
    return "exit " + std::to_string(r.exitCode) + "\n--- stdout\n" + r.out + "--- stderr\n" + r.err;
}

json parse(const ProcessResult& r) {
    try {
        return json::parse(r.out);
    } catch (const json::exception& e) {
        ADD_FAILURE() << "not JSON: " << e.what() << "\n" << describe(r);
        return json::object();
    }
}

// tenderkey with --dev (the harness's readers are development readers).
ProcessResult tenderkey(const std::vector<std::string>& args) {
    std::vector<std::string> argv{TK_TENDERKEY_BINARY, "--dev"};
    argv.insert(argv.end(), args.begin(), args.end());
    return runProcess(argv);
}

// The check of a `doctor --json` document whose name starts with `prefix`.
json checkNamed(const json& doctor, const std::string& prefix) {
    for (const json& check : doctor.at("checks")) {
        if (check.at("check").get<std::string>().starts_with(prefix)) {
            return check;
        }
    }
    ADD_FAILURE() << "no check " << prefix << " in " << doctor.dump(2);
    return json::object();
}

// A program that is not TenderKey holding a port: it answers every connection with a web
// server's 404.
class ForeignServer {
  public:
    explicit ForeignServer(std::uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const int one = 1;
        ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
            ::listen(fd_, 8) != 0) {
            throw std::runtime_error("cannot listen on the test port");
        }
        thread_ = std::thread([this] {
            while (true) {
                const int client = ::accept(fd_, nullptr, nullptr);
                if (client < 0) {
                    return;
                }
                char buffer[2048];
                (void)::recv(client, buffer, sizeof(buffer), 0);
                const std::string answer =
                    "HTTP/1.1 404 Not Found\r\nServer: other\r\nContent-Length: 9\r\n\r\nnot found";
                (void)::send(client, answer.data(), answer.size(), MSG_NOSIGNAL);
                ::close(client);
            }
        });
    }
    ~ForeignServer() {
        ::shutdown(fd_, SHUT_RDWR);
        ::close(fd_);
        thread_.join();
    }

  private:
    int fd_ = -1;
    std::thread thread_;
};

class AdminCli : public ::testing::Test {
  protected:
    void SetUp() override {
        port_ = freePort();
        config_ = environment("TK_HARNESS_DIR") + "/tenderkeyd.toml";
        writeConfig("[[listeners]]\naddress = \"127.0.0.1\"\nport = " + std::to_string(port_) +
                    "\n\n# the portal of the test\n[[origins]]\norigin = \"" + kPortal + "\"\n");
    }

    void writeConfig(const std::string& text) {
        std::ofstream out(config_, std::ios::trunc);
        out << text;
    }
    std::string readConfig() const {
        std::ifstream in(config_);
        return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    }

    void startDaemon() {
        daemon_ = std::make_unique<ChildProcess>(
            TK_DAEMON_BINARY, std::vector<std::string>{"--config", config_, "--dev"},
            environment("TK_HARNESS_DIR") + "/tenderkeyd.log");
        ASSERT_TRUE(daemon_->waitForLog("listening on", 15s)) << daemon_->log();
    }

    // The status of a WebSocket handshake from a page of `origin`.
    int handshakeFrom(const std::string& origin) {
        WsClient client("127.0.0.1", port_);
        return client.handshake({"127.0.0.1:" + std::to_string(port_), origin, "tenderkey.v1"})
            .status;
    }

    // Waits until the handshake from `origin` gets `status` (the reload is asynchronous).
    bool handshakeBecomes(const std::string& origin, int status) {
        const auto deadline = std::chrono::steady_clock::now() + 5s;
        while (std::chrono::steady_clock::now() < deadline) {
            if (handshakeFrom(origin) == status) {
                return true;
            }
            std::this_thread::sleep_for(50ms);
        }
        return false;
    }

    std::uint16_t port_ = 0;
    std::string config_;
    std::unique_ptr<ChildProcess> daemon_;
};

TEST_F(AdminCli, OriginsAdd_SighupToRunningDaemon_OriginUsableWithoutRestart) {
    startDaemon();
    ASSERT_EQ(handshakeFrom(kNewPortal), 403);
    const ProcessResult added =
        tenderkey({"--json", "origins", "add", kNewPortal, "--config", config_});
    ASSERT_EQ(added.exitCode, kOk) << describe(added);
    const json result = parse(added);
    EXPECT_EQ(result.at("action"), "added");
    EXPECT_EQ(result.at("reload").at("method"), "signal");
    EXPECT_EQ(result.at("reload").at("pids"), json::array({daemon_->pid()}));
    EXPECT_TRUE(handshakeBecomes(kNewPortal, 101)) << daemon_->log();
    EXPECT_TRUE(daemon_->waitForLog("configuration reloaded", 5s)) << daemon_->log();
    // The same process: reloaded, not restarted.
    EXPECT_FALSE(daemon_->waitExit(0ms).has_value());
    EXPECT_EQ(handshakeFrom(kPortal), 101);
    // The comment of the file is still there.
    EXPECT_NE(readConfig().find("# the portal of the test\n"), std::string::npos) << readConfig();

    const ProcessResult removed = tenderkey({"origins", "remove", kNewPortal, "--config", config_});
    ASSERT_EQ(removed.exitCode, kOk) << describe(removed);
    EXPECT_NE(removed.out.find("SIGHUP sent to tenderkeyd (pid " + std::to_string(daemon_->pid())),
              std::string::npos)
        << describe(removed);
    EXPECT_TRUE(handshakeBecomes(kNewPortal, 403)) << daemon_->log();
    EXPECT_EQ(handshakeFrom(kPortal), 101);
}

TEST_F(AdminCli, OriginsAdd_ReloadNone_DaemonKeepsOldList) {
    startDaemon();
    const ProcessResult added =
        tenderkey({"origins", "add", kNewPortal, "--config", config_, "--reload", "none"});
    ASSERT_EQ(added.exitCode, kOk) << describe(added);
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(handshakeFrom(kNewPortal), 403);
    // A SIGHUP later picks the file up: the edit itself was complete.
    daemon_->signal(SIGHUP);
    EXPECT_TRUE(handshakeBecomes(kNewPortal, 101)) << daemon_->log();
}

TEST_F(AdminCli, OriginsAdd_RefusedOrigin_FileAndDaemonUnchanged) {
    startDaemon();
    const std::string before = readConfig();
    const ProcessResult refused =
        tenderkey({"--json", "origins", "add", "https://*.gov.tw", "--config", config_});
    EXPECT_EQ(refused.exitCode, kConfigInvalid) << describe(refused);
    EXPECT_EQ(parse(refused).at("error").at("reason"), "CONFIG_INVALID");
    EXPECT_NE(refused.err.find("public suffix"), std::string::npos) << describe(refused);
    EXPECT_EQ(readConfig(), before);
    EXPECT_EQ(daemon_->log().find("configuration reloaded"), std::string::npos);
}

TEST_F(AdminCli, OriginsList_ShowsTheFilesEntries) {
    const ProcessResult listed = tenderkey({"--json", "origins", "list", "--config", config_});
    ASSERT_EQ(listed.exitCode, kOk) << describe(listed);
    EXPECT_EQ(parse(listed).at("origins"),
              json::parse(std::string(R"([{"origin":")") + kPortal +
                          R"(","capabilities":["read","sign","decrypt","register"]}])"));
}

TEST_F(AdminCli, Status_DaemonUp_ReportsDaemonReadersCardsCertificates) {
    startDaemon();
    const ProcessResult status = tenderkey({"--json", "status", "--config", config_});
    ASSERT_EQ(status.exitCode, kOk) << describe(status);
    const json s = parse(status);
    EXPECT_TRUE(s.at("daemon").at("running").get<bool>());
    const json& listener = s.at("daemon").at("listeners").at(0);
    EXPECT_EQ(listener.at("url"), "ws://127.0.0.1:" + std::to_string(port_) + "/");
    EXPECT_EQ(listener.at("state"), "up");
    EXPECT_FALSE(listener.at("version").get<std::string>().empty());
    // The daemon and the tool see the same readers (the harness's vpcd has two slots).
    ASSERT_GE(s.at("readers").size(), 1U) << s.dump(2);
    EXPECT_EQ(listener.at("readers"), s.at("readers").size());
    EXPECT_EQ(s.at("readers").at(0).at("name"), readerName(0));
    EXPECT_EQ(s.at("readers").at(0).at("card").at("type"), "piv");
    ASSERT_GE(s.at("certificates").size(), 4U) << s.dump(2);
    for (const json& certificate : s.at("certificates")) {
        EXPECT_EQ(certificate.at("expiry"), "ok") << certificate.dump();
        EXPECT_GT(certificate.at("expiresInDays").get<int>(), 30);
    }
    EXPECT_TRUE(s.at("warnings").empty());
}

TEST_F(AdminCli, Status_CertificatesWithinWarnDays_WarnedExit19) {
    startDaemon();
    const ProcessResult status =
        tenderkey({"--json", "status", "--config", config_, "--warn-days", "3650"});
    ASSERT_EQ(status.exitCode, kWarnings) << describe(status);
    const json s = parse(status);
    ASSERT_FALSE(s.at("certificates").empty());
    for (const json& certificate : s.at("certificates")) {
        EXPECT_EQ(certificate.at("expiry"), "expiring") << certificate.dump();
    }
    EXPECT_EQ(s.at("warnings").size(), s.at("certificates").size());
    const ProcessResult text = tenderkey({"status", "--config", config_, "--warn-days", "3650"});
    EXPECT_EQ(text.exitCode, kWarnings);
    EXPECT_NE(text.out.find("EXPIRES in"), std::string::npos) << describe(text);
}

TEST_F(AdminCli, Status_DaemonNotRunning_Exit18) {
    const ProcessResult status = tenderkey({"--json", "status", "--config", config_});
    ASSERT_EQ(status.exitCode, kDaemonDown) << describe(status);
    const json s = parse(status);
    EXPECT_FALSE(s.at("daemon").at("running").get<bool>());
    EXPECT_EQ(s.at("daemon").at("listeners").at(0).at("state"), "down");
    // The cards are still reported: they come from PC/SC, not from the daemon.
    EXPECT_EQ(s.at("readers").at(0).at("card").at("type"), "piv");
}

TEST_F(AdminCli, Doctor_EverythingInPlace_AllOkExit0) {
    startDaemon();
    const ProcessResult doctor = tenderkey({"--json", "doctor", "--config", config_});
    ASSERT_EQ(doctor.exitCode, kOk) << describe(doctor);
    const json d = parse(doctor);
    for (const char* name : {"config", "origins", "pcscd", "readers", "listener", "polkit"}) {
        EXPECT_EQ(checkNamed(d, name).at("status"), "ok") << d.dump(2);
    }
    const json browser = checkNamed(d, "browser");
    EXPECT_EQ(browser.at("status"), "info");
    EXPECT_NE(browser.at("fix").get<std::string>().find("LocalNetworkAccessAllowedForUrls"),
              std::string::npos);
    EXPECT_EQ(d.at("summary").at("fail"), 0);
}

TEST_F(AdminCli, Doctor_PcscdStopped_FailsWithFix) {
    startDaemon();
    controlPcscd("stop");
    const ProcessResult doctor = tenderkey({"--json", "doctor", "--config", config_});
    ASSERT_EQ(doctor.exitCode, kChecksFailed) << describe(doctor);
    const json pcscd = checkNamed(parse(doctor), "pcscd");
    EXPECT_EQ(pcscd.at("status"), "fail");
    EXPECT_NE(pcscd.at("fix").get<std::string>().find("pcscd"), std::string::npos);
    const ProcessResult text = tenderkey({"doctor", "--config", config_});
    EXPECT_NE(text.out.find("[fail] pcscd: "), std::string::npos) << describe(text);
    EXPECT_NE(text.out.find("fix: "), std::string::npos) << describe(text);
}

TEST_F(AdminCli, Doctor_DaemonNotRunning_ListenerFails) {
    const ProcessResult doctor = tenderkey({"--json", "doctor", "--config", config_});
    ASSERT_EQ(doctor.exitCode, kChecksFailed) << describe(doctor);
    const json listener = checkNamed(parse(doctor), "listener");
    EXPECT_EQ(listener.at("status"), "fail");
    EXPECT_NE(listener.at("message").get<std::string>().find("not running"), std::string::npos);
    EXPECT_NE(listener.at("fix").get<std::string>().find("systemctl"), std::string::npos);
}

TEST_F(AdminCli, Doctor_PortTakenByAnotherProgram_Conflict) {
    ForeignServer other(port_);
    const ProcessResult doctor = tenderkey({"--json", "doctor", "--config", config_});
    ASSERT_EQ(doctor.exitCode, kChecksFailed) << describe(doctor);
    const json listener = checkNamed(parse(doctor), "listener");
    EXPECT_EQ(listener.at("status"), "fail");
    EXPECT_NE(listener.at("message").get<std::string>().find("another program"), std::string::npos)
        << listener.dump();
    EXPECT_NE(listener.at("fix").get<std::string>().find("ss -ltnp"), std::string::npos);
    const ProcessResult status = tenderkey({"--json", "status", "--config", config_});
    EXPECT_EQ(status.exitCode, kDaemonDown) << describe(status);
    EXPECT_EQ(parse(status).at("daemon").at("listeners").at(0).at("state"), "foreign");
}

TEST_F(AdminCli, Doctor_BrokenConfiguration_FailsNamingFileAndLine) {
    writeConfig("[limits]\nmax_connections = -3\n");
    const ProcessResult doctor = tenderkey({"--json", "doctor", "--config", config_});
    ASSERT_EQ(doctor.exitCode, kChecksFailed) << describe(doctor);
    const json config = checkNamed(parse(doctor), "config");
    EXPECT_EQ(config.at("status"), "fail");
    EXPECT_NE(config.at("message").get<std::string>().find(config_ + ":2:"), std::string::npos)
        << config.dump();
    const ProcessResult edit = tenderkey({"origins", "add", kNewPortal, "--config", config_});
    EXPECT_EQ(edit.exitCode, kConfigInvalid) << describe(edit);
}

// The HiPKI listener's port held by another program (here this test): the doctor names it, as
// a failure when the endpoint is enabled (the daemon refuses to start beside it), as
// information when it is off (the vendor's own server, most likely).
TEST_F(AdminCli, Doctor_HipkiEnabledPortHeld_FailsNamingTheHolder) {
    const std::uint16_t hipki = freePort();
    writeConfig("[[listeners]]\naddress = \"127.0.0.1\"\nport = " + std::to_string(port_) +
                "\n[hipki]\nenabled = true\nport = " + std::to_string(hipki) + "\n");
    ForeignServer other(hipki);
    const ProcessResult doctor = tenderkey({"--json", "doctor", "--config", config_});
    ASSERT_EQ(doctor.exitCode, kChecksFailed) << describe(doctor);
    const json check = checkNamed(parse(doctor), "hipki");
    EXPECT_EQ(check.at("status"), "fail") << check.dump();
    const std::string message = check.at("message");
    EXPECT_NE(message.find("held by another program"), std::string::npos) << message;
    EXPECT_NE(message.find("(pid " + std::to_string(::getpid())), std::string::npos) << message;
    EXPECT_NE(check.at("fix").get<std::string>().find("tenderkeyd-hipki.socket"),
              std::string::npos);
}

TEST_F(AdminCli, Doctor_HipkiOffPortHeld_InformsNamingTheVendorsServer) {
    const std::uint16_t hipki = freePort();
    writeConfig("[[listeners]]\naddress = \"127.0.0.1\"\nport = " + std::to_string(port_) +
                "\n[[origins]]\norigin = \"" + kPortal +
                "\"\n[hipki]\nport = " + std::to_string(hipki) + "\n");
    startDaemon();
    {
        const json check =
            checkNamed(parse(tenderkey({"--json", "doctor", "--config", config_})), "hipki");
        EXPECT_EQ(check.at("status"), "info") << check.dump();
        EXPECT_NE(check.at("message").get<std::string>().find("not enabled"), std::string::npos)
            << check.dump();
    }
    ForeignServer other(hipki);
    const ProcessResult doctor = tenderkey({"--json", "doctor", "--config", config_});
    EXPECT_EQ(doctor.exitCode, kOk) << describe(doctor);
    const json check = checkNamed(parse(doctor), "hipki");
    EXPECT_EQ(check.at("status"), "info") << check.dump();
    const std::string message = check.at("message");
    EXPECT_NE(message.find("HiPKI Local Server"), std::string::npos) << message;
    EXPECT_NE(message.find("(pid " + std::to_string(::getpid())), std::string::npos) << message;
    const ProcessResult text = tenderkey({"doctor", "--config", config_});
    EXPECT_NE(text.out.find("[info] hipki port " + std::to_string(hipki) + ": "), std::string::npos)
        << describe(text);
}

TEST_F(AdminCli, Doctor_HipkiEnabledAndServed_Ok) {
    const std::uint16_t hipki = freePort();
    writeConfig("[[listeners]]\naddress = \"127.0.0.1\"\nport = " + std::to_string(port_) +
                "\n[[origins]]\norigin = \"" + kPortal +
                "\"\n[hipki]\nenabled = true\nport = " + std::to_string(hipki) + "\n");
    startDaemon();
    const ProcessResult doctor = tenderkey({"--json", "doctor", "--config", config_});
    EXPECT_EQ(doctor.exitCode, kOk) << describe(doctor);
    EXPECT_EQ(checkNamed(parse(doctor), "hipki").at("status"), "ok") << describe(doctor);
}

TEST_F(AdminCli, Doctor_NoOrigins_Warns) {
    writeConfig("[[listeners]]\naddress = \"127.0.0.1\"\nport = " + std::to_string(port_) + "\n");
    startDaemon();
    const ProcessResult doctor = tenderkey({"--json", "doctor", "--config", config_});
    ASSERT_EQ(doctor.exitCode, kWarnings) << describe(doctor);
    const json origins = checkNamed(parse(doctor), "origins");
    EXPECT_EQ(origins.at("status"), "warn");
    EXPECT_NE(origins.at("fix").get<std::string>().find("tenderkey origins add"),
              std::string::npos);
}

// Each configured module is loaded by the daemon's loader: OpenSC's module passes, a file that
// is no shared library fails with the loader's reason.
TEST_F(AdminCli, Doctor_Pkcs11Modules_EachLoadedOrFailNamingIt) {
    const std::string broken = environment("TK_HARNESS_DIR") + "/not-a-module.so";
    std::ofstream(broken) << "not an ELF file\n";
    const std::string opensc = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so";
    writeConfig("[[listeners]]\naddress = \"127.0.0.1\"\nport = " + std::to_string(port_) +
                "\n\n[[origins]]\norigin = \"" + kPortal + "\"\n\n[pkcs11]\nmodules = [\"" +
                opensc + "\", \"" + broken + "\"]\n");
    const ProcessResult doctor = tenderkey({"--json", "doctor", "--config", config_});
    ASSERT_EQ(doctor.exitCode, kChecksFailed) << describe(doctor);
    const json document = parse(doctor);
    EXPECT_EQ(checkNamed(document, "pkcs11 " + opensc).at("status"), "ok");
    const json failed = checkNamed(document, "pkcs11 " + broken);
    EXPECT_EQ(failed.at("status"), "fail");
    EXPECT_NE(failed.at("message").get<std::string>().find(broken), std::string::npos)
        << failed.dump();
    EXPECT_NE(failed.at("fix").get<std::string>().find("[pkcs11] modules"), std::string::npos);
}

}  // namespace
}  // namespace tk::test
