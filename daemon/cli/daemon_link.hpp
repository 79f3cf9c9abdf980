#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "service/config.hpp"

namespace tk::cli {

// The configuration file tenderkeyd reads when started without --config.
inline constexpr const char* kDefaultConfigPath = "/etc/tenderkey/tenderkeyd.toml";
// The systemd unit of the Debian package.
inline constexpr const char* kServiceUnit = "tenderkeyd.service";

// One socket to probe: a listener of the configuration ("localhost" stands for two sockets).
struct Endpoint {
    std::string address;  // "127.0.0.1" or "::1"
    std::uint16_t port = 0;
    bool tls = false;
    std::string url() const;
};

std::vector<Endpoint> endpointsOf(const service::Config& config);

// What is behind a listener's port.
struct Probe {
    enum class State {
        Ours,     // GET /health answered TenderKey's document
        Foreign,  // something else accepts connections on the port
        Free,     // connection refused: nothing listens
        Unknown,  // a TLS listener (not probed) or a timeout
    };
    State state = State::Unknown;
    std::string version;  // Ours
    int readers = 0;      // Ours
    std::string detail;   // what was seen, for messages
};

// Connects to the endpoint and asks GET /health with a valid Host header.
Probe probeEndpoint(const Endpoint& endpoint,
                    std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));

// The configuration the daemon runs with: the file when it exists; the built-in defaults when
// the default file is absent (as tenderkeyd does). Throws service::ConfigError.
struct LoadedConfig {
    service::Config config;
    bool fromFile = false;
};
LoadedConfig loadConfigLikeDaemon(const std::string& path, bool explicitPath);

// How the running daemon is told to read its configuration again.
enum class ReloadMode { Auto, Systemd, Signal, None };
ReloadMode reloadModeFrom(const std::optional<std::string>& value);

struct ReloadOutcome {
    std::string method;  // "systemd", "signal", "none"
    bool reloaded = false;
    std::vector<pid_t> pids;  // signalled processes
    std::string message;
};

// Auto: `systemctl reload tenderkeyd.service` when systemd runs the unit, else SIGHUP to every
// tenderkeyd process whose configuration file is `configPath`. Throws ReloadFailed.
ReloadOutcome reloadDaemon(const std::string& configPath, ReloadMode mode);

// tenderkeyd processes reading `configPath` (their --config, or the default path).
std::vector<pid_t> daemonProcessesFor(const std::string& configPath);
// Every tenderkeyd process.
std::vector<pid_t> daemonProcesses();

// Runs a program (PATH search), output discarded unless `output` is given; its exit status, or
// -1 when it could not be started.
int runProgram(const std::vector<std::string>& argv, std::string* output = nullptr);

}  // namespace tk::cli
