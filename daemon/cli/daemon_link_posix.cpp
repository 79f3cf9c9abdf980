#include "cli/daemon_link_posix.hpp"
#include "cli/daemon_link.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "cli/exit_status.hpp"

extern char** environ;

namespace tk::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

class Socket {
  public:
    explicit Socket(int fd) : fd_(fd) {}
    ~Socket() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;
    int fd() const { return fd_; }

  private:
    int fd_;
};

int remainingMs(Clock::time_point deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return left > 0 ? static_cast<int>(left) : 0;
}

// Non-blocking connect; 0, or the errno that ended it (ETIMEDOUT on timeout).
int connectTo(int fd, const sockaddr* address, socklen_t length, Clock::time_point deadline) {
    if (::connect(fd, address, length) == 0) {
        return 0;
    }
    if (errno != EINPROGRESS) {
        return errno;
    }
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, remainingMs(deadline)) <= 0) {
        return ETIMEDOUT;
    }
    int error = 0;
    socklen_t size = sizeof(error);
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size);
    return error;
}

// A loopback TCP socket to one listener, non-blocking, every wait bounded by the deadline.
class HealthSocket : public detail::ProbeSocket {
  public:
    HealthSocket(const Endpoint& endpoint, Clock::time_point deadline)
        : endpoint_(endpoint),
          deadline_(deadline),
          socket_(
              ::socket(v6() ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) {}

    int fd() const { return socket_.fd(); }

    Connect connect(std::string& message) override {
        int error = 0;
        if (v6()) {
            sockaddr_in6 address{};
            address.sin6_family = AF_INET6;
            address.sin6_port = htons(endpoint_.port);
            address.sin6_addr = in6addr_loopback;
            error = connectTo(socket_.fd(), reinterpret_cast<const sockaddr*>(&address),
                              sizeof(address), deadline_);
        } else {
            sockaddr_in address{};
            address.sin_family = AF_INET;
            address.sin_port = htons(endpoint_.port);
            ::inet_pton(AF_INET, endpoint_.address.c_str(), &address.sin_addr);
            error = connectTo(socket_.fd(), reinterpret_cast<const sockaddr*>(&address),
                              sizeof(address), deadline_);
        }
        if (error == 0) {
            return Connect::Connected;
        }
        message = std::strerror(error);
        if (error == ECONNREFUSED) {
            return Connect::Refused;
        }
        if (error == EADDRNOTAVAIL || error == ENETUNREACH || error == EAFNOSUPPORT) {
            return Connect::AddressUnavailable;
        }
        return Connect::Failed;
    }

    Io send(std::string_view data, std::size_t& count, std::string& message) override {
        pollfd p{socket_.fd(), POLLOUT, 0};
        if (::poll(&p, 1, remainingMs(deadline_)) <= 0) {
            return Io::TimedOut;
        }
        const ssize_t n = ::send(socket_.fd(), data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            message = std::strerror(errno);
            return Io::Failed;
        }
        count = n > 0 ? static_cast<std::size_t>(n) : 0;
        return Io::Done;
    }

    Io receive(char* buffer, std::size_t size, std::size_t& count) override {
        pollfd p{socket_.fd(), POLLIN, 0};
        if (::poll(&p, 1, remainingMs(deadline_)) <= 0) {
            return Io::TimedOut;
        }
        const ssize_t n = ::recv(socket_.fd(), buffer, size, 0);
        if (n < 0) {
            return errno == EAGAIN || errno == EINTR ? Io::Again : Io::Failed;
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
    HealthSocket socket(endpoint, Clock::now() + timeout);
    if (socket.fd() < 0) {
        Probe probe;
        probe.detail = std::string("socket: ") + std::strerror(errno);
        return probe;
    }
    return detail::probeOver(endpoint, socket, Probe{});
}

std::vector<std::string> cmdlineOf(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
    const std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::string> args;
    std::string current;
    for (const char c : all) {
        if (c == '\0') {
            args.push_back(current);
            current.clear();
        } else {
            current += c;
        }
    }
    if (!current.empty()) {
        args.push_back(current);
    }
    return args;
}

fs::path canonicalOr(const fs::path& path) {
    std::error_code error;
    fs::path out = fs::weakly_canonical(path, error);
    return error ? path.lexically_normal() : out;
}

// The configuration file of a tenderkeyd process.
fs::path configOf(pid_t pid) {
    const std::vector<std::string> args = cmdlineOf(pid);
    std::string config = kDefaultConfigPath;
    for (std::size_t i = 1; i < args.size(); ++i) {
        if (args[i] == "--config" && i + 1 < args.size()) {
            config = args[i + 1];
        } else if (args[i].starts_with("--config=")) {
            config = args[i].substr(9);
        }
    }
    fs::path path(config);
    if (path.is_relative()) {
        std::error_code error;
        const fs::path cwd = fs::read_symlink("/proc/" + std::to_string(pid) + "/cwd", error);
        path = error ? path : cwd / path;
    }
    return canonicalOr(path);
}

bool systemdRunsUnit() {
    struct stat st {};
    if (::stat("/run/systemd/system", &st) != 0) {
        return false;  // not booted with systemd (containers, chroots)
    }
    return runProgram({"systemctl", "is-active", "--quiet", kServiceUnit}) == 0;
}

}  // namespace

namespace detail {

bool platformReloadMode(const std::string& value, ReloadMode& mode) {
    if (value == "systemd") {
        mode = ReloadMode::Systemd;
        return true;
    }
    if (value == "signal") {
        mode = ReloadMode::Signal;
        return true;
    }
    return false;
}

}  // namespace detail

std::string defaultConfigPath() {
    return kDefaultConfigPath;
}

Probe probeEndpoint(const Endpoint& endpoint, std::chrono::milliseconds timeout) {
    return probeHttp(endpoint, timeout);
}

std::vector<std::int64_t> daemonProcesses() {
    std::vector<std::int64_t> pids;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator("/proc", error)) {
        const std::string name = entry.path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) {
            continue;
        }
        std::ifstream comm(entry.path() / "comm");
        std::string command;
        std::getline(comm, command);
        if (command == "tenderkeyd") {
            pids.push_back(std::stoll(name));
        }
    }
    return pids;
}

std::vector<std::int64_t> daemonProcessesFor(const std::string& configPath) {
    const fs::path wanted = canonicalOr(fs::absolute(configPath));
    std::vector<std::int64_t> pids;
    for (const std::int64_t pid : daemonProcesses()) {
        if (configOf(static_cast<pid_t>(pid)) == wanted) {
            pids.push_back(pid);
        }
    }
    return pids;
}

ReloadOutcome reloadDaemon(const std::string& configPath, ReloadMode mode) {
    ReloadOutcome outcome;
    if (mode == ReloadMode::None) {
        outcome.method = "none";
        outcome.message = "the daemon was not asked to reload (--reload none)";
        return outcome;
    }
    if (mode == ReloadMode::Systemd || (mode == ReloadMode::Auto && systemdRunsUnit())) {
        outcome.method = "systemd";
        std::string output;
        const int status = runProgram({"systemctl", "reload", kServiceUnit}, &output);
        if (status != 0) {
            throw ReloadFailed(std::string("systemctl reload ") + kServiceUnit + " failed" +
                               (output.empty() ? std::string() : ": " + output) +
                               " (see journalctl -u tenderkeyd)");
        }
        outcome.reloaded = true;
        outcome.message = std::string("reloaded with systemctl reload ") + kServiceUnit;
        return outcome;
    }
    outcome.method = "signal";
    outcome.pids = daemonProcessesFor(configPath);
    if (outcome.pids.empty()) {
        outcome.message =
            "no running tenderkeyd reads this file; the change applies when it starts";
        return outcome;
    }
    std::string list;
    for (const std::int64_t pid : outcome.pids) {
        if (::kill(static_cast<pid_t>(pid), SIGHUP) != 0) {
            throw ReloadFailed("cannot send SIGHUP to tenderkeyd (pid " + std::to_string(pid) +
                               "): " + std::strerror(errno) + " (run as root or as its user)");
        }
        list += (list.empty() ? "" : ", ") + std::to_string(pid);
    }
    outcome.reloaded = true;
    outcome.message = "SIGHUP sent to tenderkeyd (pid " + list + ")";
    return outcome;
}

int runProgram(const std::vector<std::string>& argv, std::string* output) {
    int pipeFds[2] = {-1, -1};
    if (::pipe2(pipeFds, O_CLOEXEC) != 0) {
        return -1;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, pipeFds[1], 1);
    posix_spawn_file_actions_adddup2(&actions, pipeFds[1], 2);
    std::vector<char*> args;
    for (const std::string& arg : argv) {
        args.push_back(const_cast<char*>(arg.c_str()));
    }
    args.push_back(nullptr);
    pid_t pid = -1;
    const int spawned = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(pipeFds[1]);
    std::string text;
    if (spawned == 0) {
        char buffer[1024];
        ssize_t n = 0;
        while ((n = ::read(pipeFds[0], buffer, sizeof(buffer))) > 0 || (n < 0 && errno == EINTR)) {
            if (n > 0 && text.size() < 8192) {
                text.append(buffer, static_cast<std::size_t>(n));
            }
        }
    }
    ::close(pipeFds[0]);
    if (spawned != 0) {
        return -1;
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
        text.pop_back();
    }
    if (output != nullptr) {
        *output = text;
    }
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

}  // namespace tk::cli
