// The PKCS#11 settings of tenderkeyd: [pkcs11] in the TOML file and --pkcs11-module.

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "main/command_line.hpp"
#include "service/config.hpp"

namespace tk::daemon {
namespace {

class ConfigFile {
  public:
    explicit ConfigFile(const std::string& text) {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "tk-pkcs11-config.XXXXXX").string();
        const int fd = ::mkstemp(pattern.data());
        if (fd < 0) {
            throw std::runtime_error("mkstemp failed");
        }
        ::close(fd);
        path_ = pattern;
        std::ofstream(path_) << text;
    }
    ~ConfigFile() { std::filesystem::remove(path_); }
    ConfigFile(const ConfigFile&) = delete;
    ConfigFile& operator=(const ConfigFile&) = delete;
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

constexpr const char* kModule = "/usr/lib/softhsm/libsofthsm2.so";

TEST(Pkcs11Config, TomlModulesAndPrefer_Read) {
    ConfigFile file(std::string("[pkcs11]\nmodules = [\"") + kModule +
                    "\"]\nprefer = \"pkcs11\"\n");
    const service::Config config = service::loadConfigFile(file.path());
    EXPECT_EQ(config.pkcs11Modules, std::vector<std::string>{kModule});
    EXPECT_TRUE(config.preferPkcs11);
}

TEST(Pkcs11Config, NoSection_NoModulesAndPivPreferred) {
    ConfigFile file("log.level = \"info\"\n");
    const service::Config config = service::loadConfigFile(file.path());
    EXPECT_TRUE(config.pkcs11Modules.empty());
    EXPECT_FALSE(config.preferPkcs11);
}

TEST(Pkcs11Config, RelativeMissingOrBadValues_RefusedWithLine) {
    for (const std::string text : {"[pkcs11]\nmodules = [\"libsofthsm2.so\"]\n",
                                   "[pkcs11]\nmodules = [\"/nonexistent/m.so\"]\n",
                                   "[pkcs11]\nmodules = \"/usr/lib/softhsm/libsofthsm2.so\"\n",
                                   "[pkcs11]\nprefer = \"opensc\"\n", "[pkcs11]\nmodule = []\n"}) {
        ConfigFile file(text);
        try {
            service::loadConfigFile(file.path());
            ADD_FAILURE() << "accepted: " << text;
        } catch (const service::ConfigError& e) {
            EXPECT_NE(std::string(e.what()).find(file.path() + ":2:"), std::string::npos)
                << e.what();
        }
    }
}

TEST(Pkcs11Config, CommandLineModules_AddedToTheFileOnce) {
    ConfigFile file(std::string("[pkcs11]\nmodules = [\"") + kModule + "\"]\n");
    const std::vector<std::string> args{
        "--config", file.path(), "--pkcs11-module", kModule,
        "--pkcs11-module=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"};
    const CommandLine commandLine = parseCommandLine(args);
    EXPECT_EQ(commandLine.pkcs11Modules.size(), 2u);
    const service::Config config = buildConfig(commandLine);
    EXPECT_EQ(config.pkcs11Modules,
              (std::vector<std::string>{kModule, "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"}));
    EXPECT_NE(usageText().find("--pkcs11-module PATH"), std::string::npos);
}

TEST(Pkcs11Config, CommandLineRelativeModule_Refused) {
    const std::vector<std::string> args{"--config", "/dev/null", "--pkcs11-module", "m.so"};
    EXPECT_THROW(buildConfig(parseCommandLine(args)), service::ConfigError);
}

}  // namespace
}  // namespace tk::daemon
