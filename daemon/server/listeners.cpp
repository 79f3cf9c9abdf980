#include "server/listeners.hpp"

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
}  // namespace tk::server
