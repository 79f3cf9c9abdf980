// The command line of the administrator commands and their exit statuses (docs/cli.md).

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli/command_line.hpp"
#include "cli/daemon_link.hpp"
#include "cli/exit_status.hpp"
#include "service/config.hpp"

namespace tk::cli {
namespace {

CommandLine parse(std::vector<std::string> args) {
    std::vector<const char*> argv{"tenderkey"};
    for (const std::string& arg : args) {
        argv.push_back(arg.c_str());
    }
    return parseCommandLine(static_cast<int>(argv.size()), argv.data());
}

void check(const std::vector<std::string>& args) {
    const CommandLine line = parse(args);
    const CommandSpec* spec = findCommand(line.words);
    ASSERT_NE(spec, nullptr);
    checkOptions(*spec, line);
}

TEST(AdminCommandLine, OriginsAddTakesOneOperandAndItsOptions) {
    EXPECT_NO_THROW(check({"origins", "add", "https://a.example.gov.tw=read,sign", "--config",
                           "/tmp/x.toml", "--reload=signal"}));
    EXPECT_NO_THROW(check({"origins", "remove", "https://a.example.gov.tw"}));
    EXPECT_THROW(check({"origins", "add", "https://a.example.gov.tw", "https://b.example.gov.tw"}),
                 UsageError);
    EXPECT_THROW(check({"origins", "list", "https://a.example.gov.tw"}), UsageError);
    EXPECT_THROW(check({"origins", "list", "--reload", "none"}), UsageError);
    EXPECT_THROW(check({"status", "--reload", "none"}), UsageError);
    EXPECT_NO_THROW(check({"status", "--warn-days", "10", "--config", "x", "--json"}));
    EXPECT_NO_THROW(check({"doctor", "--config", "x", "--dev"}));
    EXPECT_EQ(findCommand(parse({"origins"}).words), nullptr);
}

TEST(AdminCommandLine, ReloadModes) {
    EXPECT_EQ(reloadModeFrom(std::nullopt), ReloadMode::Auto);
    EXPECT_EQ(reloadModeFrom(std::string("systemd")), ReloadMode::Systemd);
    EXPECT_EQ(reloadModeFrom(std::string("signal")), ReloadMode::Signal);
    EXPECT_EQ(reloadModeFrom(std::string("none")), ReloadMode::None);
    EXPECT_THROW(reloadModeFrom(std::string("kill")), UsageError);
}

template <typename E>
Failure failureOf(const std::string& message) {
    try {
        throw E(message);
    } catch (...) {
        return describeFailure(std::current_exception());
    }
}

TEST(AdminExitStatus, ConfigurationAndReloadFailuresMapToDocumentedStatuses) {
    EXPECT_EQ(failureOf<ConfigProblem>("x").status, ExitStatus::ConfigInvalid);
    EXPECT_EQ(failureOf<ConfigProblem>("x").reason, "CONFIG_INVALID");
    EXPECT_EQ(failureOf<service::ConfigError>("f:2: bad").status, ExitStatus::ConfigInvalid);
    EXPECT_EQ(failureOf<ConfigBusy>("x").status, ExitStatus::ConfigBusy);
    EXPECT_EQ(failureOf<ConfigBusy>("x").reason, "CONFIG_BUSY");
    EXPECT_EQ(failureOf<ReloadFailed>("x").status, ExitStatus::ReloadFailed);
    EXPECT_EQ(failureOf<ReloadFailed>("x").reason, "RELOAD_FAILED");
    EXPECT_EQ(static_cast<int>(ExitStatus::ConfigInvalid), 15);
    EXPECT_EQ(static_cast<int>(ExitStatus::ConfigBusy), 16);
    EXPECT_EQ(static_cast<int>(ExitStatus::ReloadFailed), 17);
    EXPECT_EQ(static_cast<int>(ExitStatus::DaemonDown), 18);
    EXPECT_EQ(static_cast<int>(ExitStatus::Warnings), 19);
    EXPECT_EQ(static_cast<int>(ExitStatus::ChecksFailed), 20);
}

TEST(AdminEndpoints, LocalhostListenerIsProbedOnBothLoopbacks) {
    service::Config config;
    config.listeners = {{"localhost", 61261, std::nullopt, std::nullopt},
                        {"::1", 61262, std::string("c.pem"), std::string("k.pem")}};
    const std::vector<Endpoint> endpoints = endpointsOf(config);
    ASSERT_EQ(endpoints.size(), 3U);
    EXPECT_EQ(endpoints[0].url(), "ws://127.0.0.1:61261/");
    EXPECT_EQ(endpoints[1].url(), "ws://[::1]:61261/");
    EXPECT_EQ(endpoints[2].url(), "wss://[::1]:61262/");
}

}  // namespace
}  // namespace tk::cli
