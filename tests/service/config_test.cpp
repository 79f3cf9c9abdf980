#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "service/config.hpp"

namespace tk::service {
namespace {

namespace fs = std::filesystem;

class ConfigFile : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("tk-config-test-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::string write(const std::string& text, const std::string& name = "tenderkeyd.toml") {
        const fs::path path = dir_ / name;
        std::ofstream(path) << text;
        return path.string();
    }

    // The message of the ConfigError loading `text` throws, or "" (a test failure) if it loads.
    std::string errorOf(const std::string& text) {
        const std::string path = write(text);
        try {
            (void)loadConfigFile(path);
        } catch (const ConfigError& e) {
            return e.what();
        }
        ADD_FAILURE() << "loaded:\n" << text;
        return {};
    }

    // Expects the error to be "FILE:LINE: ..." with `line` and `fragment` in the text.
    void expectError(const std::string& text, int line, const std::string& fragment) {
        const std::string message = errorOf(text);
        const std::string prefix =
            (dir_ / "tenderkeyd.toml").string() + ":" + std::to_string(line) + ": ";
        EXPECT_EQ(message.rfind(prefix, 0), 0u) << "expected " << prefix << "... got: " << message;
        EXPECT_NE(message.find(fragment), std::string::npos)
            << "expected '" << fragment << "' in: " << message;
    }

    fs::path dir_;
};

TEST_F(ConfigFile, FullFileLoads) {
    const std::string key = write("key", "tls.key");
    const std::string crt = write("crt", "tls.crt");
    const Config config = loadConfigFile(write(R"(
development_mode = true
allow_no_pin_keys = true

[log]
level = "debug"
sink = "stderr"

[limits]
max_message_bytes = 65536
max_connections = 4
max_in_flight_per_connection = 2
operation_timeout_seconds = 30
pinpad_timeout_seconds = 90
max_parameter_bytes = 4096

[[listeners]]
address = "127.0.0.1"
port = 61261

[[listeners]]
address = "[::1]"
port = 61262
certificate = ")" + crt + R"("
private_key = ")" + key + R"("

[[origins]]
origin = "https://web.pcc.gov.tw"

[[origins]]
origin = "https://*.PCC.gov.tw"
capabilities = ["read", "manage"]
)"));
    EXPECT_TRUE(config.developmentMode);
    EXPECT_TRUE(config.allowNoPinKeys);
    EXPECT_EQ(config.logLevel, "debug");
    EXPECT_EQ(config.logSink, "stderr");
    EXPECT_EQ(config.limits.maxMessageBytes, 65536u);
    EXPECT_EQ(config.limits.maxConnections, 4);
    EXPECT_EQ(config.limits.maxInFlightPerConnection, 2);
    EXPECT_EQ(config.limits.operationTimeout, std::chrono::seconds(30));
    EXPECT_EQ(config.limits.pinpadTimeout, std::chrono::seconds(90));
    EXPECT_EQ(config.limits.maxParameterBytes, 4096u);
    ASSERT_EQ(config.listeners.size(), 2u);
    EXPECT_EQ(config.listeners[0].address, "127.0.0.1");
    EXPECT_FALSE(config.listeners[0].certificateFile.has_value());
    EXPECT_EQ(config.listeners[1].address, "::1");
    EXPECT_EQ(config.listeners[1].port, 61262);
    EXPECT_EQ(config.listeners[1].certificateFile, crt);
    EXPECT_EQ(config.listeners[1].privateKeyFile, key);
    ASSERT_EQ(config.origins.size(), 2u);
    EXPECT_EQ(config.origins[0].pattern, "https://web.pcc.gov.tw");
    EXPECT_EQ(config.origins[0].capabilities, Capabilities::defaults());
    EXPECT_EQ(config.origins[1].pattern, "https://*.pcc.gov.tw");
    EXPECT_TRUE(config.origins[1].capabilities.has(Capability::Manage));
    EXPECT_TRUE(config.origins[1].capabilities.has(Capability::Read));
    EXPECT_FALSE(config.origins[1].capabilities.has(Capability::Sign));
    EXPECT_EQ(config.sourceFile, dir_ / "tenderkeyd.toml");
}

TEST_F(ConfigFile, StateDirectory_AbsolutePathLoads_RelativeRefused) {
    EXPECT_EQ(loadConfigFile(write("state_directory = \"/srv/tenderkey\"\n")).stateDirectory,
              std::optional<std::string>("/srv/tenderkey"));
    EXPECT_EQ(loadConfigFile(write("")).stateDirectory, std::nullopt);
    expectError("\nstate_directory = \"state\"\n", 2, "state_directory must be an absolute path");
}

TEST_F(ConfigFile, Hipki_OffByDefault_EnabledAndServerVersion) {
    Config config = loadConfigFile(write(""));
    EXPECT_EQ(config.hipki.enabled, std::nullopt);  // on when its sockets are handed over
    EXPECT_EQ(config.hipki.serverVersion, "1.3.4.999999");
    config = loadConfigFile(write("[hipki]\nenabled = true\nserver_version = \"1.3.5.1\"\n"));
    EXPECT_EQ(config.hipki.enabled, true);
    EXPECT_EQ(config.hipki.serverVersion, "1.3.5.1");
    EXPECT_EQ(loadConfigFile(write("[hipki]\nenabled = false\n")).hipki.enabled, false);
    expectError("[hipki]\nserver_version = \"\"\n", 2, "hipki.server_version must be");
    expectError("[hipki]\nenabled = \"yes\"\n", 2, "hipki.enabled");
    EXPECT_EQ(config.hipki.port, 61161);
    EXPECT_EQ(loadConfigFile(write("[hipki]\nport = 62000\n")).hipki.port, 62000);
    expectError("[hipki]\nport = 0\n", 2, "hipki.port must be 1-65535");
}

TEST_F(ConfigFile, Hipki_AllowSha1AndLocalPrograms_OffByDefault_OnlyTheHipkiCapabilities) {
    Config config = loadConfigFile(write(""));
    EXPECT_FALSE(config.hipki.allowSha1);
    EXPECT_EQ(config.hipki.localPrograms, Capabilities{});
    config = loadConfigFile(
        write("[hipki]\nallow_sha1 = true\nlocal_programs = [\"read\", \"sign-raw\"]\n"));
    EXPECT_TRUE(config.hipki.allowSha1);
    EXPECT_TRUE(config.hipki.localPrograms.has(Capability::Read));
    EXPECT_TRUE(config.hipki.localPrograms.has(Capability::SignRaw));
    EXPECT_FALSE(config.hipki.localPrograms.has(Capability::Sign));
    EXPECT_EQ(loadConfigFile(write("[hipki]\nlocal_programs = []\n")).hipki.localPrograms,
              Capabilities{});
    expectError("[hipki]\nallow_sha1 = 1\n", 2, "hipki.allow_sha1");
    expectError("[hipki]\nlocal_programs = \"read\"\n", 2, "must be an array");
    for (const std::string name : {"register", "manage", "sign-cms", "write"}) {
        expectError("[hipki]\nlocal_programs = [\"read\", \"" + name + "\"]\n", 2,
                    "unknown hipki.local_programs capability \"" + name + "\"");
    }
}

TEST_F(ConfigFile, EmptyFileGivesTheDefaults) {
    const Config config = loadConfigFile(write(""));
    ASSERT_EQ(config.listeners.size(), 1u);
    EXPECT_EQ(config.listeners[0].address, "127.0.0.1");
    EXPECT_EQ(config.listeners[0].port, 61261);
    EXPECT_TRUE(config.origins.empty());
    EXPECT_EQ(config.limits.maxMessageBytes, 1024u * 1024u);
    EXPECT_EQ(config.limits.operationTimeout, std::chrono::seconds(60));
    EXPECT_EQ(config.limits.pinpadTimeout, std::chrono::seconds(120));
    EXPECT_EQ(config.logLevel, "info");
    EXPECT_FALSE(config.developmentMode);
    EXPECT_FALSE(config.allowNoPinKeys);
}

TEST_F(ConfigFile, PinPageSupplied_DefaultTrue_FalseTurnsPagePinsOff) {
    EXPECT_TRUE(loadConfigFile(write("")).pagePins);
    EXPECT_TRUE(loadConfigFile(write("[pin]\npage_supplied = true\n")).pagePins);
    EXPECT_FALSE(loadConfigFile(write("[pin]\npage_supplied = false\n")).pagePins);
    EXPECT_THROW(loadConfigFile(write("[pin]\npage_supplied = \"no\"\n")), ConfigError);
    EXPECT_THROW(loadConfigFile(write("[pin]\nsupplied = false\n")), ConfigError);
}

TEST_F(ConfigFile, ExampleFileLoadsAndItsCommentedOriginsAreValid) {
    const std::string example =
        std::string(TK_SOURCE_DIR) + "/daemon/service/tenderkeyd.example.toml";
    const Config config = loadConfigFile(example);
    EXPECT_EQ(config.listeners.size(), 2u);
    // The e-procurement portal is allowed out of the box, without manage.
    ASSERT_EQ(config.origins.size(), 1u);
    EXPECT_EQ(config.origins[0].pattern, "https://web.pcc.gov.tw");
    EXPECT_EQ(config.origins[0].capabilities, Capabilities::defaults());

    // Uncomment the [[origins]] examples and load them too.
    std::ifstream in(example);
    std::stringstream uncommented;
    std::string line;
    bool inOrigins = false;
    while (std::getline(in, line)) {
        if (line.rfind("# [[origins]]", 0) == 0) {
            inOrigins = true;
        }
        const bool example = inOrigins && (line.rfind("# [[origins]]", 0) == 0 ||
                                           line.rfind("# origin = ", 0) == 0 ||
                                           line.rfind("# capabilities = ", 0) == 0);
        uncommented << (example ? line.substr(2) : line) << "\n";
    }
    const Config withOrigins = loadConfigFile(write(uncommented.str()));
    ASSERT_EQ(withOrigins.origins.size(), 4u);
    EXPECT_EQ(withOrigins.origins[0].pattern, "https://web.pcc.gov.tw");
    EXPECT_EQ(withOrigins.origins[1].pattern, "https://*.pcc.gov.tw");
    EXPECT_TRUE(withOrigins.origins[2].capabilities.has(Capability::Manage));
}

TEST_F(ConfigFile, NonLoopbackListenAddressIsRefusedWithItsLine) {
    expectError("[[listeners]]\naddress = \"0.0.0.0\"\n", 2,
                "listen address 0.0.0.0 is not a loopback address");
    expectError("\n[[listeners]]\naddress = \"192.168.1.5\"\n", 3, "is not a loopback address");
    expectError("[[listeners]]\naddress = \"::\"\n", 2, "is not a loopback address");
    expectError("[[listeners]]\naddress = \"example.com\"\n", 2, "is not a loopback address");
    expectError("[[listeners]]\naddress = \"127.0.0.2\"\n", 2, "use 127.0.0.1, ::1 or localhost");
}

TEST_F(ConfigFile, ListenerMistakesNameTheirLine) {
    expectError("[[listeners]]\nport = 0\n", 2, "between 1 and 65535");
    expectError("[[listeners]]\nport = 70000\n", 2, "between 1 and 65535");
    expectError("[[listeners]]\nport = \"61261\"\n", 2, "must be an integer");
    expectError("[[listeners]]\nport = 1\n[[listeners]]\nport = 1\n", 3, "listed twice");
    expectError("listeners = []\n", 1, "must not be empty");
    expectError("[[listeners]]\ncertificate = \"/nonexistent/tls.crt\"\n", 2, "cannot read");
    const std::string crt = write("crt", "only.crt");
    expectError("[[listeners]]\ncertificate = \"" + crt + "\"\n", 1, "both certificate and");
}

TEST_F(ConfigFile, OriginMistakesNameTheirLine) {
    expectError("[[origins]]\norigin = \"https://*.gov.tw\"\n", 2, "public suffix gov.tw");
    expectError("[[origins]]\norigin = \"http://web.pcc.gov.tw\"\n", 2, "http:");
    expectError("[[origins]]\norigin = \"null\"\n", 2, "null");
    expectError("[[origins]]\norigin = \"https://web.pcc.gov.tw/path\"\n", 2, "path");
    expectError("[[origins]]\norigin = \"web.pcc.gov.tw\"\n", 2, "scheme://host");
    expectError("[[origins]]\ncapabilities = [\"read\"]\n", 1, "needs origin");
    expectError("[[origins]]\norigin = \"https://a.tw\"\ncapabilities = [\"root\"]\n", 3,
                "unknown capability \"root\"");
    expectError("[[origins]]\norigin = \"https://a.tw\"\ncapabilities = []\n", 3,
                "empty capability list");
    expectError("[[origins]]\norigin = \"https://a.tw\"\ncapabilities = \"read\"\n", 3,
                "array of strings");
    expectError("[[origins]]\norigin = 5\n", 2, "must be a string");
    expectError(
        "[[origins]]\norigin = \"https://a.tw\"\n\n[[origins]]\norigin = \"https://A.tw:443\"\n", 5,
        "listed twice (first at line 2)");
}

TEST_F(ConfigFile, LimitsOutOfRangeNameTheirLine) {
    expectError("[limits]\nmax_connections = 0\n", 2, "limits.max_connections must be between");
    expectError("[limits]\noperation_timeout_seconds = -5\n", 2, "operation_timeout_seconds");
    expectError("[limits]\nmax_message_bytes = 10\n", 2, "max_message_bytes");
    expectError("[limits]\nmax_in_flight_per_connection = 1.5\n", 2, "must be an integer");
    expectError("limits = 3\n", 1, "must be a table");
}

TEST_F(ConfigFile, UnknownKeysAndValuesAreRefused) {
    expectError("listen_port = 1\n", 1, "unknown key \"listen_port\" at the top level");
    expectError("[limits]\n\ntimeout = 3\n", 3, "unknown key \"timeout\" in [limits]");
    expectError("[log]\nlevel = \"verbose\"\n", 2, "log level \"verbose\"");
    expectError("[log]\nsink = \"syslog\"\n", 2, "log sink \"syslog\"");
    expectError("development_mode = \"yes\"\n", 1, "true or false");
}

TEST_F(ConfigFile, TomlSyntaxErrorNamesItsLine) {
    expectError("[log]\nlevel = \"info\n", 2, "");
    expectError("[[origins]]\norigin = \"https://a.tw\"\n\n[log\n", 4, "");
}

TEST_F(ConfigFile, MissingFileIsAClearError) {
    try {
        (void)loadConfigFile((dir_ / "absent.toml").string());
        FAIL() << "loaded a missing file";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("absent.toml: cannot read"), std::string::npos)
            << e.what();
    }
}

TEST(OriginArgument, DefaultAndExplicitCapabilities) {
    const OriginEntry plain = parseOriginArgument("https://web.pcc.gov.tw");
    EXPECT_EQ(plain.pattern, "https://web.pcc.gov.tw");
    EXPECT_EQ(plain.capabilities, Capabilities::defaults());
    EXPECT_FALSE(plain.capabilities.has(Capability::Manage));

    const OriginEntry explicitSet = parseOriginArgument("https://*.pcc.gov.tw=read,sign,manage");
    EXPECT_EQ(explicitSet.pattern, "https://*.pcc.gov.tw");
    EXPECT_TRUE(explicitSet.capabilities.has(Capability::Read));
    EXPECT_TRUE(explicitSet.capabilities.has(Capability::Sign));
    EXPECT_TRUE(explicitSet.capabilities.has(Capability::Manage));
    EXPECT_FALSE(explicitSet.capabilities.has(Capability::Decrypt));
    EXPECT_FALSE(explicitSet.capabilities.has(Capability::Register));
}

TEST(OriginArgument, RefusalsNameTheArgument) {
    const auto refusal = [](const std::string& value) {
        try {
            (void)parseOriginArgument(value);
        } catch (const ConfigError& e) {
            return std::string(e.what());
        }
        ADD_FAILURE() << value << " was accepted";
        return std::string();
    };
    EXPECT_EQ(refusal("https://*.com.tw").rfind("--allow-origin https://*.com.tw: ", 0), 0u);
    EXPECT_NE(refusal("https://*.com.tw").find("public suffix"), std::string::npos);
    EXPECT_NE(refusal("null").find("null"), std::string::npos);
    EXPECT_NE(refusal("https://a.tw=read,admin").find("unknown capability \"admin\""),
              std::string::npos);
    EXPECT_NE(refusal("https://a.tw=").find("empty capability list"), std::string::npos);
    EXPECT_NE(refusal("http://example.com").find("http:"), std::string::npos);
}

TEST(ValidateConfig, AppliesTheFileRulesToFlagChanges) {
    Config config;
    EXPECT_NO_THROW(validateConfig(config));
    config.origins.push_back(parseOriginArgument("https://web.pcc.gov.tw"));
    EXPECT_NO_THROW(validateConfig(config));

    Config badAddress = config;
    badAddress.listeners[0].address = "0.0.0.0";
    EXPECT_THROW(validateConfig(badAddress), ConfigError);

    Config duplicate = config;
    duplicate.origins.push_back(OriginEntry{"https://WEB.pcc.gov.tw", Capabilities::defaults()});
    EXPECT_THROW(validateConfig(duplicate), ConfigError);

    Config badOrigin = config;
    badOrigin.origins.push_back(OriginEntry{"https://*.gov.tw", Capabilities::defaults()});
    EXPECT_THROW(validateConfig(badOrigin), ConfigError);

    Config badLevel = config;
    badLevel.logLevel = "loud";
    EXPECT_THROW(validateConfig(badLevel), ConfigError);

    Config badLimit = config;
    badLimit.limits.maxConnections = 0;
    EXPECT_THROW(validateConfig(badLimit), ConfigError);

    Config noListener = config;
    noListener.listeners.clear();
    EXPECT_THROW(validateConfig(noListener), ConfigError);

    Config port0 = config;
    port0.listeners[0].port = 0;
    EXPECT_THROW(validateConfig(port0), ConfigError);
}

}  // namespace
}  // namespace tk::service
