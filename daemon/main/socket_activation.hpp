#pragma once

#include <vector>

#include "server/listeners.hpp"

namespace tk::daemon {

// The listening sockets a service manager handed over (systemd socket activation,
// sd_listen_fds(3): a socket unit holds the port while the daemon is stopped, so no other
// program can take it), each matched by its bound address to one of `endpoints`. The
// environment that announced them is cleared. Throws server::ServerError naming the socket
// when one is not a listening TCP socket or matches no endpoint: the daemon must not run
// beside a port it was given but would not serve. Empty when none were passed (and in builds
// without libsystemd).
std::vector<server::InheritedSocket> inheritedSockets(
    const std::vector<server::Endpoint>& endpoints);

}  // namespace tk::daemon
