#include "fake_vpcd.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>
#include <thread>

namespace tk::vcard::test {

FakeVpcd::FakeVpcd() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (listen_fd_ < 0 ||
        ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 1) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        throw std::runtime_error("fake vpcd: cannot listen");
    }
    port_ = ntohs(addr.sin_port);
}

FakeVpcd::~FakeVpcd() {
    close_connection();
    ::close(listen_fd_);
}

bool FakeVpcd::accept(std::chrono::milliseconds timeout) {
    close_connection();
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) {
        return false;
    }
    conn_fd_ = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    const int one = 1;
    ::setsockopt(conn_fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return conn_fd_ >= 0;
}

void FakeVpcd::close_connection() {
    if (conn_fd_ >= 0) {
        ::close(conn_fd_);
        conn_fd_ = -1;
    }
}

void FakeVpcd::send_frame(ByteView payload) {
    const std::uint8_t header[2] = {static_cast<std::uint8_t>(payload.size() >> 8),
                                    static_cast<std::uint8_t>(payload.size())};
    if (::send(conn_fd_, header, 2, MSG_NOSIGNAL) != 2) {
        throw std::runtime_error("fake vpcd: send failed");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // a separate TCP segment
    if (::send(conn_fd_, payload.data(), payload.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(payload.size())) {
        throw std::runtime_error("fake vpcd: send failed");
    }
}

bool FakeVpcd::read_exact(std::uint8_t* out, std::size_t size,
                          std::chrono::steady_clock::time_point deadline) {
    std::size_t done = 0;
    while (done < size) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd p{conn_fd_, POLLIN, 0};
        if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) != 1) {
            return false;
        }
        const ssize_t n = ::recv(conn_fd_, out + done, size - done, 0);
        if (n <= 0) {
            return false;
        }
        done += static_cast<std::size_t>(n);
    }
    return true;
}

std::optional<Bytes> FakeVpcd::receive_frame(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::uint8_t header[2];
    if (!read_exact(header, 2, deadline)) {
        return std::nullopt;
    }
    Bytes payload((static_cast<std::size_t>(header[0]) << 8) | header[1]);
    if (!read_exact(payload.data(), payload.size(), deadline)) {
        return std::nullopt;
    }
    return payload;
}

std::optional<Bytes> FakeVpcd::exchange(ByteView payload, std::chrono::milliseconds timeout) {
    send_frame(payload);
    return receive_frame(timeout);
}

bool FakeVpcd::peer_closed(std::chrono::milliseconds timeout) {
    pollfd p{conn_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) {
        return false;
    }
    std::uint8_t b = 0;
    return ::recv(conn_fd_, &b, 1, MSG_DONTWAIT) == 0;
}

std::string control_command(const std::filesystem::path& socket, const std::string& line) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return "connect failed";
    }
    const std::string request = line + "\n";
    ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    std::string reply;
    char c = 0;
    pollfd p{fd, POLLIN, 0};
    while (::poll(&p, 1, 5000) == 1 && ::recv(fd, &c, 1, 0) == 1 && c != '\n') {
        reply.push_back(c);
    }
    ::close(fd);
    return reply;
}

}  // namespace tk::vcard::test
