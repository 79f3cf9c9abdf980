#include "server/server.hpp"

#include <libwebsockets.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <deque>
#include <future>
#include <random>
#include <thread>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "card/secure_bytes.hpp"
#include "server/bridge.hpp"
#include "server/hipki_call.hpp"
#include "server/http_router.hpp"
#include "server/json_rpc.hpp"
#include "server/mailbox.hpp"
#include "service/client_text.hpp"
#include "service/hipki/local_program.hpp"
#include "service/hipki/status_image.hpp"

namespace tk::server {

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// A connection that does not read its answers stops being read once this many messages wait
// for it, and is read again when it has caught up.
constexpr std::size_t kPauseReadingAt = 64;
constexpr std::size_t kResumeReadingAt = 16;
// After the grace period, how long closing frames get to reach the clients.
constexpr auto kCloseFlushTime = std::chrono::milliseconds(1000);
constexpr auto kDrainTick = std::chrono::milliseconds(20);

// A request's text as it arrives: it may hold a PIN, so every buffer it ever used, growth
// included, is wiped when given up (and kept out of core dumps).
using MessageBuffer = std::basic_string<char, std::char_traits<char>, card::SecretAllocator<char>>;

struct Session {
    std::uint64_t id = 0;
    lws* wsi = nullptr;
    std::string origin;  // the handshake's, or for a bridge connection the attached one
    service::Capabilities capabilities;
    bool bridge = false;     // the handshake Origin is one of the daemon's own
    bool attached = false;   // bridge only: bridge.attach succeeded
    bool consented = false;  // attached by the user's consent, not an allow-list entry
    bool selfTest = false;   // the self-test page's: its own origin, read only
    std::string offered;     // bridge only: the origin last offered to the user for consent
    int inFlight = 0;
    std::deque<std::string> outgoing;  // each message preceded by LWS_PRE spare bytes
    MessageBuffer message;             // the message being reassembled from fragments
    int closeCode = 0;                 // set: close once `outgoing` is written
    std::string closeReason;
    bool readingPaused = false;
};

// A local program's POST to the HiPKI listener (docs/hipki.md): its body as it arrives (it may
// hold a PIN: wiped when given up), then the HiPKI response to write.
struct LocalProgramPost {
    std::uint64_t id = 0;
    std::string path;
    std::string function;  // the HiPKI function the path names
    MessageBuffer body;
    Clock::time_point received;
    bool called = false;
    std::optional<std::string> response;
    bool headersSent = false;
};

// libwebsockets' per-connection user data: zero-filled memory, no constructor runs.
struct PerConnection {
    Session* session;
    LocalProgramPost* post;  // an HTTP connection's local-program POST, owned
    unsigned healthLength;
    char health[240];
    const char* page;  // a page being written (static bytes), and how much of it went out
    std::size_t pageLength;
    std::size_t pageSent;
};

std::optional<std::string> header(lws* wsi, lws_token_indexes token) {
    const int length = lws_hdr_total_length(wsi, token);
    if (length <= 0) {
        return std::nullopt;
    }
    std::string value(static_cast<std::size_t>(length) + 1, '\0');
    const int copied = lws_hdr_copy(wsi, value.data(), length + 1, token);
    if (copied < 0) {
        return std::nullopt;
    }
    value.resize(static_cast<std::size_t>(copied));
    return value;
}

// A header libwebsockets has no token for; `name` in lower case with its colon.
std::optional<std::string> customHeader(lws* wsi, const char* name) {
    const int nameLength = static_cast<int>(std::strlen(name));
    const int length = lws_hdr_custom_length(wsi, name, nameLength);
    if (length < 0) {
        return std::nullopt;
    }
    std::string value(static_cast<std::size_t>(length) + 1, '\0');
    const int copied = lws_hdr_custom_copy(wsi, value.data(), length + 1, name, nameLength);
    if (copied < 0) {
        return std::nullopt;
    }
    value.resize(static_cast<std::size_t>(copied));
    return value;
}

// A header as a log line shows it: the client chose it.
std::string forLog(const std::optional<std::string>& value) {
    return value ? service::clientText(*value) : "-";
}

std::string correlationId() {
    thread_local std::mt19937_64 generator{std::random_device{}()};
    static constexpr char kHex[] = "0123456789abcdef";
    std::string id(8, '0');
    auto bits = generator();
    for (auto& c : id) {
        c = kHex[bits & 0xF];
        bits >>= 4;
    }
    return id;
}

long long millisecondsSince(Clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

void logRequest(const std::string& origin, std::string_view method, std::string_view outcome,
                Clock::time_point received) {
    spdlog::info("request origin={} method={} outcome={} duration_ms={}",
                 service::clientText(origin), method.empty() ? "-" : service::clientText(method),
                 outcome, millisecondsSince(received));
}

// Writes a response with an empty body. A refusal also closes the connection: nothing else is
// said to a client that failed a check.
// Adds the header `name` ("name:", lower case) with `value` to a response being composed.
bool addHeader(lws* wsi, std::string_view name, std::string_view value, unsigned char** p,
               unsigned char* end) {
    const std::string field(name);
    return lws_add_http_header_by_name(wsi, reinterpret_cast<const unsigned char*>(field.c_str()),
                                       reinterpret_cast<const unsigned char*>(value.data()),
                                       static_cast<int>(value.size()), p, end) == 0;
}

bool writeEmptyResponse(lws* wsi, unsigned status, bool closeConnection) {
    std::array<unsigned char, LWS_PRE + 256> buffer{};
    unsigned char* start = buffer.data() + LWS_PRE;
    unsigned char* p = start;
    unsigned char* end = buffer.data() + buffer.size() - 1;
    // The status line is written here: lws_add_http_header_status() takes the HTTP version
    // from a field that is not yet set for upgrade requests, and would answer "HTTP/1.0".
    const char* reason = status == 400   ? "Bad Request"
                         : status == 403 ? "Forbidden"
                         : status == 404 ? "Not Found"
                                         : "Service Unavailable";
    const std::string line = "HTTP/1.1 " + std::to_string(status) + " " + reason;
    if (lws_add_http_header_by_name(wsi, nullptr,
                                    reinterpret_cast<const unsigned char*>(line.data()),
                                    static_cast<int>(line.size()), &p, end) != 0 ||
        lws_add_http_header_content_length(wsi, 0, &p, end) != 0) {
        return false;
    }
    static constexpr char kClose[] = "close";
    if (closeConnection &&
        lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION,
                                     reinterpret_cast<const unsigned char*>(kClose),
                                     sizeof(kClose) - 1, &p, end) != 0) {
        return false;
    }
    return lws_finalize_write_http_header(wsi, start, &p, end) == 0;
}

void spdlogEmit(int level, const char* line) {
    std::string_view text(line);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
        text.remove_suffix(1);
    }
    if ((level & LLL_ERR) != 0) {
        spdlog::error("libwebsockets: {}", text);
    } else if ((level & LLL_WARN) != 0) {
        spdlog::warn("libwebsockets: {}", text);
    } else {
        spdlog::debug("libwebsockets: {}", text);
    }
}

}  // namespace

struct Server::Impl {
    Impl(service::Api& api, ServerSettings settings, OriginLookup origins,
         std::shared_ptr<const service::ConsentPolicy> consent)
        : api(api),
          settings(std::move(settings)),
          origins(std::move(origins)),
          consent(std::move(consent)),
          endpoints(endpointsFor(this->settings.listeners)),
          own(ownOrigins(endpoints)),
          webSocketSources(ownWebSocketSources(endpoints)) {
        if (this->settings.hipki) {
            hipki.emplace(api, *this->settings.hipki);
            statusImage = service::hipki::statusImage(this->settings.hipki->serverVersion);
        }
    }

    service::Api& api;
    ServerSettings settings;
    OriginLookup origins;                                   // network thread once running
    std::shared_ptr<const service::ConsentPolicy> consent;  // null: no consent at all
    std::vector<Endpoint> endpoints;
    std::vector<std::string> own;               // the daemon's own origins (bridge connections)
    std::vector<std::string> webSocketSources;  // the pages' CSP connect-src
    // Set: [hipki] enabled.
    std::optional<service::hipki::Adapter> hipki;
    std::string statusImage;  // /p11Image.bmp, with [hipki] enabled
    std::vector<std::string> vhostNames;
    std::array<lws_protocols, 2> protocols{};
    std::shared_ptr<Mailbox> mailbox = std::make_shared<Mailbox>();
    lws_context* context = nullptr;
    std::thread thread;
    std::atomic<bool> running{false};
    std::atomic<int> openConnections{0};

    // Network thread only.
    std::unordered_map<std::uint64_t, Session*> sessions;
    std::unordered_map<std::uint64_t, lws*> localPosts;  // POSTs waiting for their answer
    std::uint64_t nextSessionId = 1;
    bool draining = false;
    bool closingAll = false;
    bool finished = false;
    Clock::time_point drainDeadline;
    Clock::time_point closeDeadline;
    struct Tick {
        lws_sorted_usec_list_t sul;  // first member: the callback gets its address
        Impl* impl;
    } tick{};

    // ---- start and the network thread ----

    void createContext() {
        protocols[0] = {};
        protocols[0].name = kSubprotocol.data();
        protocols[0].callback = &Impl::lwsCallback;
        protocols[0].per_session_data_size = sizeof(PerConnection);
        protocols[0].rx_buffer_size = 64 * 1024;
        protocols[1] = {};  // terminator

        const bool anyTls = std::any_of(endpoints.begin(), endpoints.end(),
                                        [](const Endpoint& e) { return e.tls(); });
        lws_context_creation_info info{};
        info.port = CONTEXT_PORT_NO_LISTEN;
        info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_VALIDATE_UTF8 |
                       (anyTls ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0);
        info.user = this;
        info.timeout_secs = 10;  // a handshake or HTTP request not complete by then is dropped
        info.max_http_header_data = 4096;
        info.gid = static_cast<decltype(info.gid)>(-1);  // keep the group (gid_t; int on Windows)
        info.uid = static_cast<decltype(info.uid)>(-1);
        context = lws_create_context(&info);
        if (context == nullptr) {
            throw ServerError("cannot create the libwebsockets context");
        }
        for (const auto& socket : settings.inherited) {
            if (std::none_of(endpoints.begin(), endpoints.end(), [&](const Endpoint& e) {
                    return e.address == socket.address && e.port == socket.port;
                })) {
                throw ServerError("an inherited listening socket (" + socket.address + " port " +
                                  std::to_string(socket.port) +
                                  ") is not one of the configured listeners");
            }
        }
        vhostNames.reserve(endpoints.size());
        for (auto& endpoint : endpoints) {
            const auto inherited =
                std::find_if(settings.inherited.begin(), settings.inherited.end(),
                             [&](const InheritedSocket& s) {
                                 return s.address == endpoint.address && s.port == endpoint.port;
                             });
            vhostNames.push_back("tenderkey-" + endpoint.address + "-" +
                                 std::to_string(endpoint.port));
            lws_context_creation_info v{};
            v.vhost_name = vhostNames.back().c_str();
            // An inherited socket is already listening: the vhost binds nothing, and the
            // socket's connections are handed to it (onInheritedListener).
            v.port = inherited != settings.inherited.end() ? CONTEXT_PORT_NO_LISTEN_SERVER
                                                           : endpoint.port;
            v.iface = endpoint.address.c_str();
            v.user = &endpoint;  // listenerOf
            v.protocols = protocols.data();
            v.keepalive_timeout = 5;
            v.alpn = "http/1.1";  // no HTTP/2: every request takes the HTTP/1.1 checks
            const bool ipv6 = endpoint.address.find(':') != std::string::npos;
            // With IPv6 enabled libwebsockets binds an IPv4 literal as the IPv6 wildcard
            // address; an IPv4 listener must disable IPv6.
            v.options =
                ipv6 ? (LWS_SERVER_OPTION_IPV6_V6ONLY_MODIFY | LWS_SERVER_OPTION_IPV6_V6ONLY_VALUE)
                     : LWS_SERVER_OPTION_DISABLE_IPV6;
            if (endpoint.tls()) {
                // Checked on the vhost's own options: without it the vhost speaks plain HTTP.
                v.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
                v.ssl_cert_filepath = endpoint.certificateFile->c_str();
                v.ssl_private_key_filepath = endpoint.privateKeyFile->c_str();
            }
            lws_vhost* vhost = lws_create_vhost(context, &v);
            if (vhost == nullptr) {
                throw ServerError("cannot listen on " + endpoint.url() +
                                  (endpoint.tls() ? " (port in use, or the certificate or key "
                                                    "cannot be loaded)"
                                                  : " (port in use?)"));
            }
            if (inherited != settings.inherited.end()) {
                adoptListener(vhost, endpoint, inherited->fd);
            }
        }
        verifyOnlyLoopbackListening();
    }

    // libwebsockets cannot take a listening socket for a vhost: the inherited one is watched
    // as a raw descriptor, and each connection it accepts is adopted by the vhost as if its
    // own listener had accepted it (same handshake, Host, Origin and limit checks).
    void adoptListener(lws_vhost* vhost, const Endpoint& endpoint, int fd) {
        prepareInheritedListener(fd);
        // Watched as a raw descriptor (a socket and a file descriptor are the same int where
        // sockets are inherited; Windows never passes one: prepareInheritedListener refuses).
        lws_sock_file_fd_type descriptor{};
        descriptor.sockfd = static_cast<lws_sockfd_type>(fd);
        if (lws_adopt_descriptor_vhost(vhost, LWS_ADOPT_RAW_FILE_DESC, descriptor,
                                       kSubprotocol.data(), nullptr) == nullptr) {
            throw ServerError("cannot listen on " + endpoint.url() +
                              " (the inherited socket cannot be watched)");
        }
    }

    // POLLIN on an inherited listening socket: every pending connection to its vhost.
    int onInheritedListener(lws* wsi) {
        const int listening = static_cast<int>(lws_get_socket_fd(wsi));
        for (int fd = acceptPending(listening); fd >= 0; fd = acceptPending(listening)) {
            if (draining) {
                closeAccepted(fd);  // as LWS_CALLBACK_FILTER_NETWORK_CONNECTION refuses it
                continue;
            }
            lws_sock_file_fd_type descriptor{};
            descriptor.sockfd = static_cast<lws_sockfd_type>(fd);
            // On failure the connection is closed by libwebsockets; the listener stays.
            lws_adopt_descriptor_vhost(lws_get_vhost(wsi),
                                       static_cast<lws_adoption_type>(
                                           LWS_ADOPT_SOCKET | LWS_ADOPT_HTTP | LWS_ADOPT_ALLOW_SSL),
                                       descriptor, nullptr, nullptr);
        }
        return 0;
    }

    void run(std::promise<void>& started) {
        try {
            createContext();
        } catch (...) {
            if (context != nullptr) {
                lws_context_destroy(context);
                context = nullptr;
            }
            started.set_exception(std::current_exception());
            return;
        }
        mailbox->open(context);
        running = true;
        started.set_value();
        while (!finished) {
            const int serviced = lws_service(context, 0);
            // libwebsockets' frames below this one may have held a request's text.
            card::wipeStackBelow();
            if (serviced < 0) {
                spdlog::error("libwebsockets service loop failed; the server stops");
                break;
            }
        }
        mailbox->close();
        lws_context_destroy(context);  // CLOSED arrives for every connection still open
        context = nullptr;
        for (auto& [id, session] : sessions) {
            delete session;
        }
        sessions.clear();
        running = false;
    }

    // ---- cross-thread hand-over ----

    void drainMailbox() {
        for (auto& task : mailbox->take()) {
            task();
        }
        checkDrain();
    }

    Session* find(std::uint64_t id) {
        const auto it = sessions.find(id);
        return it == sessions.end() ? nullptr : it->second;
    }

    void deliverResponse(std::uint64_t connectionId, std::string text) {
        Session* s = find(connectionId);
        if (s == nullptr) {
            return;  // the connection closed meanwhile
        }
        --s->inFlight;
        enqueue(*s, std::move(text));
    }

    void deliverEvent(std::uint64_t connectionId, std::string text) {
        if (Session* s = find(connectionId)) {
            enqueue(*s, std::move(text));
        }
    }

    void enqueue(Session& s, std::string text) {
        if (s.closeCode == LWS_CLOSE_STATUS_POLICY_VIOLATION) {
            return;  // its origin lost its entry: nothing more goes to it
        }
        std::string framed(LWS_PRE, '\0');
        framed += text;
        s.outgoing.push_back(std::move(framed));
        if (s.outgoing.size() >= kPauseReadingAt && !s.readingPaused) {
            lws_rx_flow_control(s.wsi, 0);
            s.readingPaused = true;
        }
        lws_callback_on_writable(s.wsi);
    }

    void requestClose(Session& s, int code, std::string reason) {
        if (s.closeCode != 0) {
            return;
        }
        s.closeCode = code;
        s.closeReason = std::move(reason);
        if (code == LWS_CLOSE_STATUS_POLICY_VIOLATION) {
            s.outgoing.clear();
        }
        lws_callback_on_writable(s.wsi);
    }

    // ---- reload and stop ----

    void applyOrigins(OriginLookup next) {
        origins = std::move(next);
        int closed = 0;
        for (auto& [id, s] : sessions) {
            if (s->bridge && !s->attached) {
                continue;  // acts for no origin yet
            }
            const auto capabilities = origins ? origins(s->origin) : std::nullopt;
            if (!capabilities && (s->consented || s->selfTest)) {
                continue;  // the user's consent, or the daemon's own page, not the allow-list
            }
            if (!capabilities) {
                requestClose(*s, LWS_CLOSE_STATUS_POLICY_VIOLATION, "origin no longer allowed");
                ++closed;
            } else {
                s->capabilities = *capabilities;
            }
        }
        spdlog::info("origin allow-list replaced; {} connection(s) closed", closed);
    }

    void beginDrain(Clock::time_point deadline) {
        if (draining) {
            return;
        }
        draining = true;
        drainDeadline = deadline;
        for (auto& [id, s] : sessions) {
            if (!s->readingPaused) {
                lws_rx_flow_control(s->wsi, 0);
                s->readingPaused = true;
            }
        }
        tick.impl = this;
        scheduleTick();
        checkDrain();
    }

    void scheduleTick() {
        lws_sul_schedule(context, 0, &tick.sul, &Impl::onTick,
                         std::chrono::duration_cast<std::chrono::microseconds>(kDrainTick).count());
    }

    static void onTick(lws_sorted_usec_list_t* sul) {
        Impl* impl = reinterpret_cast<Tick*>(sul)->impl;
        impl->checkDrain();
        if (!impl->finished) {
            impl->scheduleTick();
        }
    }

    bool idle() const {
        return std::all_of(sessions.begin(), sessions.end(), [](const auto& entry) {
            return entry.second->inFlight == 0 && entry.second->outgoing.empty();
        });
    }

    void checkDrain() {
        if (!draining || finished) {
            return;
        }
        const auto now = Clock::now();
        if (!closingAll && (idle() || now >= drainDeadline)) {
            closingAll = true;
            closeDeadline = now + kCloseFlushTime;
            for (auto& [id, s] : sessions) {
                requestClose(*s, LWS_CLOSE_STATUS_GOINGAWAY, "daemon shutting down");
            }
        }
        if (closingAll && (sessions.empty() || now >= closeDeadline)) {
            finished = true;
            lws_cancel_service(context);
        }
    }

    // ---- HTTP ----

    ListenerFacts listenerOf(lws* wsi) const {
        // The port the connection came in on. Not the vhost's: connections of inherited
        // listeners (whose vhosts listen on nothing themselves) may be moved by libwebsockets
        // to the first such vhost when it reads their Host header.
        std::uint16_t port = localPort(static_cast<std::intptr_t>(lws_get_socket_fd(wsi)));
        if (port == 0) {
            const auto* endpoint =
                static_cast<const Endpoint*>(lws_get_vhost_user(lws_get_vhost(wsi)));
            port = endpoint != nullptr ? endpoint->port : std::uint16_t{0};
        }
        return {port, lws_is_ssl(wsi) != 0};
    }

    int onConfirmUpgrade(lws* wsi) {
        UpgradeRequest request{header(wsi, WSI_TOKEN_HOST),       header(wsi, WSI_TOKEN_ORIGIN),
                               header(wsi, WSI_TOKEN_PROTOCOL),   header(wsi, WSI_TOKEN_UPGRADE),
                               header(wsi, WSI_TOKEN_CONNECTION), header(wsi, WSI_TOKEN_VERSION),
                               header(wsi, WSI_TOKEN_KEY)};
        HandshakeVerdict verdict =
            judgeUpgrade(request, listenerOf(wsi), admission(), static_cast<int>(sessions.size()),
                         settings.limits.maxConnections);
        if (verdict.status == 0 && draining) {
            verdict = {503, "shutting down", {}};
        }
        if (verdict.status == 0) {
            return 0;
        }
        spdlog::info("handshake refused status={} check={} host={} origin={}", verdict.status,
                     verdict.why, forLog(request.host), forLog(request.origin));
        writeEmptyResponse(wsi, static_cast<unsigned>(verdict.status), true);
        return -1;  // close: the response above is all the client gets
    }

    // The handshake's Origin check: the allow-list, and the daemon's own origins, which open a
    // bridge connection with no capability until it attaches.
    OriginLookup admission() const {
        return [this](std::string_view origin) -> std::optional<service::Capabilities> {
            if (isOwnOrigin(origin, own)) {
                return service::Capabilities{};
            }
            return origins ? origins(origin) : std::nullopt;
        };
    }

    int onHttp(lws* wsi, PerConnection* pc, std::string_view path) {
        const auto host = header(wsi, WSI_TOKEN_HOST);
        const auto listener = listenerOf(wsi);
        if (!host || !isLoopbackHost(*host, listener.port, listener.tls)) {
            spdlog::info("http request refused status=403 check=host host={}", forLog(host));
            writeEmptyResponse(wsi, 403, true);
            return -1;
        }
        char* uri = nullptr;
        int uriLength = 0;
        const int method = lws_http_get_uri_and_method(wsi, &uri, &uriLength);
        HttpRoute route = routeHttp(method == LWSHUMETH_GET, method == LWSHUMETH_POST, path);
        if (route.kind == HttpRoute::Kind::StatusImage) {
            if (hipki && pc != nullptr) {
                const Page image{kStatusImagePath, "image/bmp", statusImage};
                return startPage(wsi, pc, image);
            }
            route.kind = HttpRoute::Kind::NotFound;  // without [hipki] there is no such image
        }
        if (route.kind == HttpRoute::Kind::LocalProgram) {
            return onLocalProgramPost(wsi, pc, listener.port, path);
        }
        if (route.kind == HttpRoute::Kind::Forbidden) {
            spdlog::info("http request refused status=403 path={}", service::clientText(path));
            writeEmptyResponse(wsi, 403, true);
            return -1;
        }
        if (route.kind == HttpRoute::Kind::Page && route.page->path == kSelfTestPath &&
            !isTopLevelNavigation(customHeader(wsi, "sec-fetch-dest:"),
                                  customHeader(wsi, "sec-fetch-mode:"))) {
            spdlog::info("http request refused status=403 path={} check=navigation",
                         service::clientText(path));
            writeEmptyResponse(wsi, 403, true);
            return -1;
        }
        if (route.kind == HttpRoute::Kind::NotFound || pc == nullptr) {
            if (!writeEmptyResponse(wsi, 404, false)) {
                return -1;
            }
            return lws_http_transaction_completed(wsi) != 0 ? -1 : 0;
        }
        if (route.kind == HttpRoute::Kind::Page) {
            return startPage(wsi, pc, *route.page);
        }
        int readers = 0;
        try {
            readers = std::max(0, api.readerCount());
        } catch (const std::exception& e) {
            spdlog::error("readerCount failed: {}", e.what());
        }
        const std::string body =
            json{{"status", "ok"}, {"version", settings.version}, {"readers", readers}}.dump();
        if (body.size() > sizeof(pc->health)) {
            return -1;
        }
        std::memcpy(pc->health, body.data(), body.size());
        pc->healthLength = static_cast<unsigned>(body.size());

        std::array<unsigned char, LWS_PRE + 256> buffer{};
        unsigned char* start = buffer.data() + LWS_PRE;
        unsigned char* p = start;
        unsigned char* end = buffer.data() + buffer.size() - 1;
        if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK, "application/json", body.size(), &p,
                                        end) != 0 ||
            lws_finalize_write_http_header(wsi, start, &p, end) != 0) {
            return -1;
        }
        lws_callback_on_writable(wsi);
        return 0;
    }

    // ---- local programs (docs/hipki.md) ----

    static bool fromBrowser(lws* wsi) {
        if (header(wsi, WSI_TOKEN_ORIGIN)) {
            return true;
        }
        for (const std::string_view name : kFetchMetadataHeaders) {
            if (lws_hdr_custom_length(wsi, name.data(), static_cast<int>(name.size())) >= 0) {
                return true;
            }
        }
        return false;
    }

    // POST /sign, /decrypt, /pkcs11info: browsers never get an answer (any Origin or
    // Sec-Fetch-* header: 403, whatever the configuration); a local program gets the
    // capabilities of `[hipki] local_programs`, and 403 when it lists none. Only on the HiPKI
    // listener.
    int onLocalProgramPost(lws* wsi, PerConnection* pc, std::uint16_t port, std::string_view path) {
        const char* refusal = nullptr;
        if (!hipki || port != settings.hipkiPort || pc == nullptr) {
            refusal = "hipki-listener";
        } else if (fromBrowser(wsi)) {
            refusal = "browser";
        } else if (settings.hipkiLocalPrograms == service::Capabilities{}) {
            refusal = "local-programs";
        }
        if (refusal != nullptr) {
            spdlog::info("http request refused status=403 path={} check={}",
                         service::clientText(path), refusal);
            writeEmptyResponse(wsi, 403, true);
            return -1;
        }
        char query[32] = {};
        const bool withCert =
            lws_get_urlarg_by_name(wsi, "withcert=", query, sizeof(query)) != nullptr &&
            std::string_view(query).ends_with("=true");
        const auto function = service::hipki::localProgramFunction(path, withCert);
        if (!function) {
            writeEmptyResponse(wsi, 404, true);
            return -1;
        }
        auto* post = new LocalProgramPost;
        post->id = nextSessionId++;
        post->path = std::string(path);
        post->function = std::string(*function);
        post->received = Clock::now();
        pc->post = post;
        localPosts.emplace(post->id, wsi);
        const auto length = header(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH);
        if (!length || std::atoll(length->c_str()) <= 0) {
            // No body follows: the call starts once the request is fully read.
            lws_callback_on_writable(wsi);
        }
        return 0;
    }

    int onLocalProgramBody(lws* wsi, PerConnection* pc, const char* data, std::size_t length) {
        const card::WipeOnExit wipe(
            {reinterpret_cast<std::uint8_t*>(const_cast<char*>(data)), length});
        if (pc == nullptr || pc->post == nullptr || pc->post->called) {
            return -1;
        }
        if (pc->post->body.size() + length > settings.limits.maxMessageBytes) {
            spdlog::info("http request refused status=413 path={} origin={}",
                         service::clientText(pc->post->path), service::hipki::kLocalProgramOrigin);
            writeEmptyResponse(wsi, 413, true);
            return -1;
        }
        pc->post->body.append(data, length);
        return 0;
    }

    void callLocalProgram(LocalProgramPost& post) {
        post.called = true;
        json package = service::hipki::localProgramPackage(
            post.function, std::string_view(post.body.data(), post.body.size()));
        card::secureWipe(post.body.data(), post.body.size());
        post.body.clear();
        const service::CallContext context{post.id,
                                           std::string(service::hipki::kLocalProgramOrigin),
                                           settings.hipkiLocalPrograms,
                                           post.received,
                                           false,
                                           {}};
        hipki->call(context, package,
                    [mailbox = mailbox, impl = this, id = post.id, path = post.path,
                     received = post.received](const json& response) {
                        const auto code = response.value("ret_code", std::int64_t{0});
                        logRequest(std::string(service::hipki::kLocalProgramOrigin), "POST " + path,
                                   code == 0 ? "ok" : "ret_code=" + std::to_string(code), received);
                        // Text the card gave (names) is valid UTF-8 already; replacing is the
                        // guard that keeps this thread from throwing.
                        std::string text =
                            response.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
                        mailbox->post([impl, id, text = std::move(text)]() mutable {
                            impl->deliverLocalProgram(id, std::move(text));
                        });
                    });
    }

    void deliverLocalProgram(std::uint64_t id, std::string text) {
        const auto it = localPosts.find(id);
        if (it == localPosts.end()) {
            return;  // the program went away meanwhile
        }
        auto* pc = static_cast<PerConnection*>(lws_wsi_user(it->second));
        if (pc == nullptr || pc->post == nullptr) {
            return;
        }
        pc->post->response = std::move(text);
        lws_callback_on_writable(it->second);
    }

    int writeLocalProgram(lws* wsi, LocalProgramPost& post) {
        if (!post.called) {
            callLocalProgram(post);
            return 0;
        }
        if (!post.response) {
            return 0;
        }
        const std::string& body = *post.response;
        if (!post.headersSent) {
            std::array<unsigned char, LWS_PRE + 512> buffer{};
            unsigned char* start = buffer.data() + LWS_PRE;
            unsigned char* p = start;
            unsigned char* end = buffer.data() + buffer.size() - 1;
            if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK, "application/json", body.size(),
                                            &p, end) != 0 ||
                !addHeader(wsi, "cache-control:", "no-store", &p, end) ||
                !addHeader(wsi, "x-content-type-options:", "nosniff", &p, end) ||
                lws_finalize_write_http_header(wsi, start, &p, end) != 0) {
                return -1;
            }
            post.headersSent = true;
            lws_callback_on_writable(wsi);
            return 0;
        }
        std::vector<unsigned char> buffer(LWS_PRE + body.size());
        std::memcpy(buffer.data() + LWS_PRE, body.data(), body.size());
        const int written =
            lws_write(wsi, buffer.data() + LWS_PRE, body.size(), LWS_WRITE_HTTP_FINAL);
        card::secureWipe(buffer.data(), buffer.size());
        if (written != static_cast<int>(body.size())) {
            return -1;
        }
        endLocalProgram(wsi);
        return lws_http_transaction_completed(wsi) != 0 ? -1 : 0;
    }

    void endLocalProgram(lws* wsi) {
        auto* pc = static_cast<PerConnection*>(lws_wsi_user(wsi));
        if (pc == nullptr || pc->post == nullptr) {
            return;
        }
        localPosts.erase(pc->post->id);
        // As for a WebSocket connection: card work it left behind is cancelled, and the
        // service forgets the id.
        try {
            api.connectionClosed(pc->post->id);
        } catch (const std::exception& e) {
            spdlog::error("connectionClosed({}) failed: {}", pc->post->id, e.what());
        }
        if (pc->post->response) {
            card::secureWipe(pc->post->response->data(), pc->post->response->size());
        }
        delete pc->post;
        pc->post = nullptr;
    }

    int startPage(lws* wsi, PerConnection* pc, const Page& page) {
        std::array<unsigned char, LWS_PRE + 2048> buffer{};
        unsigned char* start = buffer.data() + LWS_PRE;
        unsigned char* p = start;
        unsigned char* end = buffer.data() + buffer.size() - 1;
        const std::string contentType(page.contentType);
        if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK, contentType.c_str(), page.body.size(),
                                        &p, end) != 0) {
            return -1;
        }
        for (const auto& [name, value] : pageHeaders(page, webSocketSources)) {
            if (name == "Content-Type") {
                continue;
            }
            if (!addHeader(wsi, name + ":", value, &p, end)) {
                return -1;
            }
        }
        if (lws_finalize_write_http_header(wsi, start, &p, end) != 0) {
            return -1;
        }
        pc->page = page.body.data();
        pc->pageLength = page.body.size();
        pc->pageSent = 0;
        lws_callback_on_writable(wsi);
        return 0;
    }

    int writePageChunk(lws* wsi, PerConnection* pc) {
        constexpr std::size_t kChunk = 16 * 1024;
        const std::size_t length = std::min(kChunk, pc->pageLength - pc->pageSent);
        const bool last = pc->pageSent + length == pc->pageLength;
        std::vector<unsigned char> buffer(LWS_PRE + length);
        std::memcpy(buffer.data() + LWS_PRE, pc->page + pc->pageSent, length);
        if (lws_write(wsi, buffer.data() + LWS_PRE, length,
                      last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != static_cast<int>(length)) {
            return -1;
        }
        pc->pageSent += length;
        if (!last) {
            lws_callback_on_writable(wsi);
            return 0;
        }
        pc->page = nullptr;
        return lws_http_transaction_completed(wsi) != 0 ? -1 : 0;
    }

    int onHttpWriteable(lws* wsi, PerConnection* pc) {
        if (pc != nullptr && pc->post != nullptr) {
            return writeLocalProgram(wsi, *pc->post);
        }
        if (pc != nullptr && pc->page != nullptr) {
            return writePageChunk(wsi, pc);
        }
        if (pc == nullptr || pc->healthLength == 0) {
            return 0;
        }
        std::array<unsigned char, LWS_PRE + sizeof(pc->health)> buffer{};
        std::memcpy(buffer.data() + LWS_PRE, pc->health, pc->healthLength);
        const unsigned length = pc->healthLength;
        pc->healthLength = 0;
        if (lws_write(wsi, buffer.data() + LWS_PRE, length, LWS_WRITE_HTTP_FINAL) !=
            static_cast<int>(length)) {
            return -1;
        }
        return lws_http_transaction_completed(wsi) != 0 ? -1 : 0;
    }

    // ---- WebSocket ----

    int onEstablished(lws* wsi, PerConnection* pc) {
        const auto origin = header(wsi, WSI_TOKEN_ORIGIN);
        const auto capabilities = origin ? admission()(*origin) : std::nullopt;
        if (pc == nullptr || !capabilities) {
            return -1;  // cannot happen: the same checks passed moments ago
        }
        auto* s = new Session;
        s->id = nextSessionId++;
        s->wsi = wsi;
        s->origin = *origin;
        s->capabilities = *capabilities;
        s->bridge = isOwnOrigin(*origin, own);
        pc->session = s;
        sessions.emplace(s->id, s);
        ++openConnections;
        spdlog::debug("connection {} opened origin={}", s->id, service::clientText(s->origin));
        api.connectionOpened(
            s->id, [mailbox = mailbox, impl = this, id = s->id](const json& eventParams) {
                std::string text;
                try {
                    text = eventMessage(eventParams);
                } catch (const std::exception& e) {
                    spdlog::error("event for connection {} not sent: {}", id, e.what());
                    return;
                }
                mailbox->post([impl, id, text = std::move(text)]() mutable {
                    impl->deliverEvent(id, std::move(text));
                });
            });
        return 0;
    }

    void onClosed(PerConnection* pc) {
        if (pc == nullptr || pc->session == nullptr) {
            return;
        }
        Session* s = pc->session;
        pc->session = nullptr;
        sessions.erase(s->id);
        --openConnections;
        spdlog::debug("connection {} closed", s->id);
        try {
            api.connectionClosed(s->id);
        } catch (const std::exception& e) {
            spdlog::error("connectionClosed({}) failed: {}", s->id, e.what());
        }
        delete s;
        if (draining) {
            checkDrain();
        }
    }

    // `data` points into libwebsockets' read buffer, where the frame was unmasked in place and
    // which the network thread reuses: wiped once its bytes are copied (or refused), so a
    // request's PIN does not wait there under the shorter messages that follow.
    int onReceive(lws* wsi, Session& s, char* data, std::size_t length) {
        const card::WipeOnExit wipe({reinterpret_cast<std::uint8_t*>(data), length});
        return receive(wsi, s, data, length);
    }

    int receive(lws* wsi, Session& s, const char* data, std::size_t length) {
        if (s.closeCode != 0 || draining) {
            return 0;  // closing: what still arrives is not read
        }
        if (lws_frame_is_binary(wsi) != 0) {
            static constexpr char kWhy[] = "binary frames are not accepted";
            lws_close_reason(wsi, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE,
                             reinterpret_cast<unsigned char*>(const_cast<char*>(kWhy)),
                             sizeof(kWhy) - 1);
            s.closeCode = LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE;
            return -1;
        }
        // Counted before the data is kept: the rest of the frame is announced in its header,
        // so an oversized message is refused at its first bytes, not after a megabyte.
        const std::size_t announced = s.message.size() + length + lws_remaining_packet_payload(wsi);
        if (announced > settings.limits.maxMessageBytes) {
            static constexpr char kWhy[] = "message too large";
            lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
                             reinterpret_cast<unsigned char*>(const_cast<char*>(kWhy)),
                             sizeof(kWhy) - 1);
            s.closeCode = LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE;
            s.message.clear();
            spdlog::info("connection {} closed: message larger than {} bytes", s.id,
                         settings.limits.maxMessageBytes);
            return -1;
        }
        s.message.append(data, length);
        if (lws_is_final_fragment(wsi) == 0 || lws_remaining_packet_payload(wsi) != 0) {
            return 0;
        }
        MessageBuffer text;
        text.swap(s.message);
        onMessage(s, text);
        return 0;
    }

    void refuse(Session& s, const json& id, std::string_view reason, std::string_view method,
                Clock::time_point received, json data = json::object()) {
        enqueue(s, errorMessage(id, reason, std::move(data)));
        logRequest(s.origin, method, reason, received);
    }

    void onMessage(Session& s, std::string_view text) {
        const auto received = Clock::now();
        auto reading = readRequest(text);
        if (const auto* refusal = std::get_if<Refusal>(&reading)) {
            refuse(s, refusal->id, refusal->reason, refusal->method, received);
            return;
        }
        auto& request = std::get<Request>(reading);
        const BridgeStep step =
            judgeBridgeRequest(s.bridge, s.attached, request.method, request.params, own);
        if (step.kind == BridgeStep::Kind::Refuse) {
            refuse(s, request.id, step.reason, request.method, received, step.data);
            return;
        }
        if (step.kind == BridgeStep::Kind::Attach) {
            attach(s, request.id, step.origin, received);
            return;
        }
        if (request.method == kHipkiCallMethod) {
            hipkiCall(s, request.id, request.params, received);
            return;
        }
        if (step.kind == BridgeStep::Kind::Consent) {
            applyConsent(s, request.id, step.always, received);
            return;
        }
        if (step.kind == BridgeStep::Kind::SelfTest) {
            // The daemon's own page reading the card state as itself: read only, no origin of
            // a site, nothing of it relayed anywhere.
            s.selfTest = true;
            service::Capabilities read;
            read.add(service::Capability::Read);
            completeAttach(s, request.id, s.origin, read, false, kSelfTestMethod, received);
            return;
        }
        const service::MethodInfo* method = service::findMethod(request.method);
        if (method == nullptr) {
            refuse(s, request.id, "METHOD_NOT_FOUND", request.method, received);
            return;
        }
        if (!service::admits(s.capabilities, *method)) {
            refuse(s, request.id, "NOT_PERMITTED", request.method, received,
                   {{"capability", std::string(service::capabilityName(method->capability))}});
            return;
        }
        if (!settings.pagePins && !s.bridge && carriesSecret(request.params)) {
            refuse(s, request.id, "PAGE_PIN_REFUSED", request.method, received);
            return;
        }
        if (s.inFlight >= settings.limits.maxInFlightPerConnection) {
            refuse(s, request.id, "BUSY", request.method, received);
            return;
        }
        if (request.params.is_array()) {
            refuse(s, request.id, "INVALID_PARAMS", request.method, received);
            return;
        }
        ++s.inFlight;
        const service::CallContext context{
            s.id, s.origin, s.capabilities, received, s.bridge && s.attached, {}};
        auto done = completionFor(s, request.id, request.method, received);
        try {
            api.call(context, request.method, request.params, done);
        } catch (const std::exception& e) {
            const std::string correlation = correlationId();
            spdlog::error("{} failed before answering (correlation {}): {}",
                          service::clientText(request.method), correlation, e.what());
            service::ApiError error;
            error.reason = "INTERNAL";
            error.data = {{"correlationId", correlation}};
            done(std::nullopt, std::move(error));
        }
    }

    // hipki.call: the package goes to the HiPKI adapter as the attached origin, whose
    // capabilities the adapter's API calls check per function.
    void hipkiCall(Session& s, const json& id, json& params, Clock::time_point received) {
        if (auto refusal = judgeHipkiCall(hipki.has_value(), s.bridge, s.attached, params)) {
            refuse(s, id, refusal->reason, kHipkiCallMethod, received, std::move(refusal->data));
            return;
        }
        if (s.inFlight >= settings.limits.maxInFlightPerConnection) {
            refuse(s, id, "BUSY", kHipkiCallMethod, received);
            return;
        }
        ++s.inFlight;
        // Not `viaBridge`: the HiPKI popup asks no last-try question, so no call it makes may
        // spend the last try.
        const service::CallContext context{s.id, s.origin, s.capabilities, received, false, {}};
        auto done = completionFor(s, id, std::string(kHipkiCallMethod), received);
        hipki->call(context, params["package"],
                    [done](json response) { completeHipki(done, std::move(response)); });
    }

    // From now on the bridge connection is judged as `origin`: its allow-list entry's
    // capabilities, its name in registration tokens, system.info and the logs, and it is closed
    // when a reload removes that entry.
    //
    // An origin without an entry that the consent policy may offer is refused with
    // ORIGIN_NOT_ALLOWED carrying `consent: true` (and the registrable domain to emphasise):
    // the bridge window then asks the user and answers with bridge.consent, a message only the
    // bridge's own script makes (it never relays bridge.*). A stored, unexpired "Always allow"
    // attaches at once.
    void attach(Session& s, const json& id, const std::string& origin, Clock::time_point received) {
        auto capabilities = origins ? origins(origin) : std::nullopt;
        bool consented = false;
        if (!capabilities && consent && consent->granted(origin)) {
            capabilities = service::Capabilities::consented();
            consented = true;
        }
        if (!capabilities) {
            const auto offer = consent ? consent->offer(origin) : std::nullopt;
            s.offered.clear();  // an offer stands only until the next attach
            json data = json::object();
            if (offer) {
                s.offered = origin;
                data["consent"] = true;
                if (offer->registrableDomain) {
                    data["registrableDomain"] = *offer->registrableDomain;
                }
            }
            spdlog::info("connection {} bridge attach refused origin={}{}", s.id,
                         service::clientText(origin), offer ? " (consent offered)" : "");
            refuse(s, id, "ORIGIN_NOT_ALLOWED", kAttachMethod, received, std::move(data));
            return;
        }
        completeAttach(s, id, origin, *capabilities, consented, kAttachMethod, received);
    }

    // bridge.consent: the user's decision, in the bridge window, on the origin last offered.
    void applyConsent(Session& s, const json& id, bool always, Clock::time_point received) {
        const std::string origin = std::exchange(s.offered, {});
        if (origin.empty() || !consent || !consent->offer(origin)) {
            refuse(s, id, "NOT_ATTACHED", kConsentMethod, received);
            return;
        }
        if (always) {
            try {
                consent->remember(origin);
            } catch (const std::exception& e) {
                // Allowed for this window all the same; the next one asks again.
                spdlog::error("consent of {} not stored: {}", service::clientText(origin),
                              e.what());
            }
        }
        spdlog::info("connection {} consent given origin={} ({})", s.id,
                     service::clientText(origin), always ? "always" : "once");
        completeAttach(s, id, origin, service::Capabilities::consented(), true, kConsentMethod,
                       received);
    }

    void completeAttach(Session& s, const json& id, const std::string& origin,
                        service::Capabilities capabilities, bool consented, std::string_view method,
                        Clock::time_point received) {
        s.attached = true;
        s.consented = consented;
        s.origin = origin;
        s.capabilities = capabilities;
        spdlog::info("connection {} bridge attached origin={}{}", s.id, service::clientText(origin),
                     consented ? " (user's consent)" : "");
        json result{{"origin", origin}, {"pagePins", settings.pagePins}};
        if (consented) {
            result["consented"] = true;
        }
        enqueue(s, resultMessage(id, std::move(result)));
        logRequest(s.origin, method, "ok", received);
    }

    service::Completion completionFor(const Session& s, json id, std::string method,
                                      Clock::time_point received) {
        auto answered = std::make_shared<std::atomic<bool>>(false);
        return [mailbox = mailbox, impl = this, connectionId = s.id, origin = s.origin,
                id = std::move(id), method = std::move(method), received,
                answered](std::optional<json> result, std::optional<service::ApiError> error) {
            if (answered->exchange(true)) {
                spdlog::error("{} answered twice; the second answer is dropped",
                              service::clientText(method));
                return;
            }
            std::string text;
            std::string outcome;
            try {
                if (error) {
                    outcome = error->reason;
                    if (outcome == "INTERNAL" && !error->data.contains("correlationId")) {
                        error->data["correlationId"] = correlationId();
                    }
                    text = errorMessage(id, *error);
                } else if (result) {
                    outcome = "ok";
                    text = resultMessage(id, *result);
                } else {
                    throw std::logic_error("completion without result or error");
                }
            } catch (const std::exception& e) {
                const std::string correlation = correlationId();
                spdlog::error("{} answer cannot be sent (correlation {}): {}",
                              service::clientText(method), correlation, e.what());
                outcome = "INTERNAL";
                text = errorMessage(id, "INTERNAL", {{"correlationId", correlation}});
            }
            logRequest(origin, method, outcome, received);
            mailbox->post([impl, connectionId, text = std::move(text)]() mutable {
                impl->deliverResponse(connectionId, std::move(text));
            });
        };
    }

    int onWriteable(lws* wsi, Session& s) {
        if (!s.outgoing.empty()) {
            std::string& framed = s.outgoing.front();
            const std::size_t length = framed.size() - LWS_PRE;
            const int written =
                lws_write(wsi, reinterpret_cast<unsigned char*>(framed.data()) + LWS_PRE, length,
                          LWS_WRITE_TEXT);
            if (written < 0) {
                return -1;
            }
            s.outgoing.pop_front();
            if (s.readingPaused && !draining && s.outgoing.size() <= kResumeReadingAt) {
                lws_rx_flow_control(wsi, 1);
                s.readingPaused = false;
            }
            if (!s.outgoing.empty() || s.closeCode != 0) {
                lws_callback_on_writable(wsi);
            }
            if (draining) {
                checkDrain();
            }
            return 0;
        }
        if (s.closeCode != 0) {
            lws_close_reason(wsi, static_cast<lws_close_status>(s.closeCode),
                             reinterpret_cast<unsigned char*>(s.closeReason.data()),
                             s.closeReason.size());
            return -1;
        }
        return 0;
    }

    int dispatch(lws* wsi, lws_callback_reasons reason, PerConnection* pc, void* in,
                 std::size_t len) {
        switch (reason) {
            case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
                return draining ? -1 : 0;
            case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
                return onConfirmUpgrade(wsi);
            case LWS_CALLBACK_HTTP:
                return onHttp(wsi, pc, std::string_view(static_cast<const char*>(in), len));
            case LWS_CALLBACK_HTTP_WRITEABLE:
                return onHttpWriteable(wsi, pc);
            case LWS_CALLBACK_HTTP_BODY:
                return onLocalProgramBody(wsi, pc, static_cast<const char*>(in), len);
            case LWS_CALLBACK_HTTP_BODY_COMPLETION:
                if (pc == nullptr || pc->post == nullptr) {
                    return -1;
                }
                if (!pc->post->called) {
                    callLocalProgram(*pc->post);
                }
                return 0;
            case LWS_CALLBACK_CLOSED_HTTP:
            case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
                endLocalProgram(wsi);
                return 0;
            case LWS_CALLBACK_ESTABLISHED:
                return onEstablished(wsi, pc);
            case LWS_CALLBACK_RECEIVE:
                if (pc == nullptr || pc->session == nullptr) {
                    return -1;
                }
                return onReceive(wsi, *pc->session, static_cast<char*>(in), len);
            case LWS_CALLBACK_SERVER_WRITEABLE:
                if (pc == nullptr || pc->session == nullptr) {
                    return 0;
                }
                return onWriteable(wsi, *pc->session);
            case LWS_CALLBACK_CLOSED:
                onClosed(pc);
                return 0;
            case LWS_CALLBACK_RAW_RX_FILE:
                return onInheritedListener(wsi);
            case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
                drainMailbox();
                return 0;
            default:
                return 0;
        }
    }

    // The one protocol callback of every vhost; no exception leaves it.
    static int lwsCallback(lws* wsi, lws_callback_reasons reason, void* user, void* in,
                           std::size_t len) {
        auto* impl = static_cast<Impl*>(lws_context_user(lws_get_context(wsi)));
        if (impl == nullptr) {
            return 0;
        }
        try {
            return impl->dispatch(wsi, reason, static_cast<PerConnection*>(user), in, len);
        } catch (const std::exception& e) {
            spdlog::error("network callback {} failed: {}", static_cast<int>(reason), e.what());
            return -1;
        }
    }
};

Server::Server(service::Api& api, ServerSettings settings, OriginLookup origins,
               std::shared_ptr<const service::ConsentPolicy> consent)
    : impl_(std::make_unique<Impl>(api, std::move(settings), std::move(origins),
                                   std::move(consent))) {}

Server::~Server() {
    stop(std::chrono::milliseconds(0));
}

void Server::start() {
    if (impl_->thread.joinable()) {
        throw ServerError("the server is already started");
    }
    lws_set_log_level(LLL_ERR | LLL_WARN, spdlogEmit);
    std::promise<void> started;
    auto ready = started.get_future();
    impl_->thread = std::thread([this, &started] { impl_->run(started); });
    try {
        ready.get();
    } catch (...) {
        impl_->thread.join();
        throw;
    }
}

const std::vector<Endpoint>& Server::endpoints() const {
    return impl_->endpoints;
}

void Server::replaceOrigins(OriginLookup origins) {
    Impl* impl = impl_.get();
    if (!impl->mailbox->post([impl, origins]() { impl->applyOrigins(origins); }) &&
        !impl->thread.joinable()) {
        impl->origins = std::move(origins);  // not started: nothing else reads it
    }
}

void Server::stop(std::chrono::milliseconds grace) {
    if (!impl_->thread.joinable()) {
        return;
    }
    Impl* impl = impl_.get();
    const auto deadline = Clock::now() + grace;
    impl->mailbox->post([impl, deadline] { impl->beginDrain(deadline); });
    impl->thread.join();
}

int Server::connectionCount() const {
    return impl_->openConnections.load();
}

}  // namespace tk::server
