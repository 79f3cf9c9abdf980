#include "control_server.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace tk::vcard {

ControlServer::ControlServer(std::filesystem::path path, Handler handler)
    : path_(std::move(path)), handler_(std::move(handler)) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path_.native().size() >= sizeof addr.sun_path) {
        throw std::runtime_error("control socket path too long: " + path_.string());
    }
    std::strcpy(addr.sun_path, path_.c_str());
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) {
        throw std::runtime_error(std::string("control socket: ") + std::strerror(errno));
    }
    std::error_code ec;
    const auto existing = std::filesystem::symlink_status(path_, ec);
    if (std::filesystem::exists(existing) && !std::filesystem::is_socket(existing)) {
        ::close(listen_fd_);
        throw std::runtime_error("control path exists and is not a socket: " + path_.string());
    }
    ::unlink(path_.c_str());  // a socket left by an earlier run
    if (::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 8) != 0) {
        const int err = errno;
        ::close(listen_fd_);
        throw std::runtime_error("control socket " + path_.string() + ": " + std::strerror(err));
    }
}

ControlServer::~ControlServer() {
    for (const Client& c : clients_) {
        ::close(c.fd);
    }
    ::close(listen_fd_);
    ::unlink(path_.c_str());
}

void ControlServer::add_poll_fds(std::vector<pollfd>& fds) const {
    fds.push_back(pollfd{listen_fd_, POLLIN, 0});
    for (const Client& c : clients_) {
        fds.push_back(pollfd{c.fd, POLLIN, 0});
    }
}

void ControlServer::on_ready(const pollfd& p) {
    if (p.revents == 0) {
        return;
    }
    if (p.fd == listen_fd_) {
        accept_client();
        return;
    }
    const auto it = std::find_if(clients_.begin(), clients_.end(),
                                 [&](const Client& c) { return c.fd == p.fd; });
    if (it != clients_.end()) {
        serve(*it);
    }
}

void ControlServer::accept_client() {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        return;
    }
    if (clients_.size() >= kMaxClients) {
        static constexpr char kBusy[] = "error too many control clients\n";
        ::send(fd, kBusy, sizeof kBusy - 1, MSG_NOSIGNAL);
        ::close(fd);
        return;
    }
    clients_.push_back(Client{fd, {}});
}

void ControlServer::serve(Client& client) {
    char buf[512];
    const ssize_t n = ::recv(client.fd, buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return;
    }
    if (n <= 0) {
        drop(client.fd);
        return;
    }
    client.pending.append(buf, static_cast<std::size_t>(n));
    std::string replies;
    std::size_t eol = 0;
    while ((eol = client.pending.find('\n')) != std::string::npos) {
        std::string line = client.pending.substr(0, eol);
        client.pending.erase(0, eol + 1);
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        if (line.empty()) {
            continue;
        }
        replies += handler_(line);
        replies += '\n';
    }
    const bool too_long = client.pending.size() > kMaxLine;
    if (too_long) {
        replies += "error line too long\n";
    }
    if (!replies.empty() && ::send(client.fd, replies.data(), replies.size(), MSG_NOSIGNAL) !=
                                static_cast<ssize_t>(replies.size())) {
        drop(client.fd);
        return;
    }
    if (too_long) {
        drop(client.fd);
    }
}

void ControlServer::drop(int fd) {
    ::close(fd);
    std::erase_if(clients_, [fd](const Client& c) { return c.fd == fd; });
}

}  // namespace tk::vcard
