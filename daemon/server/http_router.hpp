#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/pages.hpp"

namespace tk::server {

// What a plain HTTP request (one that passed the Host check) gets: GET /health, GET of a
// page, a POST of the HiPKI dialect (LocalProgram: the server decides who may), 403 for other
// methods on those paths, or 404 for anything else.
struct HttpRoute {
    enum class Kind { NotFound, Health, Page, Forbidden, LocalProgram };
    Kind kind = Kind::NotFound;
    const Page* page = nullptr;
};

HttpRoute routeHttp(bool isGet, bool isPost, std::string_view path);

// A request a browser sent: it has an Origin header or one of the Sec-Fetch-* headers (the
// names libwebsockets cannot list, so the ones browsers send are named). A local program
// sends neither.
inline constexpr std::string_view kFetchMetadataHeaders[] = {
    "sec-fetch-site:", "sec-fetch-mode:", "sec-fetch-dest:", "sec-fetch-user:",
    "sec-fetch-storage-access:"};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// The headers every page is served with (besides Content-Length): its Content-Type, a
// Content-Security-Policy that lets it load only its own script and style and connect only to
// `webSocketSources` (the daemon's own ws/wss URLs), no framing (frame-ancestors 'none' and
// X-Frame-Options: DENY), nosniff, no referrer, no caching. No CORS header, and nothing that
// would sever window.opener (no Cross-Origin-Opener-Policy): the bridge window lives on its
// opener.
HttpHeaders pageHeaders(const Page& page, const std::vector<std::string>& webSocketSources);

}  // namespace tk::server
