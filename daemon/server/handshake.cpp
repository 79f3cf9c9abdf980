#include "server/handshake.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <vector>

namespace tk::server {

namespace {

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

std::string_view trim(std::string_view s) {
    const auto blank = [](char c) { return c == ' ' || c == '\t'; };
    while (!s.empty() && blank(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && blank(s.back())) {
        s.remove_suffix(1);
    }
    return s;
}

std::vector<std::string_view> commaList(std::string_view header) {
    std::vector<std::string_view> items;
    while (true) {
        const auto comma = header.find(',');
        items.push_back(trim(header.substr(0, comma)));
        if (comma == std::string_view::npos) {
            return items;
        }
        header.remove_prefix(comma + 1);
    }
}

// Header lists libwebsockets copies into fixed buffers before it looks at them.
constexpr std::size_t kLwsListLimit = 127;
constexpr std::size_t kLwsTokenLimit = 63;

}  // namespace

bool isLoopbackHost(std::string_view host, std::uint16_t port, bool tls) {
    std::string_view name = host;
    std::optional<std::uint16_t> given;
    // The port follows the last colon, unless that colon is inside an IPv6 literal.
    const auto colon = host.rfind(':');
    if (colon != std::string_view::npos && host.find(']', colon) == std::string_view::npos) {
        const std::string_view digits = host.substr(colon + 1);
        if (digits.empty() || digits.size() > 5 ||
            !std::all_of(digits.begin(), digits.end(),
                         [](char c) { return c >= '0' && c <= '9'; })) {
            return false;
        }
        unsigned value = 0;
        std::from_chars(digits.data(), digits.data() + digits.size(), value);
        if (value > 65535) {
            return false;
        }
        given = static_cast<std::uint16_t>(value);
        name = host.substr(0, colon);
    }
    const std::uint16_t defaultPort = tls ? 443 : 80;
    if (given ? *given != port : port != defaultPort) {
        return false;
    }
    return name == "127.0.0.1" || name == "[::1]" || equalsIgnoreCase(name, "localhost");
}

bool offersSubprotocol(std::string_view header, std::string_view protocol) {
    if (header.size() > kLwsListLimit) {
        return false;
    }
    bool offered = false;
    for (const auto token : commaList(header)) {
        if (token.size() > kLwsTokenLimit) {
            return false;
        }
        offered = offered || token == protocol;
    }
    return offered;
}

HandshakeVerdict judgeUpgrade(const UpgradeRequest& request, const ListenerFacts& listener,
                              const OriginLookup& origins, int openConnections,
                              int maxConnections) {
    if (!request.host || !isLoopbackHost(*request.host, listener.port, listener.tls)) {
        return {403, "host", {}};
    }
    std::optional<service::Capabilities> capabilities;
    if (request.origin && origins) {
        capabilities = origins(*request.origin);
    }
    if (!capabilities) {
        return {403, "origin", {}};
    }
    if (!request.subprotocols || !offersSubprotocol(*request.subprotocols)) {
        return {400, "subprotocol", {}};
    }
    const auto connectionHasUpgrade = [&] {
        if (!request.connection || request.connection->size() > kLwsListLimit) {
            return false;
        }
        const auto tokens = commaList(*request.connection);
        return std::any_of(tokens.begin(), tokens.end(),
                           [](std::string_view t) { return equalsIgnoreCase(t, "upgrade"); });
    };
    if (!request.upgrade || !equalsIgnoreCase(trim(*request.upgrade), "websocket") ||
        !connectionHasUpgrade() || !request.key || request.key->empty() || !request.version ||
        trim(*request.version) != "13") {
        return {400, "upgrade", {}};
    }
    if (openConnections >= maxConnections) {
        return {503, "connections", {}};
    }
    return {0, {}, *capabilities};
}

}  // namespace tk::server
