#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "service/capabilities.hpp"

namespace tk::service {

// One listening socket. Only loopback addresses are accepted (checked when loading).
struct ListenerConfig {
    std::string address = "127.0.0.1";  // "127.0.0.1", "::1" (also "localhost" = both)
    std::uint16_t port = 61261;
    std::optional<std::string> certificateFile;  // both set: this listener speaks wss://
    std::optional<std::string> privateKeyFile;
};

// One allow-list entry: an exact origin ("https://web.pcc.gov.tw") or a subdomain wildcard
// ("https://*.pcc.gov.tw"), with the capabilities it grants.
struct OriginEntry {
    std::string pattern;
    Capabilities capabilities = Capabilities::defaults();
};

struct Limits {
    std::size_t maxMessageBytes = std::size_t{1024} * 1024;
    int maxConnections = 32;
    int maxInFlightPerConnection = 8;
    std::chrono::seconds operationTimeout{60};
    std::chrono::seconds pinpadTimeout{120};
    // Largest decoded size of one binary parameter (sign `data`, decrypt `cms` and
    // `ciphertext`); larger is PAYLOAD_TOO_LARGE. 0: only the message size limits them.
    std::size_t maxParameterBytes = 0;
};

// [hipki] (docs/hipki.md): the HiPKI dialect for the portals that speak it.
struct HipkiConfig {
    // true: on (the daemon holds both loopback addresses or refuses to start); false: off.
    // Unset: on exactly when the service manager hands over sockets at `port`
    // (tenderkeyd-hipki.socket, which the package enables only when the port was free).
    std::optional<bool> enabled;
    // allow_sha1: MakeSignature may sign SHA-1 (the API never does).
    bool allowSha1 = false;
    // local_programs: what a local program (a POST to /sign, /decrypt, /pkcs11info without any
    // browser header) may do: read, sign, sign-raw, decrypt. None (the default): refused.
    Capabilities localPrograms;
    // What the pages compare against their minimum versions (as strings).
    std::string serverVersion = "1.3.4.999999";
    // The HiPKI listener: 127.0.0.1 and ::1 on this port (the portals use 61161; another port
    // only for tests).
    std::uint16_t port = 61161;
};

struct Config {
    std::vector<ListenerConfig> listeners{ListenerConfig{}};
    std::vector<OriginEntry> origins;
    Limits limits;
    std::string logLevel = "info";  // trace, debug, info, warn, error, off
    std::string logSink = "auto";   // auto (journald under systemd, else stderr), stderr, journald
    bool developmentMode = false;   // --dev: Virtual PCD readers are used
    bool allowNoPinKeys = false;    // keys that need no PIN (PIV 9E) become usable
    // [pin] page_supplied = false: a request of a page that carries a PIN or PUK is refused,
    // so secrets come only from the bridge window or a PIN pad.
    bool pagePins = true;
    // [pkcs11] modules: absolute paths of PKCS#11 modules (also --pkcs11-module).
    std::vector<std::string> pkcs11Modules;
    // [pkcs11] prefer = "pkcs11": a module's token is used even for a card with the PIV
    // application; "piv" (the default) uses PIV natively where the card has it.
    bool preferPkcs11 = false;
    // state_directory: where the daemon keeps what it learns between runs (PUK counters).
    // $STATE_DIRECTORY (systemd's StateDirectory=) wins over it; see service/state/.
    std::optional<std::string> stateDirectory;
    HipkiConfig hipki;
    // [consent]: the user may allow origins without an entry in the bridge window.
    bool consentEnabled = true;
    std::vector<std::string> consentDeny;   // never offered (origins or wildcard patterns)
    int consentDays = 180;                  // an "Always allow" lasts this long
    std::optional<std::string> sourceFile;  // where it was loaded from, for messages
};

// A configuration that cannot be used: names the file and line when it came from one.
class ConfigError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Reads a TOML configuration file (see daemon/service/tenderkeyd.example.toml) and validates
// it: loopback-only listeners, origin entries (no http: except loopback hosts, no wildcard on
// a public suffix, no "null"), known capability names and log levels, sane limits.
// Throws ConfigError with "FILE:LINE: what is wrong".
Config loadConfigFile(const std::string& path);

// Parses one --allow-origin value: "ORIGIN" (default capabilities) or "ORIGIN=read,sign,manage".
// Throws ConfigError.
OriginEntry parseOriginArgument(const std::string& value);

// The checks loadConfigFile applies, for a configuration changed by command-line flags.
void validateConfig(const Config& config);

}  // namespace tk::service
