#include "service/origin.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

#include "service/public_suffix.hpp"

namespace tk::service {
namespace {

char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string toLower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), lower);
    return out;
}

bool isAlnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

std::uint16_t defaultPort(std::string_view scheme) {
    return scheme == "https" ? 443 : 80;
}

// An LDH host name (lowercase already): labels of 1-63 letters, digits and hyphens, not
// starting or ending with a hyphen; 253 characters at most; no trailing dot.
bool isDomainName(std::string_view host) {
    if (host.empty() || host.size() > 253) {
        return false;
    }
    std::size_t start = 0;
    while (true) {
        const std::size_t dot = host.find('.', start);
        const std::string_view label = host.substr(
            start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
            return false;
        }
        if (!std::all_of(label.begin(), label.end(),
                         [](char c) { return isAlnum(c) || c == '-'; })) {
            return false;
        }
        if (dot == std::string_view::npos) {
            return true;
        }
        start = dot + 1;
    }
}

bool isIpv4(std::string_view host) {
    in_addr address{};
    const std::string text(host);
    return inet_pton(AF_INET, text.c_str(), &address) == 1;
}

bool isBracketedIpv6(std::string_view host) {
    if (host.size() < 3 || host.front() != '[' || host.back() != ']') {
        return false;
    }
    in6_addr address{};
    const std::string text(host.substr(1, host.size() - 2));
    return inet_pton(AF_INET6, text.c_str(), &address) == 1;
}

bool isIpLiteral(std::string_view host) {
    return isIpv4(host) || isBracketedIpv6(host);
}

bool isLoopbackHost(std::string_view host) {
    if (host == "localhost") {
        return true;
    }
    if (isIpv4(host)) {
        return host.starts_with("127.");
    }
    if (isBracketedIpv6(host)) {
        in6_addr address{};
        const std::string text(host.substr(1, host.size() - 2));
        inet_pton(AF_INET6, text.c_str(), &address);
        return IN6_IS_ADDR_LOOPBACK(&address) != 0;
    }
    return false;
}

struct Split {
    std::string scheme;
    std::string host;
    std::optional<std::uint16_t> port;
};

// Takes `scheme://host[:port]` apart. Everything is checked to be ASCII without controls or
// spaces before; the error text says what is wrong.
std::variant<Split, std::string> split(std::string_view text) {
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x80) {
            return std::string(
                "has non-ASCII characters (write internationalised host names in "
                "their punycode form, xn--...)");
        }
        if (u <= 0x20 || u == 0x7f) {
            return std::string("has spaces or control characters");
        }
    }
    const std::size_t sep = text.find("://");
    if (sep == std::string_view::npos || sep == 0) {
        return std::string("is not of the form scheme://host[:port]");
    }
    Split out;
    out.scheme = toLower(text.substr(0, sep));
    std::string_view rest = text.substr(sep + 3);
    if (rest.find_first_of("/?#") != std::string_view::npos) {
        return std::string(
            "has a path, query or fragment (an origin is scheme://host[:port] only)");
    }
    if (rest.find('@') != std::string_view::npos) {
        return std::string("has user information");
    }
    std::string_view hostPart = rest;
    std::string_view portPart;
    bool hasPort = false;
    if (!rest.empty() && rest.front() == '[') {
        const std::size_t close = rest.find(']');
        if (close == std::string_view::npos) {
            return std::string("has an unterminated IPv6 address");
        }
        hostPart = rest.substr(0, close + 1);
        const std::string_view after = rest.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') {
                return std::string("has characters after the IPv6 address");
            }
            hasPort = true;
            portPart = after.substr(1);
        }
    } else if (const std::size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
        hostPart = rest.substr(0, colon);
        portPart = rest.substr(colon + 1);
        hasPort = true;
    }
    if (hostPart.empty()) {
        return std::string("has no host");
    }
    out.host = toLower(hostPart);
    if (hasPort) {
        unsigned value = 0;
        const auto* end = portPart.data() + portPart.size();
        const auto result = std::from_chars(portPart.data(), end, value);
        if (portPart.empty() || portPart.size() > 5 || result.ec != std::errc() ||
            result.ptr != end || value == 0 || value > 65535) {
            return std::string("has an invalid port");
        }
        out.port = static_cast<std::uint16_t>(value);
    }
    return out;
}

}  // namespace

std::string serialiseOrigin(const Origin& origin) {
    std::string out = origin.scheme + "://" + origin.host;
    if (origin.port != defaultPort(origin.scheme)) {
        out += ":" + std::to_string(origin.port);
    }
    return out;
}

std::optional<Origin> parseOrigin(std::string_view text) {
    auto parts = split(text);
    if (std::holds_alternative<std::string>(parts)) {
        return std::nullopt;
    }
    Split& s = std::get<Split>(parts);
    if (s.scheme != "http" && s.scheme != "https") {
        return std::nullopt;
    }
    if (!isDomainName(s.host) && !isIpLiteral(s.host)) {
        return std::nullopt;
    }
    return Origin{s.scheme, s.host, s.port.value_or(defaultPort(s.scheme))};
}

bool OriginPattern::matches(const Origin& candidate) const {
    if (candidate.scheme != origin.scheme || candidate.port != origin.port) {
        return false;
    }
    if (!wildcard) {
        return candidate.host == origin.host;
    }
    // Strictly below the suffix: at least one label before ".suffix".
    const std::string& suffix = origin.host;
    return candidate.host.size() > suffix.size() + 1 && candidate.host.ends_with(suffix) &&
           candidate.host[candidate.host.size() - suffix.size() - 1] == '.' &&
           !isIpLiteral(candidate.host);
}

std::variant<OriginPattern, std::string> parseOriginPattern(std::string_view text) {
    if (text.empty()) {
        return std::string("an origin must not be empty");
    }
    if (toLower(text) == "null") {
        return std::string("the origin \"null\" (sandboxed frames, file: pages) cannot be allowed");
    }
    const std::string quoted = "origin " + std::string(text) + " ";
    auto parts = split(text);
    if (auto* problem = std::get_if<std::string>(&parts)) {
        return quoted + *problem;
    }
    Split& s = std::get<Split>(parts);
    if (s.scheme != "http" && s.scheme != "https") {
        return quoted + "has the scheme " + s.scheme + " (only https, and http for loopback hosts)";
    }
    OriginPattern pattern;
    std::string host = s.host;
    if (host.find('*') != std::string::npos) {
        if (!host.starts_with("*.") || host.find('*', 1) != std::string::npos) {
            return quoted + "has a wildcard that is not the whole first label (*.example.gov.tw)";
        }
        pattern.wildcard = true;
        host = host.substr(2);
        if (!isDomainName(host)) {
            return quoted + "has an invalid host name";
        }
        const std::optional<bool> suffix = isPublicSuffix(host);
        if (!suffix) {
            return quoted +
                   "cannot be checked: no public-suffix list could be loaded (install the "
                   "publicsuffix package), so wildcard entries are refused";
        }
        if (host.find('.') == std::string::npos || *suffix) {
            return quoted + "puts a wildcard directly on the public suffix " + host +
                   " (name a domain below it, e.g. *.example." + host + ")";
        }
        // A numeric last label is an IPv4 address, never a top-level domain.
        const std::string_view last = std::string_view(host).substr(host.rfind('.') + 1);
        if (std::all_of(last.begin(), last.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            return quoted + "puts a wildcard on an IP address";
        }
    } else if (!isDomainName(host) && !isIpLiteral(host)) {
        return quoted + "has an invalid host";
    }
    if (s.scheme == "http" && (pattern.wildcard || !isLoopbackHost(host))) {
        return quoted + "uses http: with a host that is not loopback (use https:)";
    }
    pattern.origin = Origin{s.scheme, host, s.port.value_or(defaultPort(s.scheme))};
    pattern.text = serialiseOrigin(pattern.origin);
    if (pattern.wildcard) {
        pattern.text.insert(pattern.origin.scheme.size() + 3, "*.");
    }
    return pattern;
}

}  // namespace tk::service
