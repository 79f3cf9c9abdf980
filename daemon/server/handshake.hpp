#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "service/capabilities.hpp"

namespace tk::server {

// The subprotocol every client must offer and the server selects.
inline constexpr std::string_view kSubprotocol = "tenderkey.v1";

// Maps a handshake Origin to the capabilities of its allow-list entry; nullopt when no entry
// admits it. Called on the network thread only; must not block.
using OriginLookup = std::function<std::optional<service::Capabilities>(std::string_view origin)>;

// True when `host` (the Host header) names this loopback listener: 127.0.0.1:<port>,
// [::1]:<port> or localhost:<port>, host name case-insensitive. Protects against DNS
// rebinding: a page of evil.example whose name now resolves to 127.0.0.1 sends
// "Host: evil.example:<port>". Without a port the header is accepted only when `port` is the
// scheme's default (80, or 443 with TLS), because that is what browsers send then.
bool isLoopbackHost(std::string_view host, std::uint16_t port, bool tls);

// True when the Sec-WebSocket-Protocol header (a comma-separated list) offers `protocol`.
// False as well for a list libwebsockets would drop without an answer (longer than 127
// characters, or a token longer than 63), so that such a request gets its 400.
bool offersSubprotocol(std::string_view header, std::string_view protocol = kSubprotocol);

// The headers of an HTTP request that asks for a WebSocket upgrade. nullopt: header absent.
struct UpgradeRequest {
    std::optional<std::string> host;
    std::optional<std::string> origin;
    std::optional<std::string> subprotocols;  // Sec-WebSocket-Protocol
    std::optional<std::string> upgrade;       // Upgrade
    std::optional<std::string> connection;    // Connection
    std::optional<std::string> version;       // Sec-WebSocket-Version
    std::optional<std::string> key;           // Sec-WebSocket-Key
};

struct ListenerFacts {
    std::uint16_t port = 0;
    bool tls = false;
};

// What to answer a handshake: status 0 and the origin's capabilities to go on with the
// upgrade, or the HTTP status of the refusal.
struct HandshakeVerdict {
    int status = 0;        // 0 = accept; else 400, 403 or 503
    std::string_view why;  // for the log: "host", "origin", "subprotocol", ...
    service::Capabilities capabilities;
};

// The checks of PROTOCOL.md §1, in its order: Host (403), Origin (403), subprotocol (400),
// connection limit (503). A request that is not a well-formed RFC 6455 upgrade (no
// "Connection: upgrade", no key, a version other than 13, an upgrade to something else) is
// refused with 400 after the subprotocol check, so that libwebsockets never drops it without
// a status line.
HandshakeVerdict judgeUpgrade(const UpgradeRequest& request, const ListenerFacts& listener,
                              const OriginLookup& origins, int openConnections, int maxConnections);

}  // namespace tk::server
