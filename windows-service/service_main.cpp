// tenderkeyd-service.exe: tenderkeyd as a Windows service.
//
//   tenderkeyd-service install [OPTION]...   install the service (OPTIONs: tenderkeyd's, e.g.
//                                            --config C:\ProgramData\TenderKey\tenderkeyd.toml)
//   tenderkeyd-service uninstall             stop and remove it
//   tenderkeyd-service remove-data           delete %ProgramData%\TenderKey: configuration,
//                                            state and logs (the MSI's uninstall)
//   tenderkeyd-service console [OPTION]...   run in this console; Ctrl+C stops
//   tenderkeyd-service run-service [OPTION]...   what the Service Control Manager starts
// clang-format off
#include "win32.hpp"  // windows.h, before dbt.h
#include <dbt.h>
// clang-format on

#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "daemon_bridge.hpp"
#include "main/windows_paths.hpp"
#include "service_control.hpp"

namespace tk::winsvc {

namespace {

// GUID_DEVINTERFACE_SMARTCARD_READER {50DD5230-BA8A-11D1-BF5D-0000F805F530}: the interface
// class of every smart-card reader; device events of this class reach the control handler.
constexpr GUID kSmartCardReaderInterface = {
    0x50dd5230, 0xba8a, 0x11d1, {0xbf, 0x5d, 0x00, 0x00, 0xf8, 0x05, 0xf5, 0x30}};

constexpr DWORD kStartWaitHint = 30 * 1000;
// Requests in flight get 5 s, card work what is left of them; the rest is a margin.
constexpr DWORD kStopWaitHint = 15 * 1000;
// While a start or stop is pending the checkpoint advances this often.
constexpr DWORD kCheckpointPeriod = 2 * 1000;

// The service's state as the SCM sees it, reported from the service thread, the control
// handler and the checkpoint timer.
class StatusReporter {
  public:
    void attach(SERVICE_STATUS_HANDLE handle) {
        const SrwGuard guard(lock_);
        handle_ = handle;
        status_.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
    }

    // START_PENDING and STOP_PENDING get a checkpoint that advances until the next state.
    void report(DWORD state, DWORD waitHint = 0, DWORD exitCode = 0) {
        const SrwGuard guard(lock_);
        status_.dwCurrentState = state;
        status_.dwWaitHint = waitHint;
        status_.dwControlsAccepted =
            state == SERVICE_RUNNING
                ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN | SERVICE_ACCEPT_PARAMCHANGE
                : 0;
        status_.dwCheckPoint = (state == SERVICE_START_PENDING || state == SERVICE_STOP_PENDING)
                                   ? status_.dwCheckPoint + 1
                                   : 0;
        if (exitCode == 0) {
            status_.dwWin32ExitCode = NO_ERROR;
            status_.dwServiceSpecificExitCode = 0;
        } else {
            status_.dwWin32ExitCode = ERROR_SERVICE_SPECIFIC_ERROR;
            status_.dwServiceSpecificExitCode = exitCode;
        }
        send();
    }

    // The checkpoint timer: a pending state that is still pending moves on by one.
    void tick() {
        const SrwGuard guard(lock_);
        if (status_.dwCurrentState == SERVICE_START_PENDING ||
            status_.dwCurrentState == SERVICE_STOP_PENDING) {
            ++status_.dwCheckPoint;
            send();
        }
    }

    DWORD state() {
        const SrwGuard guard(lock_);
        return status_.dwCurrentState;
    }

  private:
    void send() {
        if (handle_ != nullptr) {
            SetServiceStatus(handle_, &status_);
        }
    }

    SRWLOCK lock_ = SRWLOCK_INIT;
    SERVICE_STATUS_HANDLE handle_ = nullptr;
    SERVICE_STATUS status_{};
};

// Stop and reload requests as two events: from the control handler (service) or the console
// control handler (console mode).
class Requests final : public ServiceControls {
  public:
    Requests()
        : stop_(CreateEventW(nullptr, TRUE, FALSE, nullptr)),
          reload_(CreateEventW(nullptr, FALSE, FALSE, nullptr)) {}
    ~Requests() override {
        CloseHandle(stop_);
        CloseHandle(reload_);
    }
    Requests(const Requests&) = delete;
    Requests& operator=(const Requests&) = delete;

    void requestStop() { SetEvent(stop_); }
    void requestReload() { SetEvent(reload_); }

    bool waitStopOrReload() override {
        const HANDLE events[] = {stop_, reload_};
        const DWORD which = WaitForMultipleObjects(2, events, FALSE, INFINITE);
        return which != WAIT_OBJECT_0 + 1;  // a failed wait stops too
    }
    void started() override {
        if (onStarted) {
            onStarted();
        }
    }
    void stopping() override {
        if (onStopping) {
            onStopping();
        }
    }

    void (*onStarted)() = nullptr;
    void (*onStopping)() = nullptr;

  private:
    HANDLE stop_;
    HANDLE reload_;
};

StatusReporter status;
Requests* requests = nullptr;
std::vector<std::wstring> daemonArgs;  // from the service's command line (ImagePath)

void CALLBACK checkpointTick(PVOID, BOOLEAN) {
    status.tick();
}

std::wstring deviceName(LPVOID eventData) {
    const auto* header = static_cast<const DEV_BROADCAST_HDR*>(eventData);
    if (header == nullptr || header->dbch_devicetype != DBT_DEVTYP_DEVICEINTERFACE) {
        return L"(unknown device)";
    }
    return static_cast<const DEV_BROADCAST_DEVICEINTERFACE_W*>(eventData)->dbcc_name;
}

DWORD WINAPI controlHandler(DWORD control, DWORD eventType, LPVOID eventData, LPVOID) {
    switch (control) {
        case SERVICE_CONTROL_STOP:
        case SERVICE_CONTROL_SHUTDOWN:
            status.report(SERVICE_STOP_PENDING, kStopWaitHint);
            if (requests != nullptr) {
                requests->requestStop();
            }
            return NO_ERROR;
        case SERVICE_CONTROL_PARAMCHANGE:
            if (requests != nullptr) {
                requests->requestReload();
            }
            return NO_ERROR;
        case SERVICE_CONTROL_DEVICEEVENT:
            // The card manager follows readers itself (PC/SC reader notifications); the event
            // is recorded so that a reader that comes and goes can be traced in the log.
            if (eventType == DBT_DEVICEARRIVAL) {
                logInformation(L"smart-card reader connected: " + deviceName(eventData));
            } else if (eventType == DBT_DEVICEREMOVECOMPLETE) {
                logInformation(L"smart-card reader removed: " + deviceName(eventData));
            }
            return NO_ERROR;
        case SERVICE_CONTROL_INTERROGATE:
            return NO_ERROR;
        default:
            return ERROR_CALL_NOT_IMPLEMENTED;
    }
}

void WINAPI serviceMain(DWORD, LPWSTR*) {
    const SERVICE_STATUS_HANDLE handle =
        RegisterServiceCtrlHandlerExW(kServiceName, controlHandler, nullptr);
    if (handle == nullptr) {
        return;
    }
    status.attach(handle);
    status.report(SERVICE_START_PENDING, kStartWaitHint);

    HANDLE timer = nullptr;
    CreateTimerQueueTimer(&timer, nullptr, checkpointTick, nullptr, kCheckpointPeriod,
                          kCheckpointPeriod, WT_EXECUTEDEFAULT);

    DEV_BROADCAST_DEVICEINTERFACE_W filter{};
    filter.dbcc_size = sizeof(filter);
    filter.dbcc_devicetype = DBT_DEVTYP_DEVICEINTERFACE;
    filter.dbcc_classguid = kSmartCardReaderInterface;
    const HDEVNOTIFY notification =
        RegisterDeviceNotificationW(handle, &filter, DEVICE_NOTIFY_SERVICE_HANDLE);

    Requests controls;
    controls.onStarted = [] { status.report(SERVICE_RUNNING); };
    controls.onStopping = [] {
        if (status.state() != SERVICE_STOP_PENDING) {
            status.report(SERVICE_STOP_PENDING, kStopWaitHint);
        }
    };
    requests = &controls;
    const int exitCode = runDaemonCore(daemonArgs, controls, LogTarget::EventLog);
    requests = nullptr;

    if (notification != nullptr) {
        UnregisterDeviceNotification(notification);
    }
    if (timer != nullptr) {
        DeleteTimerQueueTimer(nullptr, timer, INVALID_HANDLE_VALUE);  // waits for a running tick
    }
    status.report(SERVICE_STOPPED, 0, static_cast<DWORD>(exitCode));
}

Requests* consoleRequests = nullptr;

BOOL WINAPI consoleHandler(DWORD type) {
    if (consoleRequests != nullptr &&
        (type == CTRL_C_EVENT || type == CTRL_BREAK_EVENT || type == CTRL_CLOSE_EVENT)) {
        consoleRequests->requestStop();
        return TRUE;
    }
    return FALSE;
}

int runConsole(const std::vector<std::wstring>& args) {
    Requests controls;
    consoleRequests = &controls;
    SetConsoleCtrlHandler(consoleHandler, TRUE);
    const int exitCode = runDaemonCore(args, controls, LogTarget::Console);
    SetConsoleCtrlHandler(consoleHandler, FALSE);
    consoleRequests = nullptr;
    return exitCode;
}

int removeData() {
    const std::string dir = daemon::configDirectory();
    std::error_code error;
    std::filesystem::remove_all(std::filesystem::u8path(dir), error);
    if (error) {
        std::fprintf(stderr, "tenderkeyd-service: cannot remove %s: %s\n", dir.c_str(),
                     error.message().c_str());
        return 1;
    }
    return 0;
}

int usage() {
    std::fputs(
        "Usage: tenderkeyd-service install [OPTION]...   install the TenderKey service\n"
        "       tenderkeyd-service uninstall             stop and remove it\n"
        "       tenderkeyd-service remove-data           delete %ProgramData%\\TenderKey\n"
        "       tenderkeyd-service console [OPTION]...   run in this console (Ctrl+C stops)\n"
        "OPTIONs are tenderkeyd's (tenderkeyd-service console --help lists them).\n"
        "`sc control TenderKey paramchange` reloads the origin allow-list and log level.\n",
        stderr);
    return 2;
}

}  // namespace

int serviceEntry(int argc, wchar_t** argv) {
    const std::wstring command = argc >= 2 ? argv[1] : L"run-service";
    std::vector<std::wstring> rest;
    for (int i = 2; i < argc; ++i) {
        rest.emplace_back(argv[i]);
    }
    if (command == L"install") {
        return installService(rest);
    }
    if (command == L"uninstall") {
        return rest.empty() ? uninstallService() : usage();
    }
    if (command == L"remove-data") {
        return rest.empty() ? removeData() : usage();
    }
    if (command == L"console") {
        return runConsole(rest);
    }
    if (command != L"run-service") {
        return usage();
    }
    daemonArgs = std::move(rest);
    SERVICE_TABLE_ENTRYW table[] = {{const_cast<wchar_t*>(kServiceName), serviceMain},
                                    {nullptr, nullptr}};
    if (!StartServiceCtrlDispatcherW(table)) {
        if (GetLastError() == ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) {
            std::fputs("tenderkeyd-service: not started by the Service Control Manager\n", stderr);
            return usage();
        }
        std::fwprintf(stderr, L"tenderkeyd-service: %ls\n",
                      lastErrorText(L"StartServiceCtrlDispatcher").c_str());
        return 1;
    }
    return 0;
}

}  // namespace tk::winsvc

int wmain(int argc, wchar_t** argv) {
    return tk::winsvc::serviceEntry(argc, argv);
}
