#include "server/listeners.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cstdlib>
#include <memory>
#include <set>
#include <utility>

namespace tk::server {

std::string Endpoint::url() const {
    const std::string host = address.find(':') != std::string::npos ? "[" + address + "]" : address;
    return std::string(tls() ? "wss" : "ws") + "://" + host + ":" + std::to_string(port) + "/";
}

std::vector<Endpoint> endpointsFor(const std::vector<service::ListenerConfig>& listeners) {
    std::vector<Endpoint> endpoints;
    std::set<std::pair<std::string, std::uint16_t>> seen;
    for (const auto& listener : listeners) {
        std::vector<std::string> addresses;
        if (listener.address == "127.0.0.1" || listener.address == "::1") {
            addresses.push_back(listener.address);
        } else if (listener.address == "localhost") {
            addresses = {"127.0.0.1", "::1"};
        } else {
            throw ServerError("listen address \"" + listener.address +
                              "\" is not a loopback address (127.0.0.1, ::1 or localhost)");
        }
        if (listener.port == 0) {
            throw ServerError("listen port 0 is not allowed");
        }
        if (listener.certificateFile.has_value() != listener.privateKeyFile.has_value()) {
            throw ServerError("a wss listener needs both a certificate and a private key");
        }
        for (auto& address : addresses) {
            if (!seen.emplace(address, listener.port).second) {
                throw ServerError("listener " + address + " port " + std::to_string(listener.port) +
                                  " is configured twice");
            }
            endpoints.push_back({std::move(address), listener.port, listener.certificateFile,
                                 listener.privateKeyFile});
        }
    }
    if (endpoints.empty()) {
        throw ServerError("no listener configured");
    }
    return endpoints;
}

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
