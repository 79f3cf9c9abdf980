#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "service/config.hpp"

namespace tk::server {

// The server cannot start (a listener cannot be opened, or is not on loopback).
class ServerError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// One socket to listen on: a loopback address literal and a port.
struct Endpoint {
    std::string address;  // "127.0.0.1" or "::1"
    std::uint16_t port = 0;
    std::optional<std::string> certificateFile;
    std::optional<std::string> privateKeyFile;

    bool tls() const { return certificateFile.has_value(); }
    // "ws://127.0.0.1:61261/", "wss://[::1]:61261/"
    std::string url() const;
};

// A listening socket this process was handed already open (by a service manager that holds
// the port while the daemon is stopped), for the endpoint with this address and port. The
// server adopts it instead of binding the address itself.
struct InheritedSocket {
    std::string address;  // "127.0.0.1" or "::1"
    std::uint16_t port = 0;
    int fd = -1;
};

// The sockets for the configured listeners: "localhost" becomes 127.0.0.1 and ::1. Throws
// ServerError for any other address (only loopback is ever listened on, whatever the
// configuration says), for a port 0, for a certificate without key (or the reverse), and for
// the same address and port twice.
std::vector<Endpoint> endpointsFor(const std::vector<service::ListenerConfig>& listeners);

// Throws ServerError naming the address when this process has a listening TCP socket that is
// not bound to a loopback address. Run after the listeners are open: a guard against a
// library binding to the wildcard address when handed something it did not understand.
void verifyOnlyLoopbackListening();

// Makes an inherited listening socket non-blocking (its connections are taken on POLLIN until
// none is left). Throws ServerError.
void prepareInheritedListener(int fd);

// The next pending connection of a non-blocking listening socket, non-blocking and
// close-on-exec; -1 when none is pending (or the accept failed, which is logged).
int acceptPending(int listeningFd);
// Closes a connection acceptPending returned (one the server does not take: it is stopping).
void closeAccepted(int fd);

// The local port of a connected socket; 0 when it cannot be read.
std::uint16_t localPort(std::intptr_t socket);

}  // namespace tk::server
