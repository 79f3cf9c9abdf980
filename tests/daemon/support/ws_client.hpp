#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace tk::test {

using namespace std::chrono_literals;

// A WebSocket client for tests, written over a plain socket so that it can also misbehave:
// any Host/Origin/Sec-WebSocket-Protocol (or none), binary and fragmented frames, oversized
// messages, raw bytes. Frames it sends are masked as RFC 6455 requires of clients.
struct HttpResponse {
    int status = 0;
    std::string statusLine;
    std::map<std::string, std::string> headers;  // names in lower case
    std::string body;
};

struct Handshake {
    Handshake(std::optional<std::string> host = {}, std::optional<std::string> origin = {},
              std::optional<std::string> protocol = {})
        : host(std::move(host)), origin(std::move(origin)), protocol(std::move(protocol)) {}

    std::optional<std::string> host;      // nullopt: no Host header
    std::optional<std::string> origin;    // nullopt: no Origin header
    std::optional<std::string> protocol;  // nullopt: no Sec-WebSocket-Protocol header
    std::string path = "/";
    std::vector<std::pair<std::string, std::string>> extraHeaders;
};

struct Frame {
    int opcode = 0;  // 1 text, 2 binary, 8 close, 9 ping, 10 pong
    bool fin = true;
    std::string payload;
};

class WsClient {
  public:
    // Connects to address ("127.0.0.1" or "::1") and port. Throws std::runtime_error.
    WsClient(const std::string& address, std::uint16_t port);
    ~WsClient();
    WsClient(const WsClient&) = delete;
    WsClient& operator=(const WsClient&) = delete;

    // Sends an upgrade request with these headers and reads the response head (and the body
    // announced by Content-Length). Status 101 means the connection is a WebSocket now.
    HttpResponse handshake(const Handshake& request);
    // The usual handshake of a page of `origin` to 127.0.0.1:<port>.
    HttpResponse open(const std::string& origin);

    void sendRaw(std::string_view bytes);
    void sendFrame(int opcode, std::string_view payload, bool fin = true);
    // Sends a text frame; when it holds a request, its response is checked as one to its method.
    void sendText(std::string_view text);
    // The response with `id` answers `method` (for requests sent as raw frames).
    void expectResponse(const nlohmann::json& id, const std::string& method) {
        methodsById_[id.dump()] = method;
    }

    // The next frame, answering pings on the way; nullopt on timeout or when the peer closed
    // the TCP connection (see peerClosed()).
    std::optional<Frame> readFrame(std::chrono::milliseconds timeout = 10s);
    // The next text message as JSON (events included). Throws on timeout, close or bad JSON.
    nlohmann::json readJson(std::chrono::milliseconds timeout = 10s);
    // Reads until a close frame arrives; its status code, 1005 for none, -1 when the
    // connection ended (or timed out) without one.
    int readCloseCode(std::chrono::milliseconds timeout = 10s);
    // True when the server closed the TCP connection within `timeout` (data is discarded).
    bool waitPeerClosed(std::chrono::milliseconds timeout = 5s);
    bool peerClosed() const { return eof_; }

    // JSON-RPC: sends a request and returns its id.
    nlohmann::json send(const std::string& method, nlohmann::json params = nullptr);
    // Sends a request and waits for the response with its id. Events that arrive meanwhile
    // are kept in events().
    nlohmann::json call(const std::string& method, nlohmann::json params = nullptr,
                        std::chrono::milliseconds timeout = 30s);
    // The response to `id` (read now, or kept while waiting for another).
    nlohmann::json responseTo(const nlohmann::json& id, std::chrono::milliseconds timeout = 30s);
    // The next event notification (kept earlier, or read now).
    nlohmann::json nextEvent(std::chrono::milliseconds timeout = 10s);
    std::vector<nlohmann::json>& events() { return events_; }

    // Called with every JSON message received and the method of the request it answers
    // (empty for notifications and unknown ids), for schema checks.
    std::function<void(const nlohmann::json& message, const std::string& method)> onMessage;

  private:
    bool fill(std::chrono::steady_clock::time_point deadline);
    std::optional<Frame> parseFrame();

    int fd_ = -1;
    std::string buffer_;
    bool eof_ = false;
    std::uint16_t port_ = 0;
    std::int64_t nextId_ = 1;
    std::map<std::string, std::string> methodsById_;  // id.dump() -> method
    std::vector<nlohmann::json> responses_;
    std::vector<nlohmann::json> events_;
};

// GET `path` with the given Host header (nullopt: none) and `extraHeaders` (whole lines, each
// ending in CRLF). Throws on a connection failure.
HttpResponse httpGet(const std::string& address, std::uint16_t port, const std::string& path,
                     const std::optional<std::string>& host, const std::string& extraHeaders = "");

// A TCP port on 127.0.0.1 and ::1 that nothing listens on now.
std::uint16_t freePort();

// The close code of a close frame's payload (1005 when it carries none).
int closeCodeOf(const Frame& frame);

}  // namespace tk::test
