#include "main/socket_activation.hpp"

#include <string>

#if defined(TK_HAVE_SYSTEMD)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#endif

namespace tk::daemon {

std::vector<server::InheritedSocket> inheritedSockets(
    [[maybe_unused]] const std::vector<server::Endpoint>& endpoints) {
    std::vector<server::InheritedSocket> sockets;
#if defined(TK_HAVE_SYSTEMD)
    const int count = sd_listen_fds(1);
    if (count < 0) {
        throw server::ServerError(std::string("cannot read the inherited sockets: ") +
                                  std::strerror(-count));
    }
    for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + count; ++fd) {
        if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
            throw server::ServerError("inherited descriptor " + std::to_string(fd) +
                                      " is not a listening TCP socket");
        }
        sockaddr_storage address{};
        socklen_t length = sizeof(address);
        if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
            throw server::ServerError("cannot read the address of inherited socket " +
                                      std::to_string(fd) + ": " + std::strerror(errno));
        }
        char text[INET6_ADDRSTRLEN] = {};
        std::uint16_t port = 0;
        std::string shown;
        if (address.ss_family == AF_INET) {
            const auto* in = reinterpret_cast<const sockaddr_in*>(&address);
            inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
            port = ntohs(in->sin_port);
            shown = std::string(text) + ":" + std::to_string(port);
        } else if (address.ss_family == AF_INET6) {
            const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&address);
            inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
            port = ntohs(in6->sin6_port);
            shown = "[" + std::string(text) + "]:" + std::to_string(port);
        } else {
            throw server::ServerError("inherited socket " + std::to_string(fd) +
                                      " is not an IPv4 or IPv6 socket");
        }
        const bool configured = std::any_of(
            endpoints.begin(), endpoints.end(),
            [&](const server::Endpoint& e) { return e.address == text && e.port == port; });
        if (!configured) {
            std::string listeners;
            for (const auto& e : endpoints) {
                listeners += (listeners.empty() ? "" : ", ") + e.url();
            }
            throw server::ServerError("the inherited listening socket " + shown +
                                      " is not a configured listener (configured: " + listeners +
                                      "); the socket unit and the [[listeners]] of the "
                                      "configuration must name the same addresses");
        }
        sockets.push_back({text, port, fd});
    }
#endif
    return sockets;
}

}  // namespace tk::daemon
