#include "support/ws_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <stdexcept>

namespace tk::test {

namespace {

using Clock = std::chrono::steady_clock;

int connectTo(const std::string& address, std::uint16_t port) {
    sockaddr_storage storage{};
    socklen_t length = 0;
    int family = AF_INET;
    if (address.find(':') != std::string::npos) {
        family = AF_INET6;
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        if (inet_pton(AF_INET6, address.c_str(), &in6->sin6_addr) != 1) {
            throw std::runtime_error("bad address " + address);
        }
        length = sizeof(sockaddr_in6);
    } else {
        auto* in = reinterpret_cast<sockaddr_in*>(&storage);
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        if (inet_pton(AF_INET, address.c_str(), &in->sin_addr) != 1) {
            throw std::runtime_error("bad address " + address);
        }
        length = sizeof(sockaddr_in);
    }
    const int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
    }
    if (::connect(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0) {
        const int error = errno;
        ::close(fd);
        throw std::runtime_error("connect " + address + ":" + std::to_string(port) + ": " +
                                 std::strerror(error));
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

void sendAll(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw std::runtime_error("send: " + std::string(std::strerror(errno)));
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

// Reads an HTTP response from fd (head, then Content-Length bytes) using `buffer` for bytes
// that arrive beyond it. Returns status 0 when the connection ends before a full head.
HttpResponse readHttp(int fd, std::string& buffer, bool& eof, Clock::time_point deadline) {
    const auto more = [&] {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
            return false;
        }
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(left.count())) <= 0) {
            return false;
        }
        char chunk[4096];
        const ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
        if (n <= 0) {
            eof = true;
            return false;
        }
        buffer.append(chunk, static_cast<std::size_t>(n));
        return true;
    };
    std::size_t headEnd;
    while ((headEnd = buffer.find("\r\n\r\n")) == std::string::npos) {
        if (!more()) {
            return {};
        }
    }
    HttpResponse response;
    const std::string head = buffer.substr(0, headEnd);
    buffer.erase(0, headEnd + 4);
    std::size_t lineEnd = head.find("\r\n");
    const std::string statusLine = head.substr(0, lineEnd);
    const auto space = statusLine.find(' ');
    if (space == std::string::npos) {
        throw std::runtime_error("bad status line: " + statusLine);
    }
    response.status = std::stoi(statusLine.substr(space + 1, 3));
    response.statusLine = statusLine;
    while (lineEnd != std::string::npos) {
        const std::size_t start = lineEnd + 2;
        lineEnd = head.find("\r\n", start);
        const std::string line = head.substr(start, lineEnd - start);
        const auto colon = line.find(':');
        if (colon == std::string::npos) {
            continue;
        }
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(" \t"));
        response.headers[lower(line.substr(0, colon))] = value;
    }
    if (const auto it = response.headers.find("content-length"); it != response.headers.end()) {
        const auto length = static_cast<std::size_t>(std::stoul(it->second));
        while (buffer.size() < length) {
            if (!more()) {
                throw std::runtime_error("HTTP body cut short");
            }
        }
        response.body = buffer.substr(0, length);
        buffer.erase(0, length);
    }
    return response;
}

}  // namespace

WsClient::WsClient(const std::string& address, std::uint16_t port)
    : fd_(connectTo(address, port)), port_(port) {}

WsClient::~WsClient() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

HttpResponse WsClient::handshake(const Handshake& request) {
    std::string text = "GET " + request.path + " HTTP/1.1\r\n";
    if (request.host) {
        text += "Host: " + *request.host + "\r\n";
    }
    if (request.origin) {
        text += "Origin: " + *request.origin + "\r\n";
    }
    if (request.protocol) {
        text += "Sec-WebSocket-Protocol: " + *request.protocol + "\r\n";
    }
    text +=
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    for (const auto& [name, value] : request.extraHeaders) {
        text += name + ": " + value + "\r\n";
    }
    text += "\r\n";
    sendAll(fd_, text);
    return readHttp(fd_, buffer_, eof_, Clock::now() + 10s);
}

HttpResponse WsClient::open(const std::string& origin) {
    return handshake({"127.0.0.1:" + std::to_string(port_), origin, "tenderkey.v1"});
}

void WsClient::sendRaw(std::string_view bytes) {
    sendAll(fd_, bytes);
}

void WsClient::sendFrame(int opcode, std::string_view payload, bool fin) {
    std::string frame;
    frame.push_back(static_cast<char>((fin ? 0x80 : 0x00) | (opcode & 0x0F)));
    const std::size_t n = payload.size();
    if (n < 126) {
        frame.push_back(static_cast<char>(0x80 | n));
    } else if (n <= 0xFFFF) {
        frame.push_back(static_cast<char>(0x80 | 126));
        frame.push_back(static_cast<char>(n >> 8));
        frame.push_back(static_cast<char>(n & 0xFF));
    } else {
        frame.push_back(static_cast<char>(0x80 | 127));
        for (int shift = 56; shift >= 0; shift -= 8) {
            frame.push_back(static_cast<char>((static_cast<std::uint64_t>(n) >> shift) & 0xFF));
        }
    }
    thread_local std::mt19937 random{std::random_device{}()};
    char mask[4];
    for (auto& m : mask) {
        m = static_cast<char>(random() & 0xFF);
    }
    frame.append(mask, 4);
    const std::size_t start = frame.size();
    frame.append(payload);
    for (std::size_t i = 0; i < n; ++i) {
        frame[start + i] = static_cast<char>(frame[start + i] ^ mask[i % 4]);
    }
    sendAll(fd_, frame);
}

void WsClient::sendText(std::string_view text) {
    const auto request = nlohmann::json::parse(text, nullptr, false);
    if (request.is_object() && request.contains("id") && request.contains("method") &&
        request["method"].is_string()) {
        // Integral floats are answered as integers.
        auto id = request["id"];
        if (id.is_number_float() && id.get<double>() == static_cast<double>(id.get<long long>())) {
            id = id.get<long long>();
        }
        expectResponse(id, request["method"].get<std::string>());
    }
    sendFrame(1, text);
}

bool WsClient::fill(Clock::time_point deadline) {
    if (eof_) {
        return false;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() < 0) {
        return false;
    }
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) {
        return false;
    }
    char chunk[65536];
    const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) {
        eof_ = true;
        return false;
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
}

std::optional<Frame> WsClient::parseFrame() {
    if (buffer_.size() < 2) {
        return std::nullopt;
    }
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(buffer_[i]); };
    Frame frame;
    frame.fin = (byte(0) & 0x80) != 0;
    frame.opcode = byte(0) & 0x0F;
    const bool masked = (byte(1) & 0x80) != 0;
    std::uint64_t length = byte(1) & 0x7F;
    std::size_t offset = 2;
    if (length == 126) {
        if (buffer_.size() < 4) {
            return std::nullopt;
        }
        length = (static_cast<std::uint64_t>(byte(2)) << 8) | byte(3);
        offset = 4;
    } else if (length == 127) {
        if (buffer_.size() < 10) {
            return std::nullopt;
        }
        length = 0;
        for (std::size_t i = 2; i < 10; ++i) {
            length = (length << 8) | byte(i);
        }
        offset = 10;
    }
    if (masked) {
        throw std::runtime_error("the server sent a masked frame");
    }
    if (buffer_.size() < offset + length) {
        return std::nullopt;
    }
    frame.payload = buffer_.substr(offset, length);
    buffer_.erase(0, offset + length);
    return frame;
}

std::optional<Frame> WsClient::readFrame(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (true) {
        if (auto frame = parseFrame()) {
            if (frame->opcode == 9) {
                sendFrame(10, frame->payload);
                continue;
            }
            return frame;
        }
        if (!fill(deadline)) {
            return std::nullopt;
        }
    }
}

nlohmann::json WsClient::readJson(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    std::string message;
    while (true) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        auto frame = readFrame(std::max(left, std::chrono::milliseconds(0)));
        if (!frame) {
            throw std::runtime_error(eof_ ? "connection closed while waiting for a message"
                                          : "no message in time");
        }
        if (frame->opcode == 8) {
            throw std::runtime_error("close frame (code " + std::to_string(closeCodeOf(*frame)) +
                                     ") while waiting for a message");
        }
        if (frame->opcode == 10) {
            continue;
        }
        if (frame->opcode == 2) {
            throw std::runtime_error("the server sent a binary frame");
        }
        message += frame->payload;
        if (frame->fin) {
            break;
        }
    }
    auto value = nlohmann::json::parse(message);
    std::string method;
    if (value.contains("id") && !value["id"].is_null()) {
        if (const auto it = methodsById_.find(value["id"].dump()); it != methodsById_.end()) {
            method = it->second;
        }
    }
    if (onMessage) {
        onMessage(value, method);
    }
    return value;
}

int WsClient::readCloseCode(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (true) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        auto frame = readFrame(std::max(left, std::chrono::milliseconds(0)));
        if (!frame) {
            return -1;
        }
        if (frame->opcode == 8) {
            return closeCodeOf(*frame);
        }
    }
}

bool WsClient::waitPeerClosed(std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!eof_) {
        buffer_.clear();
        if (!fill(deadline) && !eof_) {
            return false;
        }
    }
    return true;
}

nlohmann::json WsClient::send(const std::string& method, nlohmann::json params) {
    nlohmann::json id = nextId_++;
    nlohmann::json request{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}};
    if (!params.is_null()) {
        request["params"] = std::move(params);
    }
    methodsById_[id.dump()] = method;
    sendText(request.dump());
    return id;
}

nlohmann::json WsClient::call(const std::string& method, nlohmann::json params,
                              std::chrono::milliseconds timeout) {
    return responseTo(send(method, std::move(params)), timeout);
}

nlohmann::json WsClient::responseTo(const nlohmann::json& id, std::chrono::milliseconds timeout) {
    for (auto it = responses_.begin(); it != responses_.end(); ++it) {
        if ((*it)["id"] == id) {
            auto response = std::move(*it);
            responses_.erase(it);
            return response;
        }
    }
    const auto deadline = Clock::now() + timeout;
    while (true) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        auto message = readJson(std::max(left, std::chrono::milliseconds(0)));
        if (!message.contains("id")) {
            events_.push_back(std::move(message));
        } else if (message["id"] == id) {
            return message;
        } else {
            responses_.push_back(std::move(message));
        }
    }
}

nlohmann::json WsClient::nextEvent(std::chrono::milliseconds timeout) {
    if (!events_.empty()) {
        auto event = std::move(events_.front());
        events_.erase(events_.begin());
        return event;
    }
    const auto deadline = Clock::now() + timeout;
    while (true) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        auto message = readJson(std::max(left, std::chrono::milliseconds(0)));
        if (!message.contains("id")) {
            return message;
        }
        responses_.push_back(std::move(message));
    }
}

HttpResponse httpGet(const std::string& address, std::uint16_t port, const std::string& path,
                     const std::optional<std::string>& host, const std::string& extraHeaders) {
    const int fd = connectTo(address, port);
    std::string request = "GET " + path + " HTTP/1.1\r\n";
    if (host) {
        request += "Host: " + *host + "\r\n";
    }
    request += extraHeaders + "Connection: close\r\n\r\n";
    std::string buffer;
    bool eof = false;
    HttpResponse response;
    try {
        sendAll(fd, request);
        response = readHttp(fd, buffer, eof, Clock::now() + 10s);
    } catch (...) {
        ::close(fd);
        throw;
    }
    ::close(fd);
    return response;
}

std::uint16_t freePort() {
    for (int attempt = 0; attempt < 50; ++attempt) {
        const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in in{};
        in.sin_family = AF_INET;
        in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof(in);
        if (bind(fd, reinterpret_cast<sockaddr*>(&in), sizeof(in)) != 0 ||
            getsockname(fd, reinterpret_cast<sockaddr*>(&in), &length) != 0) {
            ::close(fd);
            continue;
        }
        const std::uint16_t port = ntohs(in.sin_port);
        ::close(fd);
        // The same port must be free on ::1 too.
        const int fd6 = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in6 in6{};
        in6.sin6_family = AF_INET6;
        in6.sin6_addr = in6addr_loopback;
        in6.sin6_port = htons(port);
        const bool free6 = bind(fd6, reinterpret_cast<sockaddr*>(&in6), sizeof(in6)) == 0;
        ::close(fd6);
        if (free6) {
            return port;
        }
    }
    throw std::runtime_error("no free port");
}

int closeCodeOf(const Frame& frame) {
    if (frame.payload.size() < 2) {
        return 1005;
    }
    return (static_cast<unsigned char>(frame.payload[0]) << 8) |
           static_cast<unsigned char>(frame.payload[1]);
}

}  // namespace tk::test
