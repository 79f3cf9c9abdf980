#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/pages.hpp"

namespace tk::server {

// What a plain HTTP request (one that passed the Host check) gets: GET /health, GET of a
// page, GET of the HiPKI status image (StatusImage: served only with [hipki] enabled), a POST
// of the HiPKI dialect (LocalProgram: the server decides who may), 403 for other methods on
// those paths, or 404 for anything else.
struct HttpRoute {
    enum class Kind { NotFound, Health, Page, StatusImage, Forbidden, LocalProgram };
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

// GET /p11Image.bmp (with [hipki] enabled): the image holding only the HiPKI status JSON
// (service/hipki/status_image.hpp), the same bytes for every caller.
inline constexpr std::string_view kStatusImagePath = "/p11Image.bmp";

// GET /selfTest.htm: the support staff's self-test page. It shows the readers, cards and
// certificates, so it is served only as a top-level navigation (`isTopLevelNavigation`): never to a
// fetch, an image, a script or a frame of another page.
inline constexpr std::string_view kSelfTestPath = "/selfTest.htm";

// True for a request a browser makes to navigate a top-level window: Sec-Fetch-Dest
// "document" and Sec-Fetch-Mode "navigate". A request without them (no browser made it, or one
// too old to say) is not.
bool isTopLevelNavigation(const std::optional<std::string>& fetchDest,
                          const std::optional<std::string>& fetchMode);

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// The headers every page is served with (besides Content-Length): its Content-Type, a
// Content-Security-Policy that lets it load only its own script and style and connect only to
// `webSocketSources` (the daemon's own ws/wss URLs), no framing (frame-ancestors 'none' and
// X-Frame-Options: DENY), nosniff, no referrer, no caching. No CORS header, and nothing that
// would sever window.opener (no Cross-Origin-Opener-Policy): the bridge window lives on its
// opener. Two pages add to them: the status image may be read by pages of any origin
// (Access-Control-Allow-Origin: *, Vary: Origin: it is the same for all), and the self-test
// page severs its opener (Cross-Origin-Opener-Policy: same-origin: no page keeps a handle on it).
HttpHeaders pageHeaders(const Page& page, const std::vector<std::string>& webSocketSources);

}  // namespace tk::server
