#include <filesystem>
#include <string>
#include <vector>

#include "cli/daemon_link.hpp"
#include "cli/daemon_link_windows.hpp"
#include "cli/doctor_platform.hpp"
#include "main/windows_paths.hpp"

namespace tk::cli {
namespace {

Check checkService(const std::string& configPath) {
    const std::string id = "service";
    const ServiceInfo info = queryService();
    if (!info.installed) {
        if (!info.problem.empty()) {
            return {id, "warn", "the Service Control Manager did not answer: " + info.problem,
                    "run tenderkey doctor as Administrator"};
        }
        return {id, "warn",
                "the TenderKey service is not installed: only a tenderkeyd.exe started by hand "
                "serves, while it runs",
                "install TenderKey-<version>-x64.msi (or, as Administrator, "
                "`tenderkeyd-service.exe install`)"};
    }
    const std::string reads = "; it reads " + info.configPath;
    if (!info.running) {
        return {
            id, "fail",
            "the TenderKey service is " + info.state + " (start: " + info.startType + ")" + reads,
            "sc start TenderKey; if it stops again, the Event Log (Windows Logs > "
            "Application, source TenderKey) and %ProgramData%\\TenderKey\\logs say why"};
    }
    if (!samePath(info.configPath, configPath)) {
        return {id, "warn",
                "the TenderKey service runs (pid " + std::to_string(info.pid) + "), but" + reads +
                    ", not " + configPath,
                "run tenderkey doctor --config \"" + info.configPath + "\""};
    }
    return {id, "ok",
            "the TenderKey service runs (pid " + std::to_string(info.pid) +
                ", start: " + info.startType + ")" + reads,
            ""};
}

// The daemon refuses to start on a configuration or state that a non-administrator may change
// (main/windows_paths.cpp); the same rule, asked before it does.
Check checkDataAccess(const std::string& configPath) {
    const std::string id = "access";
    std::error_code error;
    if (!std::filesystem::exists(std::filesystem::u8path(tk::daemon::configDirectory()), error) &&
        !std::filesystem::exists(std::filesystem::u8path(configPath), error)) {
        return {id, "info",
                tk::daemon::configDirectory() +
                    " does not exist yet: the service's install step makes it with its access "
                    "lists",
                ""};
    }
    try {
        tk::daemon::checkDataAccess(configPath);
    } catch (const tk::daemon::AccessError& e) {
        return {id, "fail", e.what(),
                "as Administrator, `tenderkeyd-service.exe install` gives "
                "%ProgramData%\\TenderKey its access lists again; keep the configuration there"};
    }
    return {id, "ok",
            "only SYSTEM, Administrators and the service may change " + configPath + ", " +
                tk::daemon::stateDirectory() + " and " + tk::daemon::logDirectory(),
            ""};
}

}  // namespace

const PlatformHints& platformHints() {
    static const PlatformHints hints{
        .pcscService = "the Smart Card service (SCardSvr)",
        .pcscStart =
            "Windows starts the Smart Card service when a reader is connected and stops "
            "it when the last one is removed: connect the reader; check with "
            "`sc query SCardSvr`",
        .readersFix =
            "connect the reader; Device Manager shows whether its driver is installed "
            "(most are CCID and need none); `certutil -scinfo` shows what Windows sees",
        .exampleConfig = "%ProgramFiles%\\TenderKey\\tenderkeyd.example.toml",
        .daemonStart =
            "sc start TenderKey; if it stops again, the Event Log (Windows Logs > "
            "Application, source TenderKey) says why (tenderkeyd exits 2 on a bad "
            "configuration, 1 when the port is taken)",
        .daemonReload = "`sc control TenderKey paramchange`",
        .daemonRestart = "sc stop TenderKey, sc start TenderKey",
        .daemonLogs = "the Event Log (source TenderKey) and %ProgramData%\\TenderKey\\logs",
        .readersHiddenFix =
            "a service in session 0 does not see readers redirected over Remote "
            "Desktop, or the reader is a development one and the daemon runs "
            "without development_mode; see the Event Log (source TenderKey)",
        // No socket activation on Windows: the endpoint is on when the configuration says so.
        .hipkiEnable =
            "set [hipki] enabled = true in the configuration, then sc stop TenderKey, "
            "sc start TenderKey",
        .hipkiNotAnswering =
            "sc stop TenderKey, sc start TenderKey; the Event Log (source "
            "TenderKey) says why it does not run",
        .hipkiSockets = "",
        .hipkiUnsetOff = "[hipki] enabled is not set",
    };
    return hints;
}

std::string portHolderCommand(std::uint16_t port) {
    return "`netstat -ano -p tcp | findstr :" + std::to_string(port) +
           "` (the last column is the "
           "process id; `tasklist /fi \"pid eq N\"` names it)";
}

std::vector<Check> platformChecks(const std::string& configPath) {
    return {checkService(configPath), checkDataAccess(configPath)};
}

}  // namespace tk::cli
