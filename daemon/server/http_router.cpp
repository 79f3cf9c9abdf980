#include "server/http_router.hpp"

namespace tk::server {

HttpRoute routeHttp(bool isGet, bool isPost, std::string_view path) {
    // The HiPKI dialect's POST endpoints answer browsers never and local programs only when
    // `[hipki] local_programs` allows them (docs/hipki.md); the server checks both.
    if (path == "/sign" || path == "/decrypt" || path == "/pkcs11info") {
        return {isPost ? HttpRoute::Kind::LocalProgram : HttpRoute::Kind::Forbidden, nullptr};
    }
    if (!isGet) {
        return {};
    }
    if (path == "/ChtPopupForm") {
        return {HttpRoute::Kind::Page, findPage("/popupForm")};
    }
    if (path == "/health") {
        return {HttpRoute::Kind::Health, nullptr};
    }
    if (path == kStatusImagePath) {
        return {HttpRoute::Kind::StatusImage, nullptr};
    }
    if (const Page* page = findPage(path)) {
        return {HttpRoute::Kind::Page, page};
    }
    return {};
}

HttpHeaders pageHeaders(const Page& page, const std::vector<std::string>& webSocketSources) {
    std::string connect;
    for (const auto& source : webSocketSources) {
        connect += " " + source;
    }
    if (connect.empty()) {
        connect = " 'none'";
    }
    HttpHeaders headers{
        {"Content-Type", std::string(page.contentType)},
        {"Content-Security-Policy",
         "default-src 'none'; script-src 'self'; style-src 'self'; connect-src" + connect +
             "; frame-ancestors 'none'; form-action 'none'; base-uri 'none'"},
        {"X-Frame-Options", "DENY"},
        {"X-Content-Type-Options", "nosniff"},
        {"Referrer-Policy", "no-referrer"},
        {"Cache-Control", "no-store"},
    };
    if (page.path == kStatusImagePath) {
        headers.emplace_back("Access-Control-Allow-Origin", "*");
        headers.emplace_back("Vary", "Origin");
    } else if (page.path == kSelfTestPath) {
        headers.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
    }
    return headers;
}

bool isTopLevelNavigation(const std::optional<std::string>& fetchDest,
                          const std::optional<std::string>& fetchMode) {
    return fetchDest == "document" && fetchMode == "navigate";
}

}  // namespace tk::server
