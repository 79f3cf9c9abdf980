#include "cli/daemon_link.hpp"

#include <cctype>
#include <cstdlib>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "cli/exit_status.hpp"

namespace tk::cli {
namespace {

std::string lowercase(std::string text) {
    for (char& c : text) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return text;
}

std::string hostHeader(const Endpoint& endpoint) {
    const std::string host =
        endpoint.address == "::1" ? std::string("[::1]") : std::string(endpoint.address);
    return host + ":" + std::to_string(endpoint.port);
}

}  // namespace

std::string Endpoint::url() const {
    const std::string host = address == "::1" ? "[::1]" : address;
    return std::string(tls ? "wss://" : "ws://") + host + ":" + std::to_string(port) + "/";
}

std::vector<Endpoint> endpointsOf(const service::Config& config) {
    std::vector<Endpoint> endpoints;
    for (const auto& listener : config.listeners) {
        const bool tls = listener.certificateFile.has_value();
        const std::string address = lowercase(listener.address);
        if (address == "localhost") {
            endpoints.push_back({"127.0.0.1", listener.port, tls});
            endpoints.push_back({"::1", listener.port, tls});
        } else if (address == "[::1]" || address == "::1") {
            endpoints.push_back({"::1", listener.port, tls});
        } else {
            endpoints.push_back({address, listener.port, tls});
        }
    }
    return endpoints;
}

LoadedConfig loadConfigLikeDaemon(const std::string& path, bool explicitPath) {
    std::error_code error;
    if (!explicitPath && !std::filesystem::exists(std::filesystem::u8path(path), error)) {
        return {service::Config{}, false};
    }
    return {service::loadConfigFile(path), true};
}

ReloadMode reloadModeFrom(const std::optional<std::string>& value) {
    if (!value || *value == "auto") {
        return ReloadMode::Auto;
    }
    if (*value == "none") {
        return ReloadMode::None;
    }
    ReloadMode mode = ReloadMode::Auto;
    if (detail::platformReloadMode(*value, mode)) {
        return mode;
    }
    throw UsageError("--reload: '" + *value +
                     "' is not a reload mode here (see tenderkey origins "
                     "add --help)");
}

namespace detail {

std::string healthRequest(const Endpoint& endpoint) {
    return "GET /health HTTP/1.1\r\nHost: " + hostHeader(endpoint) +
           "\r\nUser-Agent: tenderkey\r\nConnection: close\r\n\r\n";
}

// Enough once the body announced by Content-Length is there.
bool responseComplete(const std::string& response) {
    const auto head = response.find("\r\n\r\n");
    if (head == std::string::npos) {
        return false;
    }
    const std::string lower = lowercase(response.substr(0, head));
    const auto length = lower.find("content-length:");
    return length != std::string::npos &&
           response.size() - head - 4 >=
               static_cast<std::size_t>(std::atol(lower.c_str() + length + 15));
}

void readHealthResponse(const std::string& response, Probe& probe) {
    probe.state = Probe::State::Foreign;
    if (response.empty()) {
        probe.detail = "a program accepts connections but gave no HTTP answer";
        return;
    }
    const auto lineEnd = response.find("\r\n");
    const std::string statusLine = response.substr(0, lineEnd);
    const auto head = response.find("\r\n\r\n");
    if (!statusLine.starts_with("HTTP/1.1 200") || head == std::string::npos) {
        probe.detail = "answered \"" + statusLine.substr(0, 80) + "\"";
        return;
    }
    const auto body = nlohmann::json::parse(response.substr(head + 4), nullptr, false);
    if (body.is_object() && body.size() == 3 && body.value("status", "") == "ok" &&
        body.contains("version") && body["version"].is_string() && body.contains("readers") &&
        body["readers"].is_number_integer()) {
        probe.state = Probe::State::Ours;
        probe.version = body["version"].get<std::string>();
        probe.readers = body["readers"].get<int>();
        probe.detail = "tenderkeyd " + probe.version;
        return;
    }
    probe.detail = "answered HTTP 200 with something that is not TenderKey's /health";
}

Probe probeOver(const Endpoint& endpoint, ProbeSocket& socket, Probe probe) {
    using Io = ProbeSocket::Io;
    std::string message;
    switch (socket.connect(message)) {
        case ProbeSocket::Connect::Refused:
            probe.state = Probe::State::Free;
            probe.detail = "connection refused";
            return probe;
        case ProbeSocket::Connect::AddressUnavailable:
            probe.state = Probe::State::Free;
            probe.detail = "address not available: " + message;
            return probe;
        case ProbeSocket::Connect::Failed:
            probe.detail = "connect: " + message;
            return probe;
        case ProbeSocket::Connect::Connected:
            break;
    }
    if (endpoint.tls) {
        probe.detail = "a TLS listener accepts connections (not probed further)";
        return probe;
    }
    const std::string request = healthRequest(endpoint);
    std::size_t sent = 0;
    while (sent < request.size()) {
        std::size_t count = 0;
        const Io io = socket.send(std::string_view(request).substr(sent), count, message);
        if (io == Io::TimedOut) {
            probe.detail = "timed out sending the request";
            return probe;
        }
        if (io == Io::Failed) {
            probe.state = Probe::State::Foreign;
            probe.detail = "the connection was dropped: " + message;
            return probe;
        }
        sent += count;
    }
    std::string response;
    while (response.size() < 65536) {
        char buffer[4096];
        std::size_t count = 0;
        const Io io = socket.receive(buffer, sizeof(buffer), count);
        if (io == Io::Again) {
            continue;
        }
        if (io != Io::Done || count == 0) {
            break;
        }
        response.append(buffer, count);
        if (responseComplete(response)) {
            break;
        }
    }
    readHealthResponse(response, probe);
    return probe;
}

}  // namespace detail
}  // namespace tk::cli
