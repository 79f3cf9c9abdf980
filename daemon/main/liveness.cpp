#include "main/liveness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace tk::daemon {

namespace {

using Clock = std::chrono::steady_clock;

class Socket {
  public:
    explicit Socket(int fd) : fd_(fd) {}
    ~Socket() {
        if (fd_ >= 0) {
            close(fd_);
        }
    }
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;
    int fd() const { return fd_; }

  private:
    int fd_;
};

// Waits for `events` on `fd` until `deadline`; false on timeout or error.
bool waitFor(int fd, short events, Clock::time_point deadline) {
    while (true) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
            return false;
        }
        pollfd entry{fd, events, 0};
        const int n = poll(&entry, 1, static_cast<int>(left.count()));
        if (n > 0) {
            return (entry.revents & events) != 0;
        }
        if (n < 0 && errno != EINTR) {
            return false;
        }
    }
}

}  // namespace

bool probeHealth(const server::Endpoint& endpoint, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    const bool v6 = endpoint.address.find(':') != std::string::npos;
    Socket socket(::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (socket.fd() < 0) {
        return false;
    }
    sockaddr_storage address{};
    socklen_t length = 0;
    if (v6) {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&address);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(endpoint.port);
        if (inet_pton(AF_INET6, endpoint.address.c_str(), &in6->sin6_addr) != 1) {
            return false;
        }
        length = sizeof(sockaddr_in6);
    } else {
        auto* in4 = reinterpret_cast<sockaddr_in*>(&address);
        in4->sin_family = AF_INET;
        in4->sin_port = htons(endpoint.port);
        if (inet_pton(AF_INET, endpoint.address.c_str(), &in4->sin_addr) != 1) {
            return false;
        }
        length = sizeof(sockaddr_in);
    }
    if (connect(socket.fd(), reinterpret_cast<const sockaddr*>(&address), length) != 0 &&
        errno != EINPROGRESS) {
        return false;
    }
    if (!waitFor(socket.fd(), POLLOUT, deadline)) {
        return false;
    }
    int error = 0;
    socklen_t errorLength = sizeof(error);
    if (getsockopt(socket.fd(), SOL_SOCKET, SO_ERROR, &error, &errorLength) != 0 || error != 0) {
        return false;
    }
    if (endpoint.tls()) {
        return true;
    }
    const std::string host = v6 ? "[" + endpoint.address + "]" : endpoint.address;
    const std::string request = "GET /health HTTP/1.1\r\nHost: " + host + ":" +
                                std::to_string(endpoint.port) + "\r\nConnection: close\r\n\r\n";
    std::size_t sent = 0;
    while (sent < request.size()) {
        const ssize_t n =
            ::send(socket.fd(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<std::size_t>(n);
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (!waitFor(socket.fd(), POLLOUT, deadline)) {
                return false;
            }
        } else {
            return false;
        }
    }
    std::string answer;
    char buffer[512];
    while (answer.find("\r\n") == std::string::npos) {
        if (!waitFor(socket.fd(), POLLIN, deadline)) {
            return false;
        }
        const ssize_t n = recv(socket.fd(), buffer, sizeof(buffer), 0);
        if (n > 0) {
            answer.append(buffer, static_cast<std::size_t>(n));
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            return false;
        }
    }
    return answer.rfind("HTTP/1.1 200 ", 0) == 0;
}

CardProgress::CardProgress(std::chrono::steady_clock::duration tolerance)
    : tolerance_(tolerance), lastSettled_(Clock::now()) {}

bool CardProgress::check(bool settledNow) {
    const auto now = Clock::now();
    if (settledNow) {
        lastSettled_ = now;
    }
    return now - lastSettled_ <= tolerance_;
}

}  // namespace tk::daemon
