#include "service/config.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string_view>
#include <variant>

#include <toml++/toml.h>

#include "service/origin.hpp"

namespace tk::service {
namespace {

constexpr std::array<std::string_view, 6> kLogLevels{"trace", "debug", "info",
                                                     "warn",  "error", "off"};
constexpr std::array<std::string_view, 3> kLogSinks{"auto", "stderr", "journald"};

template <std::size_t N>
bool isOneOf(const std::array<std::string_view, N>& list, std::string_view value) {
    return std::find(list.begin(), list.end(), value) != list.end();
}

template <std::size_t N>
std::string listText(const std::array<std::string_view, N>& list) {
    std::string out;
    for (const auto item : list) {
        out += out.empty() ? "" : ", ";
        out += item;
    }
    return out;
}

// A numeric limit and the range it must be in.
struct LimitRange {
    std::string_view key;
    std::int64_t min;
    std::int64_t max;
};

constexpr LimitRange kMaxMessageBytes{"max_message_bytes", 4096, std::int64_t{64} << 20};
constexpr LimitRange kMaxConnections{"max_connections", 1, 1024};
constexpr LimitRange kMaxInFlight{"max_in_flight_per_connection", 1, 256};
constexpr LimitRange kOperationTimeout{"operation_timeout_seconds", 1, 3600};
constexpr LimitRange kPinpadTimeout{"pinpad_timeout_seconds", 1, 3600};
constexpr LimitRange kMaxParameterBytes{"max_parameter_bytes", 0, std::int64_t{64} << 20};

std::optional<std::string> rangeProblem(const LimitRange& range, std::int64_t value) {
    if (value < range.min || value > range.max) {
        return "limits." + std::string(range.key) + " must be between " +
               std::to_string(range.min) + " and " + std::to_string(range.max) + " (got " +
               std::to_string(value) + ")";
    }
    return std::nullopt;
}

// The listen address, normalised ("[::1]" -> "::1", "LOCALHOST" -> "localhost"), or the
// reason it is refused.
std::variant<std::string, std::string> normaliseAddress(std::string_view address) {
    using Result = std::variant<std::string, std::string>;
    std::string text(address);
    std::transform(text.begin(), text.end(), text.begin(),
                   [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; });
    if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
        text = text.substr(1, text.size() - 2);
    }
    if (text == "127.0.0.1" || text == "::1" || text == "localhost") {
        return Result(std::in_place_index<0>, text);
    }
    in_addr v4{};
    in6_addr v6{};
    bool loopback = false;
    if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
        loopback = (ntohl(v4.s_addr) >> 24) == 127;
    } else if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
        loopback = IN6_IS_ADDR_LOOPBACK(&v6) != 0 ||
                   (IN6_IS_ADDR_V4MAPPED(&v6) != 0 && v6.s6_addr[12] == 127);
    }
    if (loopback) {
        return Result(std::in_place_index<1>,
                      "listen address " + std::string(address) +
                          " is not supported (use 127.0.0.1, ::1 or localhost)");
    }
    return Result(std::in_place_index<1>,
                  "listen address " + std::string(address) + " is not a loopback address");
}

std::optional<std::string> listenerProblem(const ListenerConfig& listener) {
    const auto address = normaliseAddress(listener.address);
    if (address.index() == 1) {
        return std::get<1>(address);
    }
    if (listener.port == 0) {
        return std::string("listen port must be between 1 and 65535");
    }
    if (listener.certificateFile.has_value() != listener.privateKeyFile.has_value()) {
        return std::string(
            "a listener needs both certificate and private_key for wss://, or "
            "neither");
    }
    return std::nullopt;
}

std::optional<std::string> logLevelProblem(const std::string& level) {
    if (!isOneOf(kLogLevels, level)) {
        return "log level \"" + level + "\" is not one of " + listText(kLogLevels);
    }
    return std::nullopt;
}

std::optional<std::string> logSinkProblem(const std::string& sink) {
    if (!isOneOf(kLogSinks, sink)) {
        return "log sink \"" + sink + "\" is not one of " + listText(kLogSinks);
    }
    return std::nullopt;
}

// A module is loaded by absolute path only: a bare name would be looked up in the library
// search path, which the environment of whoever starts the daemon can change. Absolute as the
// platform has it: /usr/lib/... on Linux, C:\...\HiCOSPKCS11.dll on Windows.
std::optional<std::string> pkcs11ModuleProblem(const std::string& path) {
    if (path.empty() || !std::filesystem::u8path(path).is_absolute()) {
        return "PKCS#11 module \"" + path + "\" must be an absolute path";
    }
    return std::nullopt;
}

std::string listenerKey(const ListenerConfig& listener) {
    const auto address = normaliseAddress(listener.address);
    return (address.index() == 0 ? std::get<0>(address) : listener.address) + " port " +
           std::to_string(listener.port);
}

// The canonical pattern, or the reason it is refused.
std::variant<std::string, std::string> canonicalPattern(const std::string& pattern) {
    using Result = std::variant<std::string, std::string>;
    auto parsed = parseOriginPattern(pattern);
    if (auto* problem = std::get_if<std::string>(&parsed)) {
        return Result(std::in_place_index<1>, *problem);
    }
    return Result(std::in_place_index<0>, std::get<OriginPattern>(parsed).text);
}

std::variant<Capabilities, std::string> capabilitiesFromNames(
    const std::vector<std::string>& names) {
    if (names.empty()) {
        return std::string(
            "an empty capability list grants nothing (leave it out for the "
            "default read, sign, decrypt, register)");
    }
    Capabilities capabilities;
    for (const std::string& name : names) {
        const auto capability = capabilityFromName(name);
        if (!capability) {
            return "unknown capability \"" + name +
                   "\" (known: read, sign, decrypt, register, manage, sign-raw)";
        }
        capabilities.add(*capability);
    }
    return capabilities;
}

// ---- TOML reading ---------------------------------------------------------------------------

class TomlReader {
  public:
    explicit TomlReader(std::string file) : file_(std::move(file)) {}

    [[noreturn]] void fail(const toml::source_region& where, const std::string& what) const {
        throw ConfigError(file_ + ":" + std::to_string(where.begin.line) + ": " + what);
    }

    // Refuses keys of `table` outside `known`, naming the first one.
    void onlyKeys(const toml::table& table, std::initializer_list<std::string_view> known,
                  std::string_view where) const {
        for (auto&& [key, node] : table) {
            if (std::find(known.begin(), known.end(), key.str()) == known.end()) {
                fail(key.source(), "unknown key \"" + std::string(key.str()) + "\"" +
                                       (where.empty() ? std::string(" at the top level")
                                                      : " in " + std::string(where)));
            }
        }
    }

    std::string string(const toml::node& node, std::string_view name) const {
        if (const auto* value = node.as_string()) {
            return value->get();
        }
        fail(node.source(), std::string(name) + " must be a string");
    }

    bool boolean(const toml::node& node, std::string_view name) const {
        if (const auto* value = node.as_boolean()) {
            return value->get();
        }
        fail(node.source(), std::string(name) + " must be true or false");
    }

    std::int64_t integer(const toml::node& node, std::string_view name) const {
        if (const auto* value = node.as_integer()) {
            return value->get();
        }
        fail(node.source(), std::string(name) + " must be an integer");
    }

    std::int64_t limit(const toml::node& node, const LimitRange& range) const {
        const std::int64_t value = integer(node, "limits." + std::string(range.key));
        if (const auto problem = rangeProblem(range, value)) {
            fail(node.source(), *problem);
        }
        return value;
    }

    const toml::table& table(const toml::node& node, std::string_view name) const {
        if (const auto* value = node.as_table()) {
            return *value;
        }
        fail(node.source(), std::string(name) + " must be a table ([" + std::string(name) + "])");
    }

    // An array of tables ([[name]]); an inline array of inline tables works too.
    const toml::array& tables(const toml::node& node, std::string_view name) const {
        const auto* array = node.as_array();
        if (array == nullptr) {
            fail(node.source(),
                 std::string(name) + " must be an array of tables ([[" + std::string(name) + "]])");
        }
        for (const toml::node& element : *array) {
            if (!element.is_table()) {
                fail(element.source(), "every " + std::string(name) + " entry must be a table");
            }
        }
        return *array;
    }

    Config read(const toml::table& root) const {
        Config config;
        config.sourceFile = file_;
        onlyKeys(root,
                 {"listeners", "origins", "limits", "log", "development_mode", "allow_no_pin_keys",
                  "pkcs11", "pin", "hipki", "consent", "state_directory"},
                 {});
        if (const toml::node* node = root.get("pkcs11")) {
            readPkcs11(table(*node, "pkcs11"), config);
        }
        if (const toml::node* node = root.get("development_mode")) {
            config.developmentMode = boolean(*node, "development_mode");
        }
        if (const toml::node* node = root.get("allow_no_pin_keys")) {
            config.allowNoPinKeys = boolean(*node, "allow_no_pin_keys");
        }
        if (const toml::node* node = root.get("state_directory")) {
            config.stateDirectory = string(*node, "state_directory");
            // Absolute as the platform has it (C:\ProgramData\... on Windows).
            if (config.stateDirectory->empty() ||
                !std::filesystem::u8path(*config.stateDirectory).is_absolute()) {
                fail(node->source(), "state_directory must be an absolute path");
            }
        }
        if (const toml::node* node = root.get("log")) {
            readLog(table(*node, "log"), config);
        }
        if (const toml::node* node = root.get("pin")) {
            const toml::table& pin = table(*node, "pin");
            onlyKeys(pin, {"page_supplied"}, "[pin]");
            if (const toml::node* value = pin.get("page_supplied")) {
                config.pagePins = boolean(*value, "pin.page_supplied");
            }
        }
        if (const toml::node* node = root.get("hipki")) {
            readHipki(table(*node, "hipki"), config.hipki);
        }
        if (const toml::node* node = root.get("consent")) {
            readConsent(table(*node, "consent"), config);
        }
        if (const toml::node* node = root.get("limits")) {
            readLimits(table(*node, "limits"), config.limits);
        }
        if (const toml::node* node = root.get("listeners")) {
            readListeners(*node, config);
        }
        if (const toml::node* node = root.get("origins")) {
            readOrigins(*node, config);
        }
        return config;
    }

  private:
    void readConsent(const toml::table& consent, Config& config) const {
        onlyKeys(consent, {"enabled", "deny", "days"}, "[consent]");
        if (const toml::node* node = consent.get("enabled")) {
            config.consentEnabled = boolean(*node, "consent.enabled");
        }
        if (const toml::node* node = consent.get("days")) {
            const std::int64_t days = integer(*node, "consent.days");
            if (days < 1 || days > 3650) {
                fail(node->source(), "consent.days must be from 1 to 3650");
            }
            config.consentDays = static_cast<int>(days);
        }
        if (const toml::node* node = consent.get("deny")) {
            const auto* list = node->as_array();
            if (list == nullptr) {
                fail(node->source(), "consent.deny must be an array of origins");
            }
            for (const toml::node& element : *list) {
                std::string entry = string(element, "every consent.deny entry");
                const auto parsed = parseOriginPattern(entry);
                if (const auto* problem = std::get_if<std::string>(&parsed)) {
                    fail(element.source(), "consent.deny: \"" + entry + "\": " + *problem);
                }
                config.consentDeny.push_back(std::move(entry));
            }
        }
    }

    void readHipki(const toml::table& hipki, HipkiConfig& config) const {
        onlyKeys(hipki, {"enabled", "server_version", "port", "allow_sha1", "local_programs"},
                 "[hipki]");
        if (const toml::node* value = hipki.get("allow_sha1")) {
            config.allowSha1 = boolean(*value, "hipki.allow_sha1");
        }
        if (const toml::node* value = hipki.get("local_programs")) {
            const auto* list = value->as_array();
            if (list == nullptr) {
                fail(value->source(), "hipki.local_programs must be an array of strings");
            }
            for (const toml::node& element : *list) {
                const std::string name = string(element, "every hipki.local_programs entry");
                const auto capability = capabilityFromName(name);
                // What the HiPKI functions need; nothing that manages PINs or registers.
                if (!capability ||
                    (*capability != Capability::Read && *capability != Capability::Sign &&
                     *capability != Capability::SignRaw && *capability != Capability::Decrypt)) {
                    fail(element.source(), "unknown hipki.local_programs capability \"" + name +
                                               "\" (known: read, sign, sign-raw, decrypt)");
                }
                config.localPrograms.add(*capability);
            }
        }
        if (const toml::node* value = hipki.get("port")) {
            const auto port = value->value<std::int64_t>();
            if (!port || *port < 1 || *port > 65535) {
                fail(value->source(), "hipki.port must be 1-65535");
            }
            config.port = static_cast<std::uint16_t>(*port);
        }
        if (const toml::node* value = hipki.get("enabled")) {
            config.enabled = boolean(*value, "hipki.enabled");
        }
        if (const toml::node* value = hipki.get("server_version")) {
            config.serverVersion = string(*value, "hipki.server_version");
            const bool printable =
                std::all_of(config.serverVersion.begin(), config.serverVersion.end(),
                            [](char c) { return c > 0x20 && c < 0x7f; });
            if (config.serverVersion.empty() || config.serverVersion.size() > 32 || !printable) {
                fail(value->source(),
                     "hipki.server_version must be 1-32 printable ASCII characters");
            }
        }
    }

    void readPkcs11(const toml::table& pkcs11, Config& config) const {
        onlyKeys(pkcs11, {"modules", "prefer"}, "[pkcs11]");
        if (const toml::node* node = pkcs11.get("modules")) {
            const auto* list = node->as_array();
            if (list == nullptr) {
                fail(node->source(), "pkcs11.modules must be an array of paths");
            }
            for (const toml::node& element : *list) {
                std::string path = string(element, "every pkcs11.modules entry");
                if (const auto problem = pkcs11ModuleProblem(path)) {
                    fail(element.source(), *problem);
                }
                checkReadable(element, path);
                config.pkcs11Modules.push_back(std::move(path));
            }
        }
        if (const toml::node* node = pkcs11.get("prefer")) {
            const std::string prefer = string(*node, "pkcs11.prefer");
            if (prefer != "piv" && prefer != "pkcs11") {
                fail(node->source(), "pkcs11.prefer must be \"piv\" or \"pkcs11\"");
            }
            config.preferPkcs11 = prefer == "pkcs11";
        }
    }

    void readLog(const toml::table& log, Config& config) const {
        onlyKeys(log, {"level", "sink"}, "[log]");
        if (const toml::node* node = log.get("level")) {
            config.logLevel = string(*node, "log.level");
            if (const auto problem = logLevelProblem(config.logLevel)) {
                fail(node->source(), *problem);
            }
        }
        if (const toml::node* node = log.get("sink")) {
            config.logSink = string(*node, "log.sink");
            if (const auto problem = logSinkProblem(config.logSink)) {
                fail(node->source(), *problem);
            }
        }
    }

    void readLimits(const toml::table& limits, Limits& out) const {
        onlyKeys(limits,
                 {kMaxMessageBytes.key, kMaxConnections.key, kMaxInFlight.key,
                  kOperationTimeout.key, kPinpadTimeout.key, kMaxParameterBytes.key},
                 "[limits]");
        if (const toml::node* node = limits.get(kMaxMessageBytes.key)) {
            out.maxMessageBytes = static_cast<std::size_t>(limit(*node, kMaxMessageBytes));
        }
        if (const toml::node* node = limits.get(kMaxConnections.key)) {
            out.maxConnections = static_cast<int>(limit(*node, kMaxConnections));
        }
        if (const toml::node* node = limits.get(kMaxInFlight.key)) {
            out.maxInFlightPerConnection = static_cast<int>(limit(*node, kMaxInFlight));
        }
        if (const toml::node* node = limits.get(kOperationTimeout.key)) {
            out.operationTimeout = std::chrono::seconds(limit(*node, kOperationTimeout));
        }
        if (const toml::node* node = limits.get(kPinpadTimeout.key)) {
            out.pinpadTimeout = std::chrono::seconds(limit(*node, kPinpadTimeout));
        }
        if (const toml::node* node = limits.get(kMaxParameterBytes.key)) {
            out.maxParameterBytes = static_cast<std::size_t>(limit(*node, kMaxParameterBytes));
        }
    }

    void readListeners(const toml::node& node, Config& config) const {
        const toml::array& array = tables(node, "listeners");
        if (array.empty()) {
            fail(node.source(), "listeners must not be empty (leave it out for 127.0.0.1:61261)");
        }
        config.listeners.clear();
        std::map<std::string, std::size_t> seen;
        for (const toml::node& element : array) {
            const toml::table& entry = *element.as_table();
            onlyKeys(entry, {"address", "port", "certificate", "private_key"}, "[[listeners]]");
            ListenerConfig listener;
            if (const toml::node* value = entry.get("address")) {
                listener.address = string(*value, "listeners.address");
                const auto address = normaliseAddress(listener.address);
                if (address.index() == 1) {
                    fail(value->source(), std::get<1>(address));
                }
                listener.address = std::get<0>(address);
            }
            if (const toml::node* value = entry.get("port")) {
                const std::int64_t port = integer(*value, "listeners.port");
                if (port < 1 || port > 65535) {
                    fail(value->source(), "listen port must be between 1 and 65535 (got " +
                                              std::to_string(port) + ")");
                }
                listener.port = static_cast<std::uint16_t>(port);
            }
            if (const toml::node* value = entry.get("certificate")) {
                listener.certificateFile = string(*value, "listeners.certificate");
                checkReadable(*value, *listener.certificateFile);
            }
            if (const toml::node* value = entry.get("private_key")) {
                listener.privateKeyFile = string(*value, "listeners.private_key");
                checkReadable(*value, *listener.privateKeyFile);
            }
            if (const auto problem = listenerProblem(listener)) {
                fail(element.source(), *problem);
            }
            const std::string key = listenerKey(listener);
            const auto [it, fresh] = seen.emplace(key, element.source().begin.line);
            if (!fresh) {
                fail(element.source(), "listener " + key + " is listed twice (first at line " +
                                           std::to_string(it->second) + ")");
            }
            config.listeners.push_back(std::move(listener));
        }
    }

    void checkReadable(const toml::node& node, const std::string& path) const {
        std::ifstream file(path);
        if (!file) {
            fail(node.source(), "cannot read " + path + ": " + std::strerror(errno));
        }
    }

    void readOrigins(const toml::node& node, Config& config) const {
        const toml::array& array = tables(node, "origins");
        std::map<std::string, std::size_t> seen;
        for (const toml::node& element : array) {
            const toml::table& entry = *element.as_table();
            onlyKeys(entry, {"origin", "capabilities"}, "[[origins]]");
            const toml::node* originNode = entry.get("origin");
            if (originNode == nullptr) {
                fail(element.source(), "an [[origins]] entry needs origin = \"https://...\"");
            }
            OriginEntry origin;
            const auto canonical = canonicalPattern(string(*originNode, "origins.origin"));
            if (canonical.index() == 1) {
                fail(originNode->source(), std::get<1>(canonical));
            }
            origin.pattern = std::get<0>(canonical);
            if (const toml::node* value = entry.get("capabilities")) {
                const auto* list = value->as_array();
                if (list == nullptr) {
                    fail(value->source(), "origins.capabilities must be an array of strings");
                }
                std::vector<std::string> names;
                for (const toml::node& name : *list) {
                    names.push_back(string(name, "every capability"));
                }
                auto capabilities = capabilitiesFromNames(names);
                if (auto* problem = std::get_if<std::string>(&capabilities)) {
                    fail(value->source(), *problem);
                }
                origin.capabilities = std::get<Capabilities>(capabilities);
            }
            const auto [it, fresh] = seen.emplace(origin.pattern, originNode->source().begin.line);
            if (!fresh) {
                fail(originNode->source(), "origin " + origin.pattern +
                                               " is listed twice (first at line " +
                                               std::to_string(it->second) + ")");
            }
            config.origins.push_back(std::move(origin));
        }
    }

    std::string file_;
};

}  // namespace

Config loadConfigFile(const std::string& path) {
    {
        std::ifstream probe(path);
        if (!probe) {
            throw ConfigError(path + ": cannot read the configuration: " + std::strerror(errno));
        }
    }
    TomlReader reader(path);
    toml::table root;
    try {
        root = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
        throw ConfigError(path + ":" + std::to_string(e.source().begin.line) + ": " +
                          std::string(e.description()));
    }
    Config config = reader.read(root);
    validateConfig(config);  // nothing left to find, but one rule set for files and flags
    return config;
}

OriginEntry parseOriginArgument(const std::string& value) {
    const std::string prefix = "--allow-origin " + value + ": ";
    const std::size_t equals = value.find('=');
    OriginEntry entry;
    const auto canonical = canonicalPattern(value.substr(0, equals));
    if (canonical.index() == 1) {
        throw ConfigError(prefix + std::get<1>(canonical));
    }
    entry.pattern = std::get<0>(canonical);
    if (equals != std::string::npos) {
        std::vector<std::string> names;
        const std::string list = value.substr(equals + 1);
        std::size_t start = 0;
        while (start <= list.size() && !list.empty()) {
            const std::size_t comma = list.find(',', start);
            names.push_back(list.substr(start, comma - start));
            if (comma == std::string::npos) {
                break;
            }
            start = comma + 1;
        }
        auto capabilities = capabilitiesFromNames(names);
        if (auto* problem = std::get_if<std::string>(&capabilities)) {
            throw ConfigError(prefix + *problem);
        }
        entry.capabilities = std::get<Capabilities>(capabilities);
    }
    return entry;
}

void validateConfig(const Config& config) {
    // Problems of a loaded file were already reported with their line; what is left comes from
    // command-line flags or code, so no file is named.
    const auto fail = [](const std::string& what) { throw ConfigError(what); };
    if (config.listeners.empty()) {
        fail("at least one listener is needed");
    }
    std::set<std::string> listeners;
    for (const ListenerConfig& listener : config.listeners) {
        if (const auto problem = listenerProblem(listener)) {
            fail(*problem);
        }
        if (!listeners.insert(listenerKey(listener)).second) {
            fail("listener " + listenerKey(listener) + " is listed twice");
        }
    }
    std::set<std::string> origins;
    for (const OriginEntry& origin : config.origins) {
        const auto canonical = canonicalPattern(origin.pattern);
        if (canonical.index() == 1) {
            fail(std::get<1>(canonical));
        }
        if (origin.capabilities.bits() == 0) {
            fail("origin " + origin.pattern + " has an empty capability list");
        }
        if (!origins.insert(std::get<0>(canonical)).second) {
            fail("origin " + std::get<0>(canonical) + " is listed twice");
        }
    }
    const Limits& limits = config.limits;
    for (const auto& [range, value] : {
             std::pair{kMaxMessageBytes, static_cast<std::int64_t>(limits.maxMessageBytes)},
             std::pair{kMaxConnections, static_cast<std::int64_t>(limits.maxConnections)},
             std::pair{kMaxInFlight, static_cast<std::int64_t>(limits.maxInFlightPerConnection)},
             std::pair{kOperationTimeout,
                       static_cast<std::int64_t>(limits.operationTimeout.count())},
             std::pair{kPinpadTimeout, static_cast<std::int64_t>(limits.pinpadTimeout.count())},
             std::pair{kMaxParameterBytes, static_cast<std::int64_t>(limits.maxParameterBytes)},
         }) {
        if (const auto problem = rangeProblem(range, value)) {
            fail(*problem);
        }
    }
    if (const auto problem = logLevelProblem(config.logLevel)) {
        fail(*problem);
    }
    if (const auto problem = logSinkProblem(config.logSink)) {
        fail(*problem);
    }
    std::set<std::string> modules;
    for (const std::string& module : config.pkcs11Modules) {
        if (const auto problem = pkcs11ModuleProblem(module)) {
            fail(*problem);
        }
        if (!modules.insert(module).second) {
            fail("PKCS#11 module " + module + " is listed twice");
        }
    }
}

}  // namespace tk::service
