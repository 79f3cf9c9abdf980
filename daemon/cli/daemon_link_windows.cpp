// winsock2.h before windows.h (which would otherwise pull in the old winsock.h).
#include <winsock2.h>
#include <ws2tcpip.h>
//
#include <shellapi.h>
#include <windows.h>

#include <algorithm>
#include <cwctype>
#include <filesystem>
#include <memory>
#include <vector>

#include "cli/daemon_link.hpp"
#include "cli/daemon_link_windows.hpp"
#include "cli/exit_status.hpp"
#include "cli/port_holder.hpp"
#include "cli/windows_text.hpp"
#include "main/command_line.hpp"

namespace tk::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const wchar_t* kServiceName = L"TenderKey";

// ---------------------------------------------------------------------------------- sockets

// Winsock for the life of the process, started on first use.
void startWinsock() {
    static const bool started = [] {
        WSADATA data{};
        return ::WSAStartup(MAKEWORD(2, 2), &data) == 0;
    }();
    (void)started;
}

class Socket {
  public:
    explicit Socket(SOCKET s) : s_(s) {}
    ~Socket() {
        if (s_ != INVALID_SOCKET) {
            ::closesocket(s_);
        }
    }
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;
    SOCKET get() const { return s_; }

  private:
    SOCKET s_;
};

timeval timeLeft(Clock::time_point deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::microseconds>(deadline - Clock::now()).count();
    const long long us = left > 0 ? left : 0;
    return timeval{static_cast<long>(us / 1000000), static_cast<long>(us % 1000000)};
}

// Waits until the socket is writable (true) or failed/timed out (false, `error` set).
bool waitWritable(SOCKET s, Clock::time_point deadline, int& error) {
    fd_set write;
    fd_set except;
    FD_ZERO(&write);
    FD_ZERO(&except);
    FD_SET(s, &write);
    FD_SET(s, &except);
    timeval wait = timeLeft(deadline);
    const int n = ::select(0, nullptr, &write, &except, &wait);
    if (n <= 0) {
        error = WSAETIMEDOUT;
        return false;
    }
    if (FD_ISSET(s, &except)) {
        int code = 0;
        int size = sizeof(code);
        ::getsockopt(s, SOL_SOCKET, SO_ERROR, reinterpret_cast<char*>(&code), &size);
        error = code != 0 ? code : WSAECONNREFUSED;
        return false;
    }
    return true;
}

bool waitReadable(SOCKET s, Clock::time_point deadline) {
    fd_set read;
    FD_ZERO(&read);
    FD_SET(s, &read);
    timeval wait = timeLeft(deadline);
    return ::select(0, &read, nullptr, nullptr, &wait) > 0;
}

// A loopback TCP socket to one listener, non-blocking, every wait bounded by the deadline.
class HealthSocket : public detail::ProbeSocket {
  public:
    HealthSocket(const Endpoint& endpoint, Clock::time_point deadline)
        : endpoint_(endpoint),
          deadline_(deadline),
          socket_(::socket(v6() ? AF_INET6 : AF_INET, SOCK_STREAM, IPPROTO_TCP)) {}

    SOCKET get() const { return socket_.get(); }

    Connect connect(std::string& message) override {
        u_long nonBlocking = 1;
        ::ioctlsocket(socket_.get(), FIONBIO, &nonBlocking);
        int rc = 0;
        if (v6()) {
            sockaddr_in6 address{};
            address.sin6_family = AF_INET6;
            address.sin6_port = ::htons(endpoint_.port);
            address.sin6_addr = in6addr_loopback;
            rc = ::connect(socket_.get(), reinterpret_cast<const sockaddr*>(&address),
                           sizeof(address));
        } else {
            sockaddr_in address{};
            address.sin_family = AF_INET;
            address.sin_port = ::htons(endpoint_.port);
            ::inet_pton(AF_INET, endpoint_.address.c_str(), &address.sin_addr);
            rc = ::connect(socket_.get(), reinterpret_cast<const sockaddr*>(&address),
                           sizeof(address));
        }
        int error = 0;
        if (rc != 0) {
            error = ::WSAGetLastError();
            if (error == WSAEWOULDBLOCK && waitWritable(socket_.get(), deadline_, error)) {
                error = 0;
            }
        }
        if (error == 0) {
            return Connect::Connected;
        }
        message = windowsMessage(static_cast<unsigned long>(error));
        if (error == WSAECONNREFUSED) {
            return Connect::Refused;
        }
        if (error == WSAEADDRNOTAVAIL || error == WSAENETUNREACH || error == WSAEAFNOSUPPORT) {
            return Connect::AddressUnavailable;
        }
        return Connect::Failed;
    }

    Io send(std::string_view data, std::size_t& count, std::string& message) override {
        int error = 0;
        if (!waitWritable(socket_.get(), deadline_, error)) {
            return Io::TimedOut;
        }
        const int n = ::send(socket_.get(), data.data(), static_cast<int>(data.size()), 0);
        if (n == SOCKET_ERROR && ::WSAGetLastError() != WSAEWOULDBLOCK) {
            message = windowsMessage(static_cast<unsigned long>(::WSAGetLastError()));
            return Io::Failed;
        }
        count = n > 0 ? static_cast<std::size_t>(n) : 0;
        return Io::Done;
    }

    Io receive(char* buffer, std::size_t size, std::size_t& count) override {
        if (!waitReadable(socket_.get(), deadline_)) {
            return Io::TimedOut;
        }
        const int n = ::recv(socket_.get(), buffer, static_cast<int>(size), 0);
        if (n == SOCKET_ERROR) {
            return ::WSAGetLastError() == WSAEWOULDBLOCK ? Io::Again : Io::Failed;
        }
        count = static_cast<std::size_t>(n);
        return Io::Done;
    }

  private:
    bool v6() const { return endpoint_.address == "::1"; }

    const Endpoint& endpoint_;
    Clock::time_point deadline_;
    Socket socket_;
};

Probe probeHttp(const Endpoint& endpoint, std::chrono::milliseconds timeout) {
    startWinsock();
    Probe probe;
    // Windows retries a refused loopback connection for about two seconds: the TCP table
    // says at once whether anything listens, and who.
    const PortListeners listeners = portListeners(endpoint.port);
    if (!listeners.listening) {
        probe.state = Probe::State::Free;
        probe.detail = "nothing listens on the port (TCP table)";
        return probe;
    }
    for (const PortHolder& holder : listeners.holders) {
        probe.holder += (probe.holder.empty() ? "" : "; ") +
                        (holder.name.empty() ? std::string("a process") : holder.name) + " (pid " +
                        std::to_string(holder.pid) + ")";
    }
    HealthSocket socket(endpoint, Clock::now() + timeout);
    if (socket.get() == INVALID_SOCKET) {
        probe.detail = "socket: " + windowsMessage(static_cast<unsigned long>(::WSAGetLastError()));
        return probe;
    }
    return detail::probeOver(endpoint, socket, std::move(probe));
}

// ---------------------------------------------------------------------------------- service

struct ScHandleClose {
    void operator()(SC_HANDLE h) const noexcept { ::CloseServiceHandle(h); }
};
using ScHandle = std::unique_ptr<std::remove_pointer_t<SC_HANDLE>, ScHandleClose>;

std::string stateName(DWORD state) {
    switch (state) {
        case SERVICE_RUNNING:
            return "running";
        case SERVICE_STOPPED:
            return "stopped";
        case SERVICE_START_PENDING:
            return "starting";
        case SERVICE_STOP_PENDING:
            return "stopping";
        case SERVICE_PAUSED:
            return "paused";
        default:
            return "in state " + std::to_string(state);
    }
}

// The --config of a service command line (ImagePath), else the daemon's default.
std::string configOfCommandLine(const std::wstring& commandLine) {
    int argc = 0;
    LPWSTR* argv = ::CommandLineToArgvW(commandLine.c_str(), &argc);
    std::string config = tk::daemon::defaultConfigPath();
    if (argv == nullptr) {
        return config;
    }
    for (int i = 1; i < argc; ++i) {
        const std::wstring arg = argv[i];
        if (arg == L"--config" && i + 1 < argc) {
            config = narrow(argv[i + 1]);
        } else if (arg.starts_with(L"--config=")) {
            config = narrow(arg.substr(9));
        }
    }
    ::LocalFree(argv);
    return config;
}

ReloadOutcome notReloaded(std::string message) {
    ReloadOutcome outcome;
    outcome.method = "service";
    outcome.message = std::move(message);
    return outcome;
}

}  // namespace

std::string windowsMessage(unsigned long error) {
    wchar_t* text = nullptr;
    const DWORD length = ::FormatMessageW(
        FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
        nullptr, error, 0, reinterpret_cast<wchar_t*>(&text), 0, nullptr);
    std::string message = length > 0 ? narrow(std::wstring(text, length)) : "error";
    if (text != nullptr) {
        ::LocalFree(text);
    }
    while (!message.empty() && (message.back() == '\n' || message.back() == '\r' ||
                                message.back() == ' ' || message.back() == '.')) {
        message.pop_back();
    }
    return message + " (" + std::to_string(error) + ")";
}

bool samePath(const std::string& a, const std::string& b) {
    const auto normal = [](const std::string& path) {
        std::error_code error;
        fs::path p = fs::weakly_canonical(fs::absolute(fs::u8path(path), error), error);
        std::wstring text = p.lexically_normal().wstring();
        std::transform(text.begin(), text.end(), text.begin(),
                       [](wchar_t c) { return static_cast<wchar_t>(std::towlower(c)); });
        return text;
    };
    return normal(a) == normal(b);
}

ServiceInfo queryService() {
    ServiceInfo info;
    const ScHandle manager(::OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT));
    if (!manager) {
        info.problem = "OpenSCManager: " + windowsMessage(::GetLastError());
        return info;
    }
    const ScHandle service(
        ::OpenServiceW(manager.get(), kServiceName, SERVICE_QUERY_STATUS | SERVICE_QUERY_CONFIG));
    if (!service) {
        const DWORD error = ::GetLastError();
        if (error != ERROR_SERVICE_DOES_NOT_EXIST) {
            info.problem = "OpenService(TenderKey): " + windowsMessage(error);
        }
        return info;
    }
    info.installed = true;
    SERVICE_STATUS_PROCESS status{};
    DWORD needed = 0;
    if (::QueryServiceStatusEx(service.get(), SC_STATUS_PROCESS_INFO,
                               reinterpret_cast<LPBYTE>(&status), sizeof(status), &needed) != 0) {
        info.state = stateName(status.dwCurrentState);
        info.running = status.dwCurrentState == SERVICE_RUNNING;
        info.pid = info.running ? static_cast<std::int64_t>(status.dwProcessId) : 0;
    } else {
        info.problem = "QueryServiceStatusEx: " + windowsMessage(::GetLastError());
    }
    ::QueryServiceConfigW(service.get(), nullptr, 0, &needed);
    std::vector<std::uint8_t> buffer(needed + sizeof(QUERY_SERVICE_CONFIGW));
    auto* config = reinterpret_cast<QUERY_SERVICE_CONFIGW*>(buffer.data());
    if (::QueryServiceConfigW(service.get(), config, static_cast<DWORD>(buffer.size()), &needed) !=
        0) {
        info.configPath = configOfCommandLine(config->lpBinaryPathName != nullptr
                                                  ? std::wstring(config->lpBinaryPathName)
                                                  : std::wstring());
        switch (config->dwStartType) {
            case SERVICE_AUTO_START: {
                SERVICE_DELAYED_AUTO_START_INFO delayed{};
                DWORD size = 0;
                const bool isDelayed =
                    ::QueryServiceConfig2W(service.get(), SERVICE_CONFIG_DELAYED_AUTO_START_INFO,
                                           reinterpret_cast<LPBYTE>(&delayed), sizeof(delayed),
                                           &size) != 0 &&
                    delayed.fDelayedAutostart;
                info.startType = isDelayed ? "delayed automatic" : "automatic";
                break;
            }
            case SERVICE_DEMAND_START:
                info.startType = "manual";
                break;
            case SERVICE_DISABLED:
                info.startType = "disabled";
                break;
            default:
                info.startType = "boot or system";
                break;
        }
    } else {
        info.configPath = tk::daemon::defaultConfigPath();
    }
    return info;
}

std::string defaultConfigPath() {
    return tk::daemon::defaultConfigPath();
}

Probe probeEndpoint(const Endpoint& endpoint, std::chrono::milliseconds timeout) {
    return probeHttp(endpoint, timeout);
}

namespace detail {

bool platformReloadMode(const std::string& value, ReloadMode& mode) {
    if (value == "service") {
        mode = ReloadMode::Service;
        return true;
    }
    return false;
}

}  // namespace detail

// SERVICE_CONTROL_PARAMCHANGE is the service's counterpart of SIGHUP (windows-service/ accepts
// it: the origin allow-list and log level are read again). A tenderkeyd.exe in a console has
// no such control: it reads the change when started again.
ReloadOutcome reloadDaemon(const std::string& configPath, ReloadMode mode) {
    if (mode == ReloadMode::None) {
        ReloadOutcome outcome;
        outcome.method = "none";
        outcome.message = "the daemon was not asked to reload (--reload none)";
        return outcome;
    }
    const bool forced = mode == ReloadMode::Service;
    const ServiceInfo info = queryService();
    if (!info.problem.empty() && !info.installed) {
        throw ReloadFailed("cannot ask the Service Control Manager: " + info.problem);
    }
    if (!info.installed) {
        if (forced) {
            throw ReloadFailed("the TenderKey service is not installed");
        }
        return notReloaded(
            "the TenderKey service is not installed; a tenderkeyd.exe running in "
            "a console reads the change when it is started again");
    }
    if (!info.running) {
        if (forced) {
            throw ReloadFailed("the TenderKey service is " + info.state + ", not running");
        }
        return notReloaded("the TenderKey service is " + info.state +
                           "; the change applies when it starts");
    }
    if (!forced && !samePath(info.configPath, configPath)) {
        return notReloaded("the TenderKey service reads " + info.configPath +
                           ", not this file: it was not asked to reload");
    }
    const ScHandle manager(::OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT));
    const ScHandle service(manager ? ::OpenServiceW(manager.get(), kServiceName,
                                                    SERVICE_PAUSE_CONTINUE | SERVICE_QUERY_STATUS)
                                   : nullptr);
    SERVICE_STATUS status{};
    if (!service || ::ControlService(service.get(), SERVICE_CONTROL_PARAMCHANGE, &status) == 0) {
        const DWORD error = ::GetLastError();
        throw ReloadFailed("SERVICE_CONTROL_PARAMCHANGE to the TenderKey service failed: " +
                           windowsMessage(error) +
                           (error == ERROR_ACCESS_DENIED ? " (run as Administrator)" : ""));
    }
    ReloadOutcome outcome;
    outcome.method = "service";
    outcome.reloaded = true;
    outcome.pids = {info.pid};
    outcome.message = "SERVICE_CONTROL_PARAMCHANGE sent to the TenderKey service (pid " +
                      std::to_string(info.pid) + ")";
    return outcome;
}

}  // namespace tk::cli
