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

// The sockets for the configured listeners: "localhost" becomes 127.0.0.1 and ::1. Throws
// ServerError for any other address (only loopback is ever listened on, whatever the
// configuration says), for a port 0, for a certificate without key (or the reverse), and for
// the same address and port twice.
std::vector<Endpoint> endpointsFor(const std::vector<service::ListenerConfig>& listeners);

// Throws ServerError naming the address when this process has a listening TCP socket that is
// not bound to a loopback address. Run after the listeners are open: a guard against a
// library binding to the wildcard address when handed something it did not understand.
void verifyOnlyLoopbackListening();

}  // namespace tk::server
