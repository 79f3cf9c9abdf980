#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "service/capabilities.hpp"

namespace tk::service {

// A failure as the API reports it (PROTOCOL.md §5): `reason` is the stable part, `code` the
// JSON-RPC code that goes with it, `data` extra members of error.data (retriesLeft, field, sw,
// outcome, correlationId, ...). `reason` is added to data by the server.
struct ApiError {
    std::string reason;
    int code = 0;
    std::string message;
    nlohmann::json data = nlohmann::json::object();
};

// Per-call options that only an in-process adapter sets (the HiPKI endpoint, docs/hipki.md),
// never a request's JSON: the extra signed attributes of a CMS signature, the DES-EDE3-CBC
// envelopes of its portals and (with `[hipki] allow_sha1`) their SHA-1 signatures.
struct CallExtensions {
    std::optional<std::string> cmsRandomNonce;
    std::optional<std::string> cmsCardSerialNumber;
    bool allowDesEde3Envelope = false;
    // sign accepts hash "SHA-1" (CMS and raw); every other caller is refused it.
    bool allowSha1Signature = false;
};

// Everything a method needs to know about the caller. The origin is the one from the
// WebSocket handshake, never a value from the page.
struct CallContext {
    std::uint64_t connectionId = 0;
    std::string origin;
    Capabilities capabilities;
    std::chrono::steady_clock::time_point received;
    // The request came over a bridge connection (the daemon's own /bridge window attached to
    // `origin`). That window drops every `lastAttempt` of the page and sets it only after the
    // user confirmed the last try in it.
    bool viaBridge = false;
    CallExtensions extensions;
};

// Called exactly once per call, from any thread: either a result object or an error.
using Completion =
    std::function<void(std::optional<nlohmann::json> result, std::optional<ApiError> error)>;

// Receives the `params` of an `event` notification, from any thread.
using EventSink = std::function<void(const nlohmann::json& eventParams)>;

// The application behind the WebSocket server. The server owns framing, handshake checks and
// per-connection limits (BUSY, message size); the service owns methods, parameter
// validation, capabilities, card work and time limits (TIMEOUT). Nothing here blocks: card
// work runs on the service's own threads and ends in `done`.
class Api {
  public:
    Api() = default;
    virtual ~Api() = default;
    Api(const Api&) = delete;
    Api& operator=(const Api&) = delete;
    Api(Api&&) = delete;
    Api& operator=(Api&&) = delete;

    virtual void call(const CallContext& context, std::string_view method,
                      const nlohmann::json& params, Completion done) = 0;

    // events.subscribe goes through call(); the server registers where the connection's events
    // go when it opens, and the service pushes to it only once the connection subscribed.
    virtual void connectionOpened(std::uint64_t connectionId, EventSink sink) = 0;
    // Queued (not yet started) work of the connection is cancelled; its completions are still
    // called, and the server drops them.
    virtual void connectionClosed(std::uint64_t connectionId) = 0;

    // For GET /health.
    virtual int readerCount() const = 0;
};

}  // namespace tk::service
