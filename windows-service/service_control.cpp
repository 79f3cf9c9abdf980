#include "service_control.hpp"

#include <cstdio>
#include <filesystem>
#include <memory>
#include <system_error>

#include "event_log.hpp"
#include "main/command_line.hpp"
#include "main/windows_paths.hpp"
#include "win32.hpp"

namespace tk::winsvc {

namespace {

struct ServiceHandleCloser {
    void operator()(SC_HANDLE handle) const { CloseServiceHandle(handle); }
};
using ServiceHandle = std::unique_ptr<std::remove_pointer_t<SC_HANDLE>, ServiceHandleCloser>;

int fail(const std::wstring& message) {
    std::fwprintf(stderr, L"tenderkeyd-service: %ls\n", message.c_str());
    return 1;
}

std::wstring modulePath() {
    std::wstring path(MAX_PATH, L'\0');
    while (true) {
        const DWORD length =
            GetModuleFileNameW(nullptr, path.data(), static_cast<DWORD>(path.size()));
        if (length == 0) {
            return {};
        }
        if (length < path.size()) {
            path.resize(length);
            return path;
        }
        path.resize(path.size() * 2);
    }
}

// One command-line argument quoted the way CommandLineToArgvW reads it back.
std::wstring quote(const std::wstring& argument) {
    if (!argument.empty() && argument.find_first_of(L" \t\"") == std::wstring::npos) {
        return argument;
    }
    std::wstring quoted = L"\"";
    std::size_t backslashes = 0;
    for (const wchar_t c : argument) {
        if (c == L'\\') {
            ++backslashes;
            continue;
        }
        if (c == L'"') {
            quoted.append(backslashes * 2 + 1, L'\\');
        } else {
            quoted.append(backslashes, L'\\');
        }
        backslashes = 0;
        quoted += c;
    }
    quoted.append(backslashes * 2, L'\\');
    quoted += L'"';
    return quoted;
}

bool configure(SC_HANDLE service, std::wstring& error) {
    SERVICE_DESCRIPTIONW description{const_cast<wchar_t*>(kDescription)};
    if (!ChangeServiceConfig2W(service, SERVICE_CONFIG_DESCRIPTION, &description)) {
        error = lastErrorText(L"setting the description");
        return false;
    }
    SERVICE_DELAYED_AUTO_START_INFO delayed{TRUE};
    if (!ChangeServiceConfig2W(service, SERVICE_CONFIG_DELAYED_AUTO_START_INFO, &delayed)) {
        error = lastErrorText(L"setting delayed automatic start");
        return false;
    }
    SC_ACTION actions[] = {
        {SC_ACTION_RESTART, 5 * 1000},
        {SC_ACTION_RESTART, 30 * 1000},
        {SC_ACTION_RESTART, 120 * 1000},
    };
    SERVICE_FAILURE_ACTIONSW failure{};
    failure.dwResetPeriod = 24 * 60 * 60;
    failure.cActions = static_cast<DWORD>(std::size(actions));
    failure.lpsaActions = actions;
    if (!ChangeServiceConfig2W(service, SERVICE_CONFIG_FAILURE_ACTIONS, &failure)) {
        error = lastErrorText(L"setting the recovery actions");
        return false;
    }
    // Also recover from a stop with a non-zero exit code, not only from a crash.
    SERVICE_FAILURE_ACTIONS_FLAG flag{TRUE};
    if (!ChangeServiceConfig2W(service, SERVICE_CONFIG_FAILURE_ACTIONS_FLAG, &flag)) {
        error = lastErrorText(L"setting the recovery flag");
        return false;
    }
    // The service needs no privileges at all: it talks to the Smart Card service and listens
    // on loopback.
    SERVICE_REQUIRED_PRIVILEGES_INFOW privileges{
        const_cast<wchar_t*>(L"SeChangeNotifyPrivilege\0")};
    if (!ChangeServiceConfig2W(service, SERVICE_CONFIG_REQUIRED_PRIVILEGES_INFO, &privileges)) {
        error = lastErrorText(L"limiting the privileges");
        return false;
    }
    SERVICE_SID_INFO sid{SERVICE_SID_TYPE_RESTRICTED};
    if (!ChangeServiceConfig2W(service, SERVICE_CONFIG_SERVICE_SID_INFO, &sid)) {
        error = lastErrorText(L"setting the service SID type");
        return false;
    }
    return true;
}

}  // namespace

int installService(const std::vector<std::wstring>& daemonArgs) {
    const std::wstring path = modulePath();
    if (path.empty()) {
        return fail(lastErrorText(L"finding the executable"));
    }
    std::wstring commandLine = quote(path) + L" run-service";
    for (const auto& argument : daemonArgs) {
        commandLine += L" " + quote(argument);
    }
    ServiceHandle manager(OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CREATE_SERVICE));
    if (!manager) {
        return fail(lastErrorText(L"opening the Service Control Manager (run as administrator)"));
    }
    // Starts after the Smart Card service (SCardSvr); the list ends with two NULs.
    const wchar_t dependencies[] = L"SCardSvr\0Tcpip\0";
    ServiceHandle service(CreateServiceW(
        manager.get(), kServiceName, kDisplayName, SERVICE_ALL_ACCESS, SERVICE_WIN32_OWN_PROCESS,
        SERVICE_AUTO_START, SERVICE_ERROR_NORMAL, commandLine.c_str(), nullptr, nullptr,
        dependencies, L"NT AUTHORITY\\LocalService", nullptr));
    // Registered already (by the MSI's ServiceInstall, or an earlier install): brought to the
    // same configuration, so that install can be repeated to repair it.
    if (!service && GetLastError() == ERROR_SERVICE_EXISTS) {
        service.reset(OpenServiceW(manager.get(), kServiceName, SERVICE_ALL_ACCESS));
        if (service &&
            !ChangeServiceConfigW(service.get(), SERVICE_WIN32_OWN_PROCESS, SERVICE_AUTO_START,
                                  SERVICE_ERROR_NORMAL, commandLine.c_str(), nullptr, nullptr,
                                  dependencies, L"NT AUTHORITY\\LocalService", L"", kDisplayName)) {
            return fail(lastErrorText(L"updating the service"));
        }
    }
    if (!service) {
        return fail(lastErrorText(L"creating the service"));
    }
    // %ProgramData%\TenderKey and its state\ and logs\ with their access lists, and the
    // configuration from the example next to the executable when there is none yet (an
    // upgrade or a repair keeps the administrator's file). First, so that a failure further
    // on leaves folders a repeated install finds ready.
    try {
        daemon::secureDataDirectories();
        const std::filesystem::path config = std::filesystem::u8path(daemon::defaultConfigPath());
        const std::filesystem::path example =
            std::filesystem::path(path).parent_path() / L"tenderkeyd.example.toml";
        std::error_code missing;
        if (!std::filesystem::exists(config, missing) &&
            std::filesystem::exists(example, missing)) {
            std::filesystem::copy_file(example, config);
            std::fwprintf(stdout, L"configuration: %ls (from %ls)\n", config.c_str(),
                          example.c_str());
        }
    } catch (const std::exception& e) {
        DeleteService(service.get());
        return fail(widen(e.what()));
    }
    std::wstring error;
    if (!configure(service.get(), error)) {
        DeleteService(service.get());
        return fail(error);
    }
    if (!EventLog::registerSource(path, error)) {
        DeleteService(service.get());
        return fail(error);
    }
    std::fwprintf(stdout, L"installed service %ls: %ls\n", kServiceName, commandLine.c_str());
    return 0;
}

int uninstallService() {
    ServiceHandle manager(OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT));
    if (!manager) {
        return fail(lastErrorText(L"opening the Service Control Manager (run as administrator)"));
    }
    ServiceHandle service(
        OpenServiceW(manager.get(), kServiceName, SERVICE_STOP | SERVICE_QUERY_STATUS | DELETE));
    if (!service) {
        return fail(lastErrorText(L"opening the service"));
    }
    SERVICE_STATUS status{};
    if (ControlService(service.get(), SERVICE_CONTROL_STOP, &status)) {
        // Up to 20 s for the stop (in-flight work gets 5 s, card work the rest).
        for (int i = 0; i < 80 && status.dwCurrentState != SERVICE_STOPPED; ++i) {
            Sleep(250);
            if (!QueryServiceStatus(service.get(), &status)) {
                break;
            }
        }
    }
    if (!DeleteService(service.get())) {
        return fail(lastErrorText(L"deleting the service"));
    }
    EventLog::unregisterSource();
    std::fwprintf(stdout, L"removed service %ls\n", kServiceName);
    return 0;
}

}  // namespace tk::winsvc
