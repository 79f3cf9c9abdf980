// verifyOnlyLoopbackListening on Linux: every socket descriptor of /proc/self/fd
// (daemon/server/CMakeLists.txt; listening_sockets_windows.cpp on Windows).
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "server/listeners.hpp"

namespace tk::server {

void verifyOnlyLoopbackListening() {
    const std::unique_ptr<DIR, int (*)(DIR*)> dir(opendir("/proc/self/fd"), closedir);
    if (!dir) {
        throw ServerError("cannot list /proc/self/fd to check the listening sockets");
    }
    while (const dirent* entry = readdir(dir.get())) {
        char* end = nullptr;
        const long fd = std::strtol(entry->d_name, &end, 10);
        if (end == entry->d_name || *end != '\0') {
            continue;
        }
        struct stat st {};
        if (fstat(static_cast<int>(fd), &st) != 0 || !S_ISSOCK(st.st_mode)) {
            continue;
        }
        int listening = 0;
        socklen_t size = sizeof(listening);
        if (getsockopt(static_cast<int>(fd), SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) != 0 ||
            listening == 0) {
            continue;
        }
        sockaddr_storage address{};
        socklen_t length = sizeof(address);
        if (getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&address), &length) !=
            0) {
            continue;
        }
        char text[INET6_ADDRSTRLEN] = {};
        bool loopback = true;
        if (address.ss_family == AF_INET) {
            const auto* in = reinterpret_cast<const sockaddr_in*>(&address);
            loopback = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
            inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
        } else if (address.ss_family == AF_INET6) {
            const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&address);
            loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) != 0;
            inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
        }
        if (!loopback) {
            throw ServerError(std::string("a listening socket is bound to ") + text +
                              ", which is not a loopback address");
        }
    }
}

void prepareInheritedListener(int fd) {
    const int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0 ||
        fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
        throw ServerError("cannot make the inherited listening socket " + std::to_string(fd) +
                          " non-blocking: " + std::strerror(errno));
    }
}

int acceptPending(int listeningFd) {
    for (;;) {
        const int fd = accept4(listeningFd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            return fd;
        }
        if (errno == EINTR || errno == ECONNABORTED) {
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            spdlog::warn("accepting a connection failed: {}", std::strerror(errno));
        }
        return -1;
    }
}

void closeAccepted(int fd) {
    close(fd);
}

std::uint16_t localPort(std::intptr_t socket) {
    sockaddr_storage address{};
    socklen_t length = sizeof(address);
    if (getsockname(static_cast<int>(socket), reinterpret_cast<sockaddr*>(&address), &length) !=
        0) {
        return 0;
    }
    if (address.ss_family == AF_INET) {
        return ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
    }
    if (address.ss_family == AF_INET6) {
        return ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port);
    }
    return 0;
}

}  // namespace tk::server
