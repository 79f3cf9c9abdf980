#include "main/daemon.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "main/command_line.hpp"
#include "main/logging.hpp"
#include "main/signals.hpp"
#include "server/server.hpp"
#include "service/api_service.hpp"
#include "service/origin_policy.hpp"

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

}  // namespace

int run(int argc, char** argv) {
    const auto started = Clock::now();
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

    service::Config config;
    std::shared_ptr<const service::OriginPolicy> policy;
    try {
        config = buildConfig(commandLine);
        policy = std::make_shared<const service::OriginPolicy>(config.origins);
        setUpLogging(config.logSink, config.logLevel);
    } catch (const service::ConfigError& e) {
        std::fprintf(stderr, "tenderkeyd: %s\n", e.what());
        return kExitBadConfiguration;
    }

    std::unique_ptr<service::ApiService> service;
    std::unique_ptr<server::Server> server;
    try {
        server::ServerSettings settings{config.listeners, config.limits, TK_VERSION};
        service = service::makeService(config, TK_VERSION);
        server = std::make_unique<server::Server>(*service, settings, lookupOf(policy));
    } catch (const server::ServerError& e) {
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

    while (true) {
        const int signal = signals.wait();
        if (signal == SIGHUP) {
            reload(commandLine, *server);
            continue;
        }
        spdlog::info("{} received: stopping (in-flight work gets up to {} s)",
                     signal == SIGINT ? "SIGINT" : "SIGTERM", kStopGrace.count());
        break;
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
