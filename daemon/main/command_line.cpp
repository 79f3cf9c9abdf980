#include "main/command_line.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <system_error>

#if defined(_WIN32)
#include "main/windows_paths.hpp"
#endif

namespace tk::daemon {

CommandLine parseCommandLine(std::span<const std::string> args) {
    CommandLine result;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string name = args[i];
        std::optional<std::string> inlineValue;
        if (const auto equals = name.find('=');
            name.rfind("--", 0) == 0 && equals != std::string::npos) {
            inlineValue = name.substr(equals + 1);
            name = name.substr(0, equals);
        }
        const auto value = [&]() -> std::string {
            if (inlineValue) {
                return *inlineValue;
            }
            if (i + 1 >= args.size()) {
                throw UsageError(name + " needs a value");
            }
            return args[++i];
        };
        const auto noValue = [&] {
            if (inlineValue) {
                throw UsageError(name + " takes no value");
            }
        };
        if (name == "--config") {
            result.configPath = value();
        } else if (name == "--port") {
            const std::string text = value();
            unsigned port = 0;
            const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), port);
            if (error != std::errc() || end != text.data() + text.size() || port < 1 ||
                port > 65535) {
                throw UsageError("--port wants a number from 1 to 65535, not \"" + text + "\"");
            }
            result.port = static_cast<std::uint16_t>(port);
        } else if (name == "--allow-origin") {
            result.allowOrigins.push_back(value());
        } else if (name == "--pkcs11-module") {
            result.pkcs11Modules.push_back(value());
        } else if (name == "--log-level") {
            result.logLevel = value();
        } else if (name == "--dev") {
            noValue();
            result.developmentMode = true;
        } else if (name == "--version") {
            noValue();
            result.version = true;
        } else if (name == "--help" || name == "-h") {
            noValue();
            result.help = true;
        } else {
            throw UsageError("unknown argument \"" + name + "\"");
        }
    }
    return result;
}

std::string usageText() {
    return std::string(
               "Usage: tenderkeyd [OPTION]...\n"
               "TenderKey: the smart-card daemon behind the WebSocket API for procurement "
               "portals.\n\n"
               "  --config PATH          configuration file (default ") +
           defaultConfigPath() +
           ";\n"
           "                         a missing default file means the built-in defaults)\n"
           "  --port N               port of every listener (default 61261)\n"
           "  --allow-origin ORIGIN[=CAPS]\n"
           "                         allow a web origin (added to the file's list); repeatable.\n"
           "                         CAPS: comma-separated read,sign,decrypt,register,manage\n"
           "                         (default read,sign,decrypt,register)\n"
           "  --log-level LEVEL      trace, debug, info, warn, error or off\n"
           "  --dev                  development mode: use Virtual PCD (test) readers\n"
           "  --pkcs11-module PATH   PKCS#11 module (absolute path) for cards without PIV and\n"
           "                         for tokens without a reader (added to the file's list);\n"
           "                         repeatable\n"
           "  --version              print the version and exit\n"
           "  --help                 print this help and exit\n\n"
           "Signals: SIGTERM/SIGINT stop (in-flight work gets up to 5 s), SIGHUP reloads the\n"
           "origin allow-list and the log level from the configuration file.\n"
           "Exit status: 0 stopped normally, 1 could not start (e.g. port in use),\n"
           "2 bad command line or configuration.\n";
}

std::string defaultConfigPath() {
#if defined(_WIN32)
    return configDirectory() + "\\tenderkeyd.toml";
#else
    return kDefaultConfigPath;
#endif
}

service::Config buildConfig(const CommandLine& commandLine, const std::string& defaultPath) {
    service::Config config;
    if (commandLine.configPath) {
        config = service::loadConfigFile(*commandLine.configPath);
    } else {
        std::error_code error;
        if (std::filesystem::exists(defaultPath, error)) {
            config = service::loadConfigFile(defaultPath);
        }
    }
    if (commandLine.port) {
        for (auto& listener : config.listeners) {
            listener.port = *commandLine.port;
        }
    }
    for (const auto& value : commandLine.allowOrigins) {
        config.origins.push_back(service::parseOriginArgument(value));
    }
    if (commandLine.logLevel) {
        config.logLevel = *commandLine.logLevel;
    }
    if (commandLine.developmentMode) {
        config.developmentMode = true;
    }
    for (const auto& module : commandLine.pkcs11Modules) {
        if (std::find(config.pkcs11Modules.begin(), config.pkcs11Modules.end(), module) ==
            config.pkcs11Modules.end()) {
            config.pkcs11Modules.push_back(module);
        }
    }
    service::validateConfig(config);
    return config;
}

}  // namespace tk::daemon
