#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/listeners.hpp"

namespace tk::server {

// The daemon's own origins: for each listener http://127.0.0.1:P, http://localhost:P (IPv4) or
// http://[::1]:P, http://localhost:P (IPv6), https for a TLS listener; a default port is left
// out as browsers do. Only the daemon's pages (the bridge window) run there, because only the
// daemon answers on those sockets.
std::vector<std::string> ownOrigins(const std::vector<Endpoint>& endpoints);

// The same origins as WebSocket URLs without path (ws://127.0.0.1:P, wss://...), for the
// pages' Content-Security-Policy connect-src.
std::vector<std::string> ownWebSocketSources(const std::vector<Endpoint>& endpoints);

// True when `origin` (a handshake Origin header) is one of `own`, scheme and host compared
// case-insensitively.
bool isOwnOrigin(std::string_view origin, const std::vector<std::string>& own);

// The connection-level step of a request, before the method table: a bridge connection (its
// handshake Origin is one of the daemon's own) may send only `bridge.attach` first, and only
// once; every other connection knows no `bridge.attach` (it is left to METHOD_NOT_FOUND).
struct BridgeStep {
    enum class Kind {
        PassOn,    // an ordinary request: on to the method table, as the connection's origin
        Attach,    // attach the connection to `origin`, if its allow-list entry admits it
        Consent,   // the user's decision on the origin last offered for consent
        SelfTest,  // the self-test page reads the readers, cards and certificates as itself
        Refuse,    // answer `reason` with `data`
    };
    Kind kind = Kind::PassOn;
    std::string origin;
    bool always = false;  // Consent: "always" (stored), else "once" (this connection)
    std::string reason;
    nlohmann::json data = nlohmann::json::object();
};

inline constexpr std::string_view kAttachMethod = "bridge.attach";
inline constexpr std::string_view kConsentMethod = "bridge.consent";
inline constexpr std::string_view kSelfTestMethod = "bridge.selfTest";

// True when request params carry a PIN or PUK (pin, newPin, puk, newPuk), as a page typed it.
bool carriesSecret(const nlohmann::json& params);

// `params` of bridge.attach: exactly {"origin": O}, O the canonical ASCII serialisation of an
// http or https origin (as a browser's MessageEvent.origin gives it) that is not one of the
// daemon's own. Anything else is INVALID_PARAMS naming the field.
// `bridge.consent` (before attach only; whether an offer is open is the server's to judge):
// exactly {"decision": "once" | "always"}. `bridge.selfTest` (before attach only): no params or
// {}; the connection then acts as its own (daemon) origin with the read capability alone, for
// the self-test page. On any other connection these methods are passed on and do not exist
// (METHOD_NOT_FOUND).
BridgeStep judgeBridgeRequest(bool bridge, bool attached, std::string_view method,
                              const nlohmann::json& params, const std::vector<std::string>& own);

}  // namespace tk::server
