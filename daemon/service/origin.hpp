#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace tk::service {

// A tuple origin (RFC 6454) as a browser sends it in the Origin header: scheme, host and port.
// Only http and https origins exist for the daemon; the port is always the effective one
// (80/443 filled in when the serialisation leaves the default out).
struct Origin {
    std::string scheme;  // "http" or "https", lowercase
    std::string host;    // lowercase; IPv6 literals keep their brackets ("[::1]")
    std::uint16_t port = 0;

    bool operator==(const Origin&) const = default;
};

// Parses the ASCII serialisation of an origin: `scheme://host[:port]`, nothing after it (no
// path, not even "/"). Scheme and host are compared case-insensitively (RFC 3986) and come
// back lowercase; an explicit default port (`https://a.tw:443`) is the same origin as
// `https://a.tw`. nullopt for "null", other schemes, user info, paths, non-ASCII (IDN hosts
// travel in punycode), empty labels or a trailing dot.
std::optional<Origin> parseOrigin(std::string_view text);

// An allow-list entry: an exact origin, or `scheme://*.suffix[:port]`, which matches every
// host strictly below `suffix` (`*.pcc.gov.tw` matches `a.pcc.gov.tw` and `a.b.pcc.gov.tw`,
// not `pcc.gov.tw`) with the same scheme and port.
struct OriginPattern {
    Origin origin;          // for a wildcard, host is the suffix after "*."
    bool wildcard = false;  // host is a suffix
    std::string text;       // canonical form: lowercase, default port left out

    bool matches(const Origin& candidate) const;
};

// Parses and checks an allow-list entry. Refused, with the returned text saying why: "null",
// schemes other than http/https, http with a host that is not loopback (localhost,
// 127.0.0.0/8, [::1]), a path, user info, query or fragment, a wildcard anywhere but as the
// whole first label, a wildcard on an IP address, on a single label, or directly on a public
// suffix of the Public Suffix List (service/public_suffix.hpp).
std::variant<OriginPattern, std::string> parseOriginPattern(std::string_view text);

// The canonical serialisation: scheme://host, with ":port" unless it is the default.
std::string serialiseOrigin(const Origin& origin);

}  // namespace tk::service
