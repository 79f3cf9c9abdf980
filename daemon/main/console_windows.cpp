// tenderkeyd.exe on Windows (daemon/main/CMakeLists.txt): the daemon in a console, as
// tenderkeyd runs on Linux. Ctrl+C, Ctrl+Break, closing the console, logging off and shutting
// down stop it (in-flight work gets up to 5 s); there is no reload (SIGHUP) in a console: the
// service (tenderkeyd-service.exe) reloads on SERVICE_CONTROL_PARAMCHANGE.
#include <windows.h>
// clang-format off
#include <shellapi.h>
// clang-format on

#include <spdlog/spdlog.h>

#include <cstdio>
#include <string>
#include <vector>

#include "main/daemon.hpp"
#include "main/windows_paths.hpp"

namespace tk::daemon {

namespace {

HANDLE stopEvent = nullptr;
const char* stopReason = "console event";

BOOL WINAPI onConsoleControl(DWORD control) {
    switch (control) {
        case CTRL_C_EVENT:
            stopReason = "Ctrl+C";
            break;
        case CTRL_BREAK_EVENT:
            stopReason = "Ctrl+Break";
            break;
        case CTRL_CLOSE_EVENT:
            stopReason = "console closed";
            break;
        default:
            stopReason = "logoff or shutdown";
            break;
    }
    SetEvent(stopEvent);
    // The process may end once this returns for CTRL_CLOSE_EVENT and the shutdown events:
    // give the stop its grace time first.
    if (control != CTRL_C_EVENT && control != CTRL_BREAK_EVENT) {
        Sleep(6000);
    }
    return TRUE;
}

// The arguments as UTF-8 (main's argv is in the ANSI code page).
std::vector<std::string> utf8Arguments() {
    int count = 0;
    LPWSTR* wide = CommandLineToArgvW(GetCommandLineW(), &count);
    std::vector<std::string> args;
    for (int i = 1; wide != nullptr && i < count; ++i) {
        const int size = WideCharToMultiByte(CP_UTF8, 0, wide[i], -1, nullptr, 0, nullptr, nullptr);
        std::string arg(static_cast<std::size_t>(size > 0 ? size - 1 : 0), '\0');
        if (size > 1) {
            WideCharToMultiByte(CP_UTF8, 0, wide[i], -1, arg.data(), size, nullptr, nullptr);
        }
        args.push_back(std::move(arg));
    }
    LocalFree(wide);
    return args;
}

}  // namespace

int run(int, char**) {
    CommandLine commandLine;
    try {
        commandLine = parseCommandLine(utf8Arguments());
    } catch (const UsageError& e) {
        std::fprintf(stderr, "tenderkeyd: %s (see --help)\n", e.what());
        return 2;
    }
    if (commandLine.help) {
        std::fputs(usageText().c_str(), stdout);
        return 0;
    }
    if (commandLine.version) {
        std::printf("tenderkeyd %s\n", TK_VERSION);
        return 0;
    }
    try {
        checkDataAccess(commandLine.configPath.value_or(defaultConfigPath()));
    } catch (const AccessError& e) {
        std::fprintf(stderr, "tenderkeyd: %s\n", e.what());
        return 2;
    }

    stopEvent = CreateEventW(nullptr, TRUE, FALSE, nullptr);
    if (stopEvent == nullptr || !SetConsoleCtrlHandler(onConsoleControl, TRUE)) {
        std::fprintf(stderr, "tenderkeyd: cannot watch the console for Ctrl+C\n");
        return 1;
    }
    DaemonHost host;
    host.waitControl = [] {
        WaitForSingleObject(stopEvent, INFINITE);
        spdlog::info("{}: stopping (in-flight work gets up to 5 s)", stopReason);
        return Control::Stop;
    };
    return runDaemon(commandLine, host);
}

}  // namespace tk::daemon
