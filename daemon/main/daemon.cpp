#include "main/daemon.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "main/command_line.hpp"
#include "main/logging.hpp"
#include "main/socket_activation.hpp"
#include "server/server.hpp"
#include "service/api_service.hpp"
#include "service/consent.hpp"
#include "service/origin_policy.hpp"
#include "service/state/state_directory.hpp"

// run() (signals, systemd) and the watchdog's checks are Linux; runDaemon() is what the
// Windows service (windows-service/) calls.
#if !defined(_WIN32)
#include <signal.h>

#include "main/liveness.hpp"
#include "main/signals.hpp"
#include "main/systemd_notify.hpp"
#endif

namespace tk::daemon {

namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kStopGrace = std::chrono::seconds(5);
constexpr int kExitCannotStart = 1;
constexpr int kExitBadConfiguration = 2;

server::OriginLookup lookupOf(std::shared_ptr<const service::OriginPolicy> policy) {
    return [policy = std::move(policy)](std::string_view origin) { return policy->match(origin); };
}

std::string originList(const service::Config& config) {
    std::string text;
    for (const auto& entry : config.origins) {
        text += (text.empty() ? "" : ", ") + entry.pattern;
    }
    return text.empty() ? "none" : text;
}

// SIGHUP: the allow-list and the log level from the file again, the flags still on top. A
// configuration that does not load is reported and the one in force stays.
void reload(const CommandLine& commandLine, server::Server& server) {
    try {
        const service::Config fresh = buildConfig(commandLine);
        auto policy = std::make_shared<const service::OriginPolicy>(fresh.origins);
        setLogLevel(fresh.logLevel);
        server.replaceOrigins(lookupOf(std::move(policy)));
        spdlog::info("configuration reloaded: origins: {}; log level {}", originList(fresh),
                     fresh.logLevel);
    } catch (const std::exception& e) {
        spdlog::error("reload failed, the configuration in force stays: {}", e.what());
    }
}

#if !defined(_WIN32)
// The watchdog's check: GET /health answered by the network thread (which also takes the
// card manager's lock for the reader count), and the card side settled at least once within
// the longest a card operation may legitimately take, plus a margin.
std::function<bool(std::chrono::milliseconds)> livenessCheck(server::Server& server,
                                                             service::ApiService& service,
                                                             const service::Limits& limits) {
    // A plain ws:// endpoint when there is one: that is where /health can be asked.
    auto endpoint = server.endpoints().front();
    for (const auto& candidate : server.endpoints()) {
        if (!candidate.tls()) {
            endpoint = candidate;
            break;
        }
    }
    auto progress = std::make_shared<CardProgress>(
        std::max(limits.operationTimeout, limits.pinpadTimeout) + std::chrono::seconds(30));
    return [endpoint, progress, &service](std::chrono::milliseconds timeout) {
        const bool network = probeHealth(endpoint, timeout);
        const bool cards =
            progress->check(service.cards().waitUntilSettled(std::chrono::milliseconds(0)));
        if (!network) {
            spdlog::warn("liveness: {} did not answer GET /health within {} ms", endpoint.url(),
                         timeout.count());
        }
        if (!cards) {
            spdlog::warn("liveness: the card workers have not settled for too long");
        }
        return network && cards;
    };
}

#endif

}  // namespace

#if !defined(_WIN32)
int run(int argc, char** argv) {
    SignalWaiter signals;  // before any thread starts

    CommandLine commandLine;
    try {
        commandLine = parseCommandLine(std::vector<std::string>(argv + 1, argv + argc));
    } catch (const UsageError& e) {
        std::fprintf(stderr, "tenderkeyd: %s (see --help)\n", e.what());
        return kExitBadConfiguration;
    }
    if (commandLine.help) {
        std::fputs(usageText().c_str(), stdout);
        return 0;
    }
    if (commandLine.version) {
        std::printf("tenderkeyd %s\n", TK_VERSION);
        return 0;
    }

    SystemdNotifier systemd;
    DaemonHost host;
    host.waitControl = [&signals] {
        while (true) {
            const int signal = signals.wait();
            if (signal == SIGHUP) {
                return Control::Reload;
            }
            spdlog::info("{} received: stopping (in-flight work gets up to {} s)",
                         signal == SIGINT ? "SIGINT" : "SIGTERM", kStopGrace.count());
            return Control::Stop;
        }
    };
    host.started = [&systemd](const std::string& status,
                              std::function<bool(std::chrono::milliseconds)> healthy) {
        systemd.ready(status);
        systemd.startWatchdog(std::move(healthy));
    };
    host.reloading = [&systemd] { systemd.reloading(); };
    host.reloaded = [&systemd](const std::string& status) { systemd.reloaded(status); };
    host.stopping = [&systemd] { systemd.stopping(); };
    return runDaemon(commandLine, host);
}
#endif

int runDaemon(const CommandLine& commandLine, const DaemonHost& host) {
    const auto started = Clock::now();
    service::Config config;
    std::shared_ptr<const service::OriginPolicy> policy;
    try {
        config = buildConfig(commandLine);
        policy = std::make_shared<const service::OriginPolicy>(config.origins);
        if (host.setUpLogging) {
            host.setUpLogging(config.logSink, config.logLevel);
        } else {
            setUpLogging(config.logSink, config.logLevel);
        }
    } catch (const service::ConfigError& e) {
        std::fprintf(stderr, "tenderkeyd: %s\n", e.what());
        return kExitBadConfiguration;
    }

    std::unique_ptr<service::ApiService> service;
    std::unique_ptr<server::Server> server;
    try {
        server::ServerSettings settings{
            config.listeners, config.limits, TK_VERSION, config.pagePins, std::nullopt, {}, 0, {}};
        // The HiPKI listener on both loopback addresses (a squatter on either would receive
        // the portals' packages): the daemon refuses to start when it cannot hold both.
        // `[hipki] enabled` unset: on exactly when the service manager hands over sockets at
        // its port (tenderkeyd-hipki.socket, enabled by the package only when the port was
        // free at install).
        const bool hipkiWanted = config.hipki.enabled.value_or(true);
        if (hipkiWanted) {
            settings.listeners.push_back(
                service::ListenerConfig{"localhost", config.hipki.port, {}, {}});
        }
        // Sockets a socket unit holds for the daemon are adopted; the other addresses are
        // bound as usual.
        settings.inherited = inheritedSockets(server::endpointsFor(settings.listeners));
        const bool hipkiHandedOver = std::any_of(
            settings.inherited.begin(), settings.inherited.end(),
            [&](const server::InheritedSocket& s) { return s.port == config.hipki.port; });
        if (hipkiWanted && !config.hipki.enabled && !hipkiHandedOver) {
            settings.listeners.pop_back();
        } else if (hipkiWanted) {
            settings.hipki =
                service::hipki::AdapterOptions{config.hipki.serverVersion, config.hipki.allowSha1};
            settings.hipkiLocalPrograms = config.hipki.localPrograms;
            settings.hipkiPort = config.hipki.port;
            spdlog::info(
                "HiPKI endpoint on port {}{}{}", config.hipki.port,
                config.hipki.enabled ? "" : " (its sockets handed over by the service manager)",
                config.hipki.allowSha1 ? "; SHA-1 signatures allowed" : "");
        }
        service = service::makeService(config, TK_VERSION);
        server = std::make_unique<server::Server>(*service, settings, lookupOf(policy),
                                                  service::makeConsentPolicy(config));
    } catch (const server::ServerError& e) {
        spdlog::critical("{}", e.what());
        return kExitBadConfiguration;
    } catch (const service::state::StateError& e) {
        spdlog::critical("{}", e.what());
        return kExitBadConfiguration;
    } catch (const service::ConfigError& e) {
        spdlog::critical("{}", e.what());
        return kExitBadConfiguration;
    }
    try {
        service->start();
        server->start();
    } catch (const std::exception& e) {
        spdlog::critical("cannot start: {}", e.what());
        server.reset();
        service->stop(std::chrono::milliseconds(0));
        return kExitCannotStart;
    }

    std::string urls;
    for (const auto& endpoint : server->endpoints()) {
        urls += (urls.empty() ? "" : ", ") + endpoint.url();
    }
    if (config.developmentMode) {
        spdlog::warn("development mode: Virtual PCD (test) readers are used");
    }
    if (config.origins.empty()) {
        spdlog::warn(
            "no origin is allowed, so every WebSocket handshake is refused "
            "(configure origins, or --allow-origin ORIGIN)");
    }
    spdlog::info(
        "tenderkeyd {} listening on {} (origins: {}) ready in {} ms", TK_VERSION, urls,
        originList(config),
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count());

    const std::string status = "listening on " + urls;
    if (host.started) {
#if !defined(_WIN32)
        host.started(status, livenessCheck(*server, *service, config.limits));
#else
        host.started(status, nullptr);
#endif
    }
    try {
        while (host.waitControl() == Control::Reload) {
            if (host.reloading) {
                host.reloading();
            }
            reload(commandLine, *server);
            if (host.reloaded) {
                host.reloaded(status);
            }
        }
    } catch (const std::exception& e) {
        // Stop as if asked to: the watchdog must end before the server and service go.
        spdlog::critical("waiting for stop or reload failed, stopping: {}", e.what());
    }
    if (host.stopping) {
        host.stopping();
    }
    const auto deadline = Clock::now() + kStopGrace;
    server->stop(kStopGrace);
    server.reset();
    const auto left = std::max(Clock::duration::zero(), deadline - Clock::now());
    service->stop(std::chrono::duration_cast<std::chrono::milliseconds>(left));
    service.reset();
    spdlog::info("stopped");
    return 0;
}

}  // namespace tk::daemon
