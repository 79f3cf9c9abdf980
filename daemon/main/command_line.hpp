#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "service/config.hpp"

namespace tk::daemon {

inline constexpr const char* kDefaultConfigPath = "/etc/tenderkey/tenderkeyd.toml";

// The configuration file read when there is no --config: kDefaultConfigPath; on Windows
// %ProgramData%\TenderKey\tenderkeyd.toml (main/windows_paths.hpp).
std::string defaultConfigPath();

// The command line of tenderkeyd (see usageText()).
struct CommandLine {
    std::optional<std::string> configPath;  // --config; nullopt: the default path
    std::optional<std::uint16_t> port;      // --port
    std::vector<std::string> allowOrigins;  // --allow-origin, repeatable
    std::optional<std::string> logLevel;    // --log-level
    bool developmentMode = false;           // --dev
    bool version = false;                   // --version
    bool help = false;                      // --help
    // --pkcs11-module, repeatable
    std::vector<std::string> pkcs11Modules;
};

// A command line that cannot be understood.
class UsageError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Options as "--name value" or "--name=value". Throws UsageError.
CommandLine parseCommandLine(std::span<const std::string> args);

std::string usageText();

// The configuration to run with: the file (--config, or the default path, whose absence just
// means the defaults; an explicit file must exist), then the flags on top: --port sets every
// listener's port, --allow-origin adds to the file's allow-list, --log-level and --dev.
// Validated as a whole. Throws service::ConfigError ("FILE:LINE: what is wrong").
service::Config buildConfig(const CommandLine& commandLine,
                            const std::string& defaultPath = defaultConfigPath());

}  // namespace tk::daemon
