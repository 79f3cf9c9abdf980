#include "daemon_bridge.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <exception>
#include <memory>

#include "event_log_sink.hpp"
#include "main/command_line.hpp"
#include "main/daemon.hpp"
#include "win32.hpp"

namespace tk::winsvc {

namespace {

void installEventLogLogger(const std::string& level) {
    auto log = std::make_shared<const EventLog>();
    auto logger =
        std::make_shared<spdlog::logger>("tenderkeyd", std::make_shared<EventLogSink>(log));
    logger->set_pattern("%v");  // the Event Log records time, severity and source
    logger->flush_on(spdlog::level::trace);
    spdlog::set_default_logger(logger);
    spdlog::set_level(spdlog::level::from_str(level));
}

}  // namespace

int runDaemonCore(const std::vector<std::wstring>& args, ServiceControls& controls,
                  LogTarget target) {
    if (target == LogTarget::EventLog) {
        installEventLogLogger("info");
    }
    std::vector<std::string> utf8;
    utf8.reserve(args.size());
    for (const auto& argument : args) {
        utf8.push_back(narrow(argument));
    }
    daemon::CommandLine commandLine;
    try {
        commandLine = daemon::parseCommandLine(utf8);
        if (commandLine.help) {
            std::fputs(daemon::usageText().c_str(), stdout);
            return 0;
        }
        // The configuration is checked here once more so that its mistakes reach the Event
        // Log: runDaemon writes them to stderr, which a service does not have.
        (void)daemon::buildConfig(commandLine);
    } catch (const std::exception& e) {
        spdlog::critical("tenderkeyd: {}", e.what());
        return 2;
    }

    daemon::DaemonHost host;
    host.waitControl = [&controls] {
        return controls.waitStopOrReload() ? daemon::Control::Stop : daemon::Control::Reload;
    };
    if (target == LogTarget::EventLog) {
        host.setUpLogging = [](const std::string& sink, const std::string& level) {
            if (sink != "auto") {
                spdlog::info(
                    "[log] sink \"{}\" does not apply to the Windows service: it logs "
                    "to the Event Log",
                    sink);
            }
            spdlog::set_level(spdlog::level::from_str(level));
        };
    }
    host.started = [&controls](const std::string&,
                               const std::function<bool(std::chrono::milliseconds)>&) {
        controls.started();
    };
    host.reloading = [] { spdlog::info("SERVICE_CONTROL_PARAMCHANGE: reloading"); };
    host.stopping = [&controls] { controls.stopping(); };
    try {
        return daemon::runDaemon(commandLine, host);
    } catch (const std::exception& e) {
        spdlog::critical("tenderkeyd stopped on an unexpected error: {}", e.what());
        return 1;
    }
}

void logInformation(const std::wstring& text) {
    spdlog::info("{}", narrow(text));
}

}  // namespace tk::winsvc
