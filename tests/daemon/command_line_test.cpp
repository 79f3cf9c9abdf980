// tenderkeyd's command line and how it combines with the configuration file.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "main/command_line.hpp"

namespace tk::daemon {
namespace {

CommandLine parse(std::vector<std::string> args) {
    return parseCommandLine(args);
}

TEST(CommandLine, OptionsWithSeparateOrInlineValues) {
    const auto c = parse({"--config", "/x.toml", "--port=61300", "--allow-origin",
                          "https://a.example=read,manage", "--allow-origin=https://b.example",
                          "--log-level", "debug", "--dev"});
    EXPECT_EQ(c.configPath, "/x.toml");
    EXPECT_EQ(c.port, 61300);
    EXPECT_EQ(c.allowOrigins,
              (std::vector<std::string>{"https://a.example=read,manage", "https://b.example"}));
    EXPECT_EQ(c.logLevel, "debug");
    EXPECT_TRUE(c.developmentMode);
    EXPECT_FALSE(c.help);
}

TEST(CommandLine, BadArguments_UsageError) {
    for (const auto& args : std::vector<std::vector<std::string>>{{"--port", "0"},
                                                                  {"--port", "65536"},
                                                                  {"--port", "12x"},
                                                                  {"--port"},
                                                                  {"--frobnicate"},
                                                                  {"--dev=yes"},
                                                                  {"extra"}}) {
        EXPECT_THROW(parse(args), UsageError) << args[0];
    }
}

TEST(BuildConfig, MissingDefaultFile_MeansDefaults) {
    const auto config = buildConfig(parse({}), "/nonexistent/tenderkeyd.toml");
    ASSERT_EQ(config.listeners.size(), 1u);
    EXPECT_EQ(config.listeners[0].port, 61261);
    EXPECT_TRUE(config.origins.empty());
}

TEST(BuildConfig, MissingExplicitFile_IsAnError) {
    EXPECT_THROW(buildConfig(parse({"--config", "/nonexistent/tenderkeyd.toml"})),
                 service::ConfigError);
}

TEST(BuildConfig, FlagsOverrideTheFile) {
    const auto path = std::filesystem::temp_directory_path() / "tk-command-line-test.toml";
    {
        std::ofstream out(path);
        out << "[log]\nlevel = \"warn\"\n[[listeners]]\naddress = \"127.0.0.1\"\nport = 7000\n"
               "[[listeners]]\naddress = \"::1\"\nport = 7000\n"
               "[[origins]]\norigin = \"https://file.example\"\n";
    }
    const auto config =
        buildConfig(parse({"--config", path.string(), "--port", "7100", "--allow-origin",
                           "https://flag.example=read", "--log-level", "debug", "--dev"}));
    std::filesystem::remove(path);
    ASSERT_EQ(config.listeners.size(), 2u);
    EXPECT_EQ(config.listeners[0].port, 7100);
    EXPECT_EQ(config.listeners[1].port, 7100);
    ASSERT_EQ(config.origins.size(), 2u);
    EXPECT_EQ(config.origins[1].pattern, "https://flag.example");
    EXPECT_EQ(config.origins[1].capabilities,
              service::Capabilities(static_cast<std::uint8_t>(service::Capability::Read)));
    EXPECT_EQ(config.logLevel, "debug");
    EXPECT_TRUE(config.developmentMode);
}

TEST(BuildConfig, BadFlagValues_ConfigError) {
    EXPECT_THROW(buildConfig(parse({"--allow-origin", "http://evil.example"}), "/nonexistent"),
                 service::ConfigError);
    EXPECT_THROW(buildConfig(parse({"--allow-origin", "https://*.gov.tw"}), "/nonexistent"),
                 service::ConfigError);
    EXPECT_THROW(buildConfig(parse({"--log-level", "loud"}), "/nonexistent"), service::ConfigError);
}

}  // namespace
}  // namespace tk::daemon
