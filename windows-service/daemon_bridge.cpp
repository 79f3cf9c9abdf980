#include "daemon_bridge.hpp"

#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <exception>
#include <filesystem>
#include <memory>

#include "event_log_sink.hpp"
#include "main/command_line.hpp"
#include "main/daemon.hpp"
#include "main/windows_paths.hpp"
#include "win32.hpp"

namespace tk::winsvc {

namespace {

// The rotating log file next to the Event Log: 5 files of up to 5 MiB in
// %ProgramData%\TenderKey\logs (tenderkeyd.log, tenderkeyd.1.log, ...).
constexpr std::size_t kLogFileSize = 5 * 1024 * 1024;
constexpr std::size_t kLogFiles = 4;

void installEventLogLogger(const std::string& level) {
    auto log = std::make_shared<const EventLog>();
    auto eventLog = std::make_shared<EventLogSink>(log);
    eventLog->set_pattern("%v");  // the Event Log records time, severity and source
    std::vector<spdlog::sink_ptr> sinks{eventLog};
    // Only in the folder the install step made (with its access list), and only once that
    // list has been checked: the sink would otherwise create the folder with the access
    // %ProgramData% hands down to anyone.
    std::string problem;
    std::error_code error;
    if (!std::filesystem::is_directory(std::filesystem::u8path(daemon::logDirectory()), error)) {
        problem = daemon::logDirectory() + " does not exist (run tenderkeyd-service install)";
    } else {
        try {
            daemon::checkDataAccess(daemon::defaultConfigPath());
            auto file = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
                daemon::logDirectory() + "\\tenderkeyd.log", kLogFileSize, kLogFiles);
            file->set_pattern("%Y-%m-%d %H:%M:%S.%e %l %v");
            sinks.push_back(std::move(file));
        } catch (const std::exception& e) {
            problem = e.what();
        }
    }
    if (!problem.empty()) {
        eventLog->log(spdlog::details::log_msg("tenderkeyd", spdlog::level::warn,
                                               "no log file, the Event Log only: " + problem));
    }
    auto logger = std::make_shared<spdlog::logger>("tenderkeyd", sinks.begin(), sinks.end());
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
        // Who may write the configuration and the state: refused loudly when anyone but
        // SYSTEM, Administrators and the service may (the install step sets the lists).
        daemon::checkDataAccess(commandLine.configPath.value_or(daemon::defaultConfigPath()));
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
