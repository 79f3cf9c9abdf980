#include "cli/admin_commands.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "card/errors.hpp"
#include "card/pkcs11/library.hpp"
#include "card/session/card_session.hpp"
#include "card/session/readers.hpp"
#include "cli/card_selection.hpp"
#include "cli/daemon_link.hpp"
#include "cli/doctor_platform.hpp"
#include "cli/exit_status.hpp"
#include "cli/origins_file.hpp"
#include "cli/output.hpp"
#include "cli/port_holder.hpp"
#include "crypto/certificate.hpp"
#include "pcsc/context.hpp"
#include "pcsc/errors.hpp"
#include "service/consent.hpp"

namespace tk::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string configPath(const CommandLine& line) {
    return line.value("config").value_or(defaultConfigPath());
}

json originsJson(const std::vector<service::OriginEntry>& origins) {
    json list = json::array();
    for (const auto& origin : origins) {
        json capabilities = json::array();
        const std::string names = capabilityList(origin.capabilities);
        std::size_t start = 0;
        while (start < names.size()) {
            const auto comma = names.find(',', start);
            capabilities.push_back(names.substr(start, comma - start));
            if (comma == std::string::npos) {
                break;
            }
            start = comma + 1;
        }
        list.push_back({{"origin", origin.pattern}, {"capabilities", capabilities}});
    }
    return list;
}

std::string originsText(const std::vector<service::OriginEntry>& origins) {
    std::string text;
    for (const auto& origin : origins) {
        text += "  " + origin.pattern + "  " + capabilityList(origin.capabilities) + "\n";
    }
    return text.empty() ? std::string("  (none: every page is refused)\n") : text;
}

long daysUntil(std::time_t when) {
    const long long seconds =
        static_cast<long long>(when) - static_cast<long long>(std::time(nullptr));
    constexpr long long kDay = 86400;
    return static_cast<long>(seconds >= 0 ? seconds / kDay : -((-seconds + kDay - 1) / kDay));
}

std::string stateName(Probe::State state) {
    switch (state) {
        case Probe::State::Ours:
            return "up";
        case Probe::State::Foreign:
            return "foreign";
        case Probe::State::Free:
            return "down";
        case Probe::State::Unknown:
            return "unknown";
    }
    return "unknown";
}

// ------------------------------------------------------------------------------ PC/SC view

struct CardView {
    std::string reader;
    bool present = false;
    std::string atr;
    std::string type = "none";  // piv, unknown, none
    std::string cardId;
    std::string problem;
    std::vector<card::CertificateEntry> certificates;
};

struct PcscView {
    bool available = false;
    std::string problem;
    std::size_t hidden = 0;
    std::vector<CardView> readers;
};

struct Listing {
    std::string cardId;
    std::vector<card::CertificateEntry> entries;
};

PcscView lookAtCards(const CommandLine& line, bool withCertificates) {
    PcscView view;
    try {
        const bool dev = line.has("dev");
        const pcsc::Context context;
        const std::size_t all = context.listReaders().size();
        const std::vector<std::string> readers = card::usableReaders(context, dev);
        view.available = true;
        view.hidden = all - readers.size();
        for (const std::string& reader : readers) {
            CardView cardView;
            cardView.reader = reader;
            try {
                card::CardSession session(reader, sessionOptions(line));
                cardView.atr = card::toHex(session.atr());
                cardView.present = true;
                if (withCertificates) {
                    const Listing listing =
                        session.run(card::AfterReset::Rerun, [](card::Token& token) {
                            return Listing{token.cardId(), token.certificates()};
                        });
                    cardView.cardId = listing.cardId;
                    cardView.certificates = listing.entries;
                } else {
                    cardView.cardId = session.cardId();
                }
                cardView.type = "piv";
            } catch (const pcsc::NoCard&) {
                cardView.present = false;
            } catch (const card::UnsupportedCard&) {
                cardView.type = "unknown";
            } catch (const pcsc::ServiceNotRunning&) {
                throw;
            } catch (const std::exception& e) {
                cardView.problem = e.what();
                if (cardView.present) {
                    cardView.type = "unknown";
                }
            }
            view.readers.push_back(std::move(cardView));
        }
    } catch (const pcsc::ServiceNotRunning&) {
        view.available = false;
        view.problem = platformHints().pcscService + " is not running";
    } catch (const pcsc::Error& e) {
        view.available = false;
        view.problem = e.what();
    }
    return view;
}

// ------------------------------------------------------------------------------ daemon view

struct ListenerView {
    Endpoint endpoint;
    Probe probe;
};

struct ConfigView {
    std::string path;
    bool fromFile = false;
    std::string problem;  // empty: it loads
    service::Config config;
};

ConfigView lookAtConfig(const CommandLine& line) {
    ConfigView view;
    view.path = configPath(line);
    try {
        LoadedConfig loaded = loadConfigLikeDaemon(view.path, line.value("config").has_value());
        view.config = std::move(loaded.config);
        view.fromFile = loaded.fromFile;
    } catch (const service::ConfigError& e) {
        view.problem = e.what();
        view.config = service::Config{};  // the default listener is still worth probing
    }
    return view;
}

std::vector<ListenerView> lookAtListeners(const service::Config& config) {
    std::vector<ListenerView> views;
    for (const Endpoint& endpoint : endpointsOf(config)) {
        views.push_back({endpoint, probeEndpoint(endpoint)});
    }
    return views;
}

// ----------------------------------------------------------------------------------- doctor

Check checkConfig(const ConfigView& config) {
    if (!config.problem.empty()) {
        return {"config", "fail", config.problem,
                "correct the line named in " + config.path +
                    " (see tenderkeyd.example.toml), run `tenderkey doctor` again, then " +
                    platformHints().daemonReload +
                    "; until then the daemon does not start, and a running one keeps its "
                    "previous configuration"};
    }
    if (!config.fromFile) {
        return {"config", "warn", config.path + " does not exist: the built-in defaults apply",
                "install the configuration (" + platformHints().exampleConfig + ") as " +
                    config.path + " and allow your portals with `tenderkey origins add`"};
    }
    return {"config", "ok", config.path + " loads with the daemon's rules", ""};
}

Check checkOrigins(const ConfigView& config) {
    if (!config.problem.empty()) {
        return {"origins", "warn", "not checked: the configuration does not load",
                "fix the configuration first"};
    }
    if (config.config.origins.empty()) {
        return {"origins", "warn", "no origin is allowed: every page's connection is refused (403)",
                "tenderkey origins add https://portal.example.gov.tw (the portal's exact origin, "
                "scheme://host[:port])"};
    }
    std::string list;
    for (const auto& origin : config.config.origins) {
        list += (list.empty() ? "" : ", ") + origin.pattern;
    }
    return {"origins", "ok", std::to_string(config.config.origins.size()) + " allowed: " + list,
            ""};
}

Check checkPcsc(const PcscView& pcsc) {
    if (!pcsc.available) {
        return {"pcscd", "fail", pcsc.problem + " (SCardEstablishContext failed)",
                platformHints().pcscStart};
    }
    return {"pcscd", "ok", "the PC/SC service answers (SCardEstablishContext)", ""};
}

Check checkReaders(const PcscView& pcsc) {
    if (!pcsc.available) {
        return {"readers", "fail", "not checked: the PC/SC service is not running",
                "start " + platformHints().pcscService + " first"};
    }
    std::string hidden;
    if (pcsc.hidden > 0) {
        hidden = " (" + std::to_string(pcsc.hidden) + " development reader(s) left out; --dev)";
    }
    if (pcsc.readers.empty()) {
        return {"readers", "warn", "PC/SC lists no card reader" + hidden,
                platformHints().readersFix};
    }
    std::size_t cards = 0;
    for (const auto& reader : pcsc.readers) {
        cards += reader.present ? 1 : 0;
    }
    return {"readers", "ok",
            std::to_string(pcsc.readers.size()) + " reader(s), " + std::to_string(cards) +
                " with a card" + hidden,
            ""};
}

Check checkListener(const ListenerView& listener, const ConfigView& config, const PcscView& pcsc) {
    const Endpoint& e = listener.endpoint;
    const std::string id = "listener " + e.url();
    const std::string port = std::to_string(e.port);
    const PlatformHints& hints = platformHints();
    const std::string heldBy =
        listener.probe.holder.empty() ? std::string() : " (held by " + listener.probe.holder + ")";
    switch (listener.probe.state) {
        case Probe::State::Ours: {
            const std::string message = listener.probe.detail + " answers /health, " +
                                        std::to_string(listener.probe.readers) + " reader(s)" +
                                        heldBy;
            if (listener.probe.readers == 0 && pcsc.available && !pcsc.readers.empty()) {
                return {id, "warn",
                        message + ", while PC/SC lists " + std::to_string(pcsc.readers.size()) +
                            " for this user",
                        hints.readersHiddenFix};
            }
            return {id, "ok", message, ""};
        }
        case Probe::State::Foreign:
            return {id, "fail",
                    "port " + port + " is used by another program" + heldBy + ": " +
                        listener.probe.detail,
                    "find it with " + portHolderCommand(e.port) +
                        "; stop it, or give TenderKey another port ([[listeners]] port in " +
                        config.path + ", then " + hints.daemonRestart +
                        ") and tell the portals the new URL"};
        case Probe::State::Free:
            return {id, "fail", "nothing listens: the daemon is not running", hints.daemonStart};
        case Probe::State::Unknown:
            break;
    }
    return {id, "warn", "could not tell what listens" + heldBy + ": " + listener.probe.detail,
            "check with " + portHolderCommand(e.port)};
}

// Every configured PKCS#11 module loads into a process of this platform's build (the same
// loader as the daemon's: on Windows it names a 32-bit DLL as such). C_Initialize is not called.
std::vector<Check> checkPkcs11Modules(const ConfigView& config) {
    std::vector<Check> checks;
    for (const std::string& module : config.config.pkcs11Modules) {
        const std::string id = "pkcs11 " + module;
        try {
            card::pkcs11::loadFunctionList(module);
            checks.push_back({id, "ok", "the module loads and has C_GetFunctionList", ""});
        } catch (const std::exception& e) {
            checks.push_back({id, "fail", e.what(),
                              "install the vendor's module built for this system (64-bit), or "
                              "correct the path in [pkcs11] modules of " +
                                  config.path});
        }
    }
    return checks;
}

// The HiPKI listener (docs/hipki.md): on when [hipki] enabled = true, or when unset and the
// socket unit hands its sockets over. Whoever else holds its port is named: when the endpoint
// is on that is a failure (the daemon refuses to start beside it); when it is off, most likely
// the vendor's own HiPKI Local Server, which the portals then reach (information only).
Check checkHipki(const ConfigView& config) {
    const std::uint16_t port = config.config.hipki.port;
    const std::string portText = std::to_string(port);
    const std::optional<bool> enabled = config.config.hipki.enabled;
    const std::string id = "hipki port " + portText;
    bool ours = false;
    bool foreign = false;
    for (const std::string address : {"127.0.0.1", "::1"}) {
        const Probe probe = probeEndpoint({address, port, false});
        ours = ours || probe.state == Probe::State::Ours;
        foreign =
            foreign || probe.state == Probe::State::Foreign || probe.state == Probe::State::Unknown;
    }
    const PortListeners listeners = portListeners(port);
    const std::string holder = describeHolders(listeners, port);
    const PlatformHints& hints = platformHints();
    const std::string enableFix =
        "stop that program (and keep it from starting), then: " + hints.hipkiEnable;
    if (enabled == true) {
        if (foreign && listeners.listening) {
            return {id, "fail",
                    "[hipki] enabled, but port " + portText + " is held by another program: " +
                        holder + "; tenderkeyd refuses to start while it is",
                    enableFix + "; or set [hipki] enabled = false in " + config.path};
        }
        if (!ours) {
            return {id, "fail", "[hipki] enabled, but nothing answers on port " + portText,
                    hints.hipkiNotAnswering};
        }
        return {id, "ok", "the HiPKI endpoint answers on 127.0.0.1 and [::1]", ""};
    }
    if (!enabled && ours) {
        return {id, "ok", "the HiPKI endpoint answers on 127.0.0.1 and [::1]" + hints.hipkiSockets,
                ""};
    }
    if (listeners.listening && !ours) {
        return {id, "info",
                "the HiPKI endpoint is off; port " + portText + " is held by " + holder +
                    ": the vendor's HiPKI Local Server, most likely, which the HiPKI portals "
                    "then reach",
                enabled ? "" : "to let TenderKey answer those portals instead: " + enableFix};
    }
    return {id, "info",
            enabled ? "the HiPKI endpoint is off ([hipki] enabled = false)"
                    : "the HiPKI endpoint is off (" + hints.hipkiUnsetOff + ")",
            ""};
}

Check checkLocalNetworkAccess(const ConfigView& config) {
    std::string https;
    for (const auto& origin : config.config.origins) {
        if (origin.pattern.starts_with("https://")) {
            https += (https.empty() ? "" : ", ") + origin.pattern;
        }
    }
    return {"browser", "info",
            https.empty() ? "no https origin is allowed: Local Network Access does not apply to "
                            "pages on this machine"
                          : "pages of " + https +
                                " connect from a public site to 127.0.0.1: recent Chrome and "
                                "Edge versions ask the user for the Local Network Access "
                                "permission first",
            https.empty()
                ? ""
                : "users accept the browser's prompt once per site; a managed fleet sets the "
                  "Chrome/Edge policy LocalNetworkAccessAllowedForUrls to those origins (see "
                  "docs/troubleshooting.md)"};
}

}  // namespace

// ----------------------------------------------------------------------------------- status

void runStatus(const CommandLine& line) {
    long warnDays = 30;
    if (const auto value = line.value("warn-days")) {
        try {
            std::size_t used = 0;
            warnDays = std::stol(*value, &used);
            if (used != value->size() || warnDays < 0 || warnDays > 3650) {
                throw std::invalid_argument("range");
            }
        } catch (const std::exception&) {
            throw UsageError("--warn-days: '" + *value + "' is not a number of days (0-3650)");
        }
    }
    const ConfigView config = lookAtConfig(line);
    const std::vector<ListenerView> listeners = lookAtListeners(config.config);
    const PcscView pcsc = lookAtCards(line, true);

    json warnings = json::array();
    bool daemonUp = !listeners.empty();
    json listenerJson = json::array();
    std::string text = "daemon\n";
    for (const auto& listener : listeners) {
        const Probe& probe = listener.probe;
        daemonUp = daemonUp && probe.state == Probe::State::Ours;
        json entry = {{"url", listener.endpoint.url()},
                      {"state", stateName(probe.state)},
                      {"detail", probe.detail}};
        if (probe.state == Probe::State::Ours) {
            entry["version"] = probe.version;
            entry["readers"] = probe.readers;
            text += "  " + listener.endpoint.url() + "  up, tenderkeyd " + probe.version + ", " +
                    std::to_string(probe.readers) + " reader(s)\n";
        } else {
            text += "  " + listener.endpoint.url() + "  " + stateName(probe.state) + " (" +
                    probe.detail + ")\n";
        }
        listenerJson.push_back(entry);
    }
    text += "configuration " + config.path +
            (config.problem.empty() ? (config.fromFile ? "" : " (absent: defaults)")
                                    : " (does not load)") +
            "\n";
    if (!config.problem.empty()) {
        warnings.push_back("configuration: " + config.problem);
    }
    text += originsText(config.config.origins);

    json readersJson = json::array();
    json certificatesJson = json::array();
    std::string readerText = "readers\n";
    std::string certText = "certificates\n";
    if (!pcsc.available) {
        warnings.push_back(pcsc.problem);
        readerText += "  " + pcsc.problem + "\n";
    } else if (pcsc.readers.empty()) {
        warnings.push_back("no card reader");
        readerText += "  no card reader\n";
    }
    for (const CardView& reader : pcsc.readers) {
        json cardJson = nullptr;
        if (reader.present) {
            cardJson = {{"type", reader.type},
                        {"id", reader.cardId.empty() ? json(nullptr) : json(reader.cardId)},
                        {"atr", reader.atr}};
            if (!reader.problem.empty()) {
                cardJson["problem"] = reader.problem;
            }
        }
        readersJson.push_back(
            {{"name", reader.reader}, {"cardPresent", reader.present}, {"card", cardJson}});
        readerText +=
            "  " + reader.reader + ": " +
            (!reader.present ? std::string("no card")
             : reader.type == "piv"
                 ? "PIV card " + reader.cardId
                 : "card that is not a usable PIV card" +
                       (reader.problem.empty() ? std::string() : " (" + reader.problem + ")")) +
            "\n";
        for (const card::CertificateEntry& entry : reader.certificates) {
            const crypto::CertificateInfo info = crypto::parseCertificate(entry.der);
            const long days = daysUntil(info.notAfter);
            const std::string expiry = days < 0 ? "expired" : days <= warnDays ? "expiring" : "ok";
            const std::string id = reader.cardId + ":" + entry.slot;
            certificatesJson.push_back({{"id", id},
                                        {"reader", reader.reader},
                                        {"slot", entry.slot},
                                        {"label", entry.label},
                                        {"subject", info.subject},
                                        {"notAfter", crypto::formatRfc3339(info.notAfter)},
                                        {"expiresInDays", days},
                                        {"expiry", expiry}});
            std::string note;
            if (expiry == "expired") {
                note = "  EXPIRED " + std::to_string(-days) + " day(s) ago";
                warnings.push_back("certificate " + id + " (" + info.subject + ") expired on " +
                                   crypto::formatRfc3339(info.notAfter));
            } else if (expiry == "expiring") {
                note = "  EXPIRES in " + std::to_string(days) + " day(s)";
                warnings.push_back("certificate " + id + " (" + info.subject + ") expires in " +
                                   std::to_string(days) + " day(s), on " +
                                   crypto::formatRfc3339(info.notAfter));
            }
            certText += "  " + id + "  " + entry.label + "  " + info.subject + "\n    until " +
                        crypto::formatRfc3339(info.notAfter) +
                        (note.empty() ? " (" + std::to_string(days) + " days left)" : note) + "\n";
        }
    }
    if (pcsc.hidden > 0) {
        readerText += "  (" + std::to_string(pcsc.hidden) +
                      " development reader(s) not shown; --dev shows them)\n";
    }
    if (certificatesJson.empty()) {
        certText += "  none\n";
    }

    if (line.has("json")) {
        printJson({{"daemon", {{"running", daemonUp}, {"listeners", listenerJson}}},
                   {"config",
                    {{"path", config.path},
                     {"loaded", config.problem.empty()},
                     {"fromFile", config.fromFile},
                     {"problem", config.problem.empty() ? json(nullptr) : json(config.problem)},
                     {"origins", originsJson(config.config.origins)}}},
                   {"pcsc",
                    {{"available", pcsc.available},
                     {"problem", pcsc.problem.empty() ? json(nullptr) : json(pcsc.problem)},
                     {"hiddenReaders", pcsc.hidden}}},
                   {"readers", readersJson},
                   {"certificates", certificatesJson},
                   {"warnDays", warnDays},
                   {"warnings", warnings}});
    } else {
        std::cout << text << readerText << certText;
        for (const auto& warning : warnings) {
            std::cout << "warning: " << warning.get<std::string>() << "\n";
        }
        if (!daemonUp) {
            std::cout << "the daemon does not answer on every listener (tenderkey doctor says "
                         "why)\n";
        }
    }
    if (!daemonUp) {
        throw CommandStatus(ExitStatus::DaemonDown);
    }
    if (!warnings.empty()) {
        throw CommandStatus(ExitStatus::Warnings);
    }
}

// ---------------------------------------------------------------------------------- origins

namespace {

// The consents users gave in the bridge window, in the daemon's state directory (the same
// resolution as the daemon's; run as the daemon's user, whose directory it is).
struct ConsentView {
    std::filesystem::path directory;
    std::shared_ptr<service::ConsentRecords> records;
};

ConsentView consentRecords(const service::Config& config) {
    const auto directory = service::state::resolveStateDirectory(config.stateDirectory);
    return {directory, std::make_shared<service::ConsentRecords>(
                           service::state::StateDirectory::open(directory))};
}

std::string dateOf(std::chrono::system_clock::time_point when) {
    return service::formatUtc(when).substr(0, 10);
}

}  // namespace

// Administrator entries first (the configuration file), then the users' consents, each marked.
void runOriginsList(const CommandLine& line) {
    const std::string path = configPath(line);
    const LoadedConfig loaded = loadConfigLikeDaemon(path, line.value("config").has_value());
    const ConsentView consent = consentRecords(loaded.config);
    const auto days = std::chrono::days{loaded.config.consentDays};
    const auto now = std::chrono::system_clock::now();
    const std::string consentCapabilities = capabilityList(service::Capabilities::consented());
    if (line.has("json")) {
        json consented = json::array();
        for (const auto& record : consent.records->list()) {
            consented.push_back({{"origin", record.origin},
                                 {"source", "consent"},
                                 {"granted", service::formatUtc(record.granted)},
                                 {"expires", service::formatUtc(record.granted + days)},
                                 {"expired", now - record.granted >= days}});
        }
        // "origins": the administrator's entries, as before; "consented": the users'.
        printJson({{"config", path},
                   {"fromFile", loaded.fromFile},
                   {"origins", originsJson(loaded.config.origins)},
                   {"stateDirectory", consent.directory.string()},
                   {"consentEnabled", loaded.config.consentEnabled},
                   {"consented", consented}});
        return;
    }
    std::cout << path << (loaded.fromFile ? "" : " (absent: defaults)") << " [administrator]\n"
              << originsText(loaded.config.origins);
    std::cout << (consent.directory / "consent.json").string()
              << " [consent: allowed by the user in the bridge window"
              << (loaded.config.consentEnabled ? "" : "; consent is disabled") << "]\n";
    const auto records = consent.records->list();
    for (const auto& record : records) {
        const bool expired = now - record.granted >= days;
        std::cout << "  " << record.origin << "  " << consentCapabilities << "  consented "
                  << dateOf(record.granted) << (expired ? ", expired " : ", expires ")
                  << dateOf(record.granted + days) << "\n";
    }
    if (records.empty()) {
        std::cout << "  (none)\n";
    }
}

namespace {

std::string operandOf(const CommandLine& line, const char* what) {
    if (line.words.size() < 3) {
        throw UsageError(std::string("origins ") + line.words[1] + " needs " + what +
                         " (see tenderkey origins --help)");
    }
    return line.words[2];
}

void reportEdit(const CommandLine& line, const std::string& path, const std::string& origin,
                const EditResult& result) {
    std::optional<ReloadOutcome> reload;
    std::string reloadProblem;
    if (result.changed) {
        try {
            reload = reloadDaemon(path, reloadModeFrom(line.value("reload")));
        } catch (const ReloadFailed& e) {
            reloadProblem = e.what();
        }
    }
    if (line.has("json")) {
        json document = {{"config", path},
                         {"action", result.action},
                         {"origin", origin},
                         {"origins", originsJson(result.origins)}};
        if (reload) {
            document["reload"] = {{"method", reload->method},
                                  {"reloaded", reload->reloaded},
                                  {"pids", reload->pids},
                                  {"message", reload->message}};
        } else {
            document["reload"] = nullptr;
        }
        if (reloadProblem.empty()) {
            printJson(document);
        }
    } else {
        std::cout << origin << " " << result.action << " in " << path << "\n";
        if (reload) {
            std::cout << reload->message << "\n";
        }
    }
    if (!reloadProblem.empty()) {
        throw ReloadFailed(path + " was changed, but " + reloadProblem);
    }
}

}  // namespace

void runOriginsAdd(const CommandLine& line) {
    const std::string operand = operandOf(line, "ORIGIN[=CAPS]");
    const OriginArgument origin = parseOriginOperand(operand);
    reloadModeFrom(line.value("reload"));  // a bad --reload is refused before the edit
    const std::string path = configPath(line);
    const EditResult result = addOrigin(path, origin);
    reportEdit(line, path, origin.entry.pattern, result);
}

void runOriginsRemove(const CommandLine& line) {
    const std::string operand = operandOf(line, "ORIGIN");
    if (operand.find('=') != std::string::npos) {
        throw UsageError("origins remove takes the origin alone, without capabilities");
    }
    const OriginArgument origin = parseOriginOperand(operand);
    reloadModeFrom(line.value("reload"));
    const std::string path = configPath(line);
    // A user's consent of that origin goes too; the daemon reads the consents afresh at every
    // bridge.attach, so no reload is needed for it.
    const LoadedConfig loaded = loadConfigLikeDaemon(path, line.value("config").has_value());
    const ConsentView consent = consentRecords(loaded.config);
    const bool consentRemoved = consent.records->remove(origin.entry.pattern);
    const bool listed = std::any_of(
        loaded.config.origins.begin(), loaded.config.origins.end(),
        [&](const service::OriginEntry& e) { return e.pattern == origin.entry.pattern; });
    if (consentRemoved && !listed) {
        if (line.has("json")) {
            printJson({{"config", path},
                       {"action", "removed"},
                       {"origin", origin.entry.pattern},
                       {"source", "consent"},
                       {"reload", nullptr}});
        } else {
            std::cout << origin.entry.pattern << " consent removed from "
                      << (consent.directory / "consent.json").string() << "\n";
        }
        return;
    }
    if (consentRemoved && !line.has("json")) {
        std::cout << origin.entry.pattern << " consent removed from "
                  << (consent.directory / "consent.json").string() << "\n";
    }
    const EditResult result = removeOrigin(path, origin.entry.pattern);
    reportEdit(line, path, origin.entry.pattern, result);
}

// ----------------------------------------------------------------------------------- doctor

void runDoctor(const CommandLine& line) {
    const ConfigView config = lookAtConfig(line);
    const PcscView pcsc = lookAtCards(line, false);
    std::vector<Check> checks;
    checks.push_back(checkConfig(config));
    checks.push_back(checkOrigins(config));
    checks.push_back(checkPcsc(pcsc));
    checks.push_back(checkReaders(pcsc));
    for (const ListenerView& listener : lookAtListeners(config.config)) {
        checks.push_back(checkListener(listener, config, pcsc));
    }
    checks.push_back(checkHipki(config));
    for (Check& check : checkPkcs11Modules(config)) {
        checks.push_back(std::move(check));
    }
    for (Check& check : platformChecks(config.path)) {
        checks.push_back(std::move(check));
    }
    checks.push_back(checkLocalNetworkAccess(config));

    int warns = 0;
    int fails = 0;
    json list = json::array();
    std::string text;
    for (const Check& check : checks) {
        warns += check.status == "warn" ? 1 : 0;
        fails += check.status == "fail" ? 1 : 0;
        list.push_back({{"check", check.id},
                        {"status", check.status},
                        {"message", check.message},
                        {"fix", check.fix.empty() ? json(nullptr) : json(check.fix)}});
        std::string tag = check.status;
        tag.resize(4, ' ');
        text += "[" + tag + "] " + check.id + ": " + check.message + "\n";
        if (!check.fix.empty()) {
            text += "       fix: " + check.fix + "\n";
        }
    }
    if (line.has("json")) {
        printJson({{"checks", list},
                   {"summary",
                    {{"ok", static_cast<int>(checks.size()) - warns - fails},
                     {"warn", warns},
                     {"fail", fails}}}});
    } else {
        std::cout << text;
    }
    if (fails > 0) {
        throw CommandStatus(ExitStatus::ChecksFailed);
    }
    if (warns > 0) {
        throw CommandStatus(ExitStatus::Warnings);
    }
}

}  // namespace tk::cli
