#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "server/handshake.hpp"
#include "server/listeners.hpp"
#include "service/api.hpp"
#include "service/config.hpp"
#include "service/consent.hpp"
#include "service/hipki/adapter.hpp"

namespace tk::server {

struct ServerSettings {
    std::vector<service::ListenerConfig> listeners{service::ListenerConfig{}};
    service::Limits limits;
    std::string version;  // x.y.z, for GET /health
    // false: requests of pages (direct connections) that carry a PIN or PUK are refused
    // (PAGE_PIN_REFUSED); the bridge window refuses those it would relay and asks itself.
    bool pagePins = true;
    // Set: the HiPKI endpoint is enabled and bridge connections may send hipki.call
    // (docs/hipki.md).
    std::optional<service::hipki::AdapterOptions> hipki;
    // `[hipki] local_programs`: what a POST to /sign, /decrypt, /pkcs11info on the HiPKI
    // listener without any browser header may do. Empty: every such request is refused.
    service::Capabilities hipkiLocalPrograms;
    // The HiPKI listener's port: the POST endpoints answer there only.
    std::uint16_t hipkiPort = 0;
    // Listening sockets handed over already open, each for one of the endpoints of
    // `listeners`: adopted instead of bound (the server owns and closes them from start()).
    // One that matches no endpoint makes start() throw.
    std::vector<InheritedSocket> inherited;
};

// The WebSocket API of PROTOCOL.md on libwebsockets: loopback listeners (one vhost each),
// the handshake checks, GET /health, JSON-RPC framing and the per-connection limits. Every
// request that passes them goes to service::Api::call; answers and events come back from any
// thread through a Mailbox and are written by the network thread, which never blocks.
//
// Threads: start() spawns the network thread, which owns the libwebsockets context and every
// connection. The other public functions may be called from any other thread.
class Server {
  public:
    // `consent`: the user's consent for origins without an entry (bridge connections only);
    // null: such origins are refused.
    Server(service::Api& api, ServerSettings settings, OriginLookup origins,
           std::shared_ptr<const service::ConsentPolicy> consent = nullptr);
    // stop(0) when still running.
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;
    Server(Server&&) = delete;
    Server& operator=(Server&&) = delete;

    // Opens every listener and starts the network thread; returns once the server accepts
    // connections. Throws ServerError (listener refused or cannot be opened).
    void start();

    // The sockets listened on, as URLs ("ws://127.0.0.1:61261/").
    const std::vector<Endpoint>& endpoints() const;

    // Installs a new allow-list (configuration reload). Connections whose origin it no longer
    // admits are closed with 1008 and get nothing more; the others keep going with the new
    // capabilities from their next request on.
    void replaceOrigins(OriginLookup origins);

    // Graceful stop: refuses new connections and stops reading requests, waits up to `grace`
    // for the requests in flight to be answered and written, then closes every connection
    // with 1001 and ends the network thread. Returns when it has ended.
    void stop(std::chrono::milliseconds grace);

    // WebSocket connections open now.
    int connectionCount() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace tk::server
