// verifyOnlyLoopbackListening on Linux: every socket descriptor of /proc/self/fd
// (daemon/server/CMakeLists.txt; listening_sockets_windows.cpp on Windows).
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cstdlib>
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

}  // namespace tk::server
