#pragma once

// How tenderkey finds and talks to the running daemon. The platform seam: daemon_link.cpp holds
// what every platform shares (the listeners of a configuration, the /health document, the
// --reload modes); daemon_link_posix.cpp (BSD sockets; systemd or SIGHUP) and
// daemon_link_windows.cpp (Winsock; the Service Control Manager) the rest, chosen by CMake.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "service/config.hpp"

namespace tk::cli {

// The configuration file tenderkeyd reads when started without --config:
// /etc/tenderkey/tenderkeyd.toml; on Windows %ProgramData%\TenderKey\tenderkeyd.toml.
std::string defaultConfigPath();

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
    // The program listening on the port, "name.exe (pid N)", where the system tells it
    // (Windows: GetExtendedTcpTable); empty elsewhere.
    std::string holder;
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

// How the running daemon is told to read its configuration again. Auto and None everywhere;
// Systemd and Signal on POSIX, Service (the Service Control Manager) on Windows.
enum class ReloadMode { Auto, Systemd, Signal, Service, None };
// Throws UsageError for a mode unknown or not available on this platform.
ReloadMode reloadModeFrom(const std::optional<std::string>& value);

struct ReloadOutcome {
    std::string method;  // "systemd", "signal", "service", "none"
    bool reloaded = false;
    std::vector<std::int64_t> pids;  // the processes asked to reload
    std::string message;
};

// POSIX, Auto: `systemctl reload tenderkeyd.service` when systemd runs the unit, else SIGHUP to
// every tenderkeyd process whose configuration file is `configPath`. Windows, Auto:
// SERVICE_CONTROL_PARAMCHANGE to the running TenderKey service when it reads `configPath`.
// Throws ReloadFailed.
ReloadOutcome reloadDaemon(const std::string& configPath, ReloadMode mode);

namespace detail {
// Shared by the platform files: the request, whether a response is complete, and what it says.
std::string healthRequest(const Endpoint& endpoint);
bool responseComplete(const std::string& response);
void readHealthResponse(const std::string& response, Probe& probe);
// The --reload values this platform knows (besides auto and none).
bool platformReloadMode(const std::string& value, ReloadMode& mode);

// The platform's non-blocking socket to one listener, with the probe's deadline: what
// probeOver() needs from BSD sockets or Winsock.
class ProbeSocket {
  public:
    enum class Connect { Connected, Refused, AddressUnavailable, Failed };
    enum class Io { Done, Again, TimedOut, Failed };
    virtual ~ProbeSocket() = default;
    // Connects; `message` says why for AddressUnavailable and Failed.
    virtual Connect connect(std::string& message) = 0;
    // Waits until the socket takes data, then sends what it takes of `data`: Done with `count`
    // set (0 when it would block), TimedOut, or Failed with `message`.
    virtual Io send(std::string_view data, std::size_t& count, std::string& message) = 0;
    // Waits for data: Done with `count` set (0: the peer closed), Again (try again), TimedOut,
    // or Failed.
    virtual Io receive(char* buffer, std::size_t size, std::size_t& count) = 0;
};

// The probe over `socket`: connects, asks GET /health (not on a TLS listener) and reads the
// answer into `probe`.
Probe probeOver(const Endpoint& endpoint, ProbeSocket& socket, Probe probe);
}  // namespace detail

}  // namespace tk::cli
