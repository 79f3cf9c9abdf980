#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/pages.hpp"

namespace tk::server {

// What a plain HTTP request (one that passed the Host check) gets: GET /health, GET of a
// page, or 404 for anything else.
struct HttpRoute {
    enum class Kind { NotFound, Health, Page, Forbidden };
    Kind kind = Kind::NotFound;
    const Page* page = nullptr;
};

HttpRoute routeHttp(bool isGet, std::string_view path);

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// The headers every page is served with (besides Content-Length): its Content-Type, a
// Content-Security-Policy that lets it load only its own script and style and connect only to
// `webSocketSources` (the daemon's own ws/wss URLs), no framing (frame-ancestors 'none' and
// X-Frame-Options: DENY), nosniff, no referrer, no caching. No CORS header, and nothing that
// would sever window.opener (no Cross-Origin-Opener-Policy): the bridge window lives on its
// opener.
HttpHeaders pageHeaders(const Page& page, const std::vector<std::string>& webSocketSources);

}  // namespace tk::server
