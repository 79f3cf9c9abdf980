// tk-bench: a load generator for tenderkeyd's WebSocket API.
//
//   tk-bench [--port N] [--origin O] [--method system.info|sign] [--connections N]
//            [--in-flight K] [--seconds S | --requests N] [--slot 9c] [--pin PIN]
//            [--check] [--label TEXT]
//   tk-bench --port N --wait-ready SECONDS [--wait-card]
//   tk-bench --port N --events N --control SOCKET
//
// Load: N connections, each on its own thread with K requests in flight, for S seconds or
// until N requests in all were answered. Prints one line:
//   label=... method=... connections=N in_flight=K requests=R errors=E seconds=T
//   throughput=X/s p50_ms=... p99_ms=... max_ms=...
// --check exits 1 unless requests > 0, errors = 0 and 0 < p50 <= p99 <= max.
//
// --wait-ready: retries until a WebSocket handshake succeeds and system.info answers (with
// --wait-card: until readers.list shows a card with an id); prints ready_ns=<CLOCK_REALTIME>.
//
// --events: subscribes to events, then N times pulls the card and puts it back through the
// virtual card's control socket, and prints the time from the insert command to the
// card.inserted event (p50/p99/max, milliseconds).
//
// The client is written over a plain socket (masked frames, one JSON parse per answer) so
// that it costs the shared CPU as little as possible.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/test_env.hpp"

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct Options {
    std::uint16_t port = 61261;
    std::string origin = "https://portal.example.gov.tw";
    std::string method = "system.info";
    int connections = 1;
    int inFlight = 1;
    double seconds = 5;
    long requests = 0;
    std::string slot = "9c";
    std::string pin = "123456";
    bool check = false;
    std::string label = "-";
    double waitReady = 0;
    bool waitCard = false;
    int events = 0;
    std::string control;
};

// A WebSocket client connection, blocking I/O.
class Connection {
  public:
    Connection(std::uint16_t port, const std::string& origin) {
        fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd_ < 0 || connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
            closeFd();
            throw std::runtime_error("cannot connect to port " + std::to_string(port));
        }
        const int one = 1;
        setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        const std::string request = "GET / HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                                    "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                    "Sec-WebSocket-Version: 13\r\n"
                                    "Sec-WebSocket-Protocol: tenderkey.v1\r\nOrigin: " +
                                    origin + "\r\n\r\n";
        writeAll(request);
        std::size_t end = std::string::npos;
        while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
            fill();
        }
        if (buffer_.compare(0, 12, "HTTP/1.1 101") != 0) {
            const std::string status = buffer_.substr(0, buffer_.find("\r\n"));
            closeFd();
            throw std::runtime_error("handshake refused: " + status);
        }
        buffer_.erase(0, end + 4);
    }
    ~Connection() { closeFd(); }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    void sendText(const std::string& text) {
        std::string frame;
        frame.reserve(text.size() + 14);
        frame += static_cast<char>(0x81);
        if (text.size() < 126) {
            frame += static_cast<char>(0x80 | text.size());
        } else if (text.size() < 65536) {
            frame += static_cast<char>(0x80 | 126);
            frame += static_cast<char>(text.size() >> 8);
            frame += static_cast<char>(text.size() & 0xff);
        } else {
            frame += static_cast<char>(0x80 | 127);
            for (int shift = 56; shift >= 0; shift -= 8) {
                frame +=
                    static_cast<char>((static_cast<std::uint64_t>(text.size()) >> shift) & 0xff);
            }
        }
        static constexpr unsigned char kMask[4] = {0x3a, 0x91, 0x5c, 0xe7};
        frame.append(reinterpret_cast<const char*>(kMask), 4);
        for (std::size_t i = 0; i < text.size(); ++i) {
            frame += static_cast<char>(text[i] ^ kMask[i % 4]);
        }
        writeAll(frame);
    }

    // The next text message (pings answered, fragments joined).
    std::string readText() {
        std::string message;
        while (true) {
            while (buffer_.size() < 2) {
                fill();
            }
            const auto b0 = static_cast<unsigned char>(buffer_[0]);
            const auto b1 = static_cast<unsigned char>(buffer_[1]);
            std::size_t header = 2;
            std::uint64_t length = b1 & 0x7f;
            if (length == 126) {
                header = 4;
            } else if (length == 127) {
                header = 10;
            }
            while (buffer_.size() < header) {
                fill();
            }
            if (header > 2) {
                length = 0;
                for (std::size_t i = 2; i < header; ++i) {
                    length = (length << 8) | static_cast<unsigned char>(buffer_[i]);
                }
            }
            while (buffer_.size() < header + length) {
                fill();
            }
            const int opcode = b0 & 0x0f;
            const std::string payload = buffer_.substr(header, length);
            buffer_.erase(0, header + length);
            if (opcode == 8) {
                throw std::runtime_error("the daemon closed the connection");
            }
            if (opcode == 9) {
                std::string pong{static_cast<char>(0x8a), static_cast<char>(0x80)};
                pong.append(4, '\0');
                writeAll(pong);
                continue;
            }
            if (opcode == 10) {
                continue;
            }
            message += payload;
            if (b0 & 0x80) {
                return message;
            }
        }
    }

    json call(const std::string& method, const json& params = nullptr) {
        json request{{"jsonrpc", "2.0"}, {"id", 0}, {"method", method}};
        if (!params.is_null()) {
            request["params"] = params;
        }
        sendText(request.dump());
        while (true) {
            json answer = json::parse(readText());
            if (answer.contains("id") && answer["id"] == 0) {
                return answer;
            }
        }
    }

  private:
    void fill() {
        char chunk[65536];
        const ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
        if (n <= 0) {
            throw std::runtime_error("connection closed by the daemon");
        }
        buffer_.append(chunk, static_cast<std::size_t>(n));
    }
    void writeAll(const std::string& bytes) {
        std::size_t done = 0;
        while (done < bytes.size()) {
            const ssize_t n = send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
            if (n <= 0) {
                throw std::runtime_error("send failed");
            }
            done += static_cast<std::size_t>(n);
        }
    }
    void closeFd() {
        if (fd_ >= 0) {
            close(fd_);
            fd_ = -1;
        }
    }

    int fd_ = -1;
    std::string buffer_;
};

double percentile(std::vector<double>& sorted, double p) {
    if (sorted.empty()) {
        return 0;
    }
    const auto rank = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
    return sorted[std::min(rank, sorted.size() - 1)];
}

// The request template: "...\"id\":" + id + rest.
struct RequestText {
    std::string head;
    std::string tail;
};

RequestText requestText(const Options& o, Connection& probe) {
    json params = nullptr;
    if (o.method == "sign") {
        std::string id;
        for (int attempt = 0; attempt < 200 && id.empty(); ++attempt) {
            const json list = probe.call("certificates.list");
            if (list.contains("result")) {
                for (const auto& cert : list["result"]["certificates"]) {
                    if (cert["slot"] == o.slot) {
                        id = cert["id"];
                    }
                }
            }
            if (id.empty()) {
                std::this_thread::sleep_for(50ms);
            }
        }
        if (id.empty()) {
            throw std::runtime_error("no certificate in slot " + o.slot);
        }
        // base64 of "TenderKey benchmark: bid 2025-0042."
        params = {{"certificateId", id},
                  {"pin", o.pin},
                  {"data", "VGVuZGVyS2V5IGJlbmNobWFyazogYmlkIDIwMjUtMDA0Mi4="}};
    }
    json request{{"jsonrpc", "2.0"}, {"method", o.method}};
    if (!params.is_null()) {
        request["params"] = params;
    }
    std::string body = request.dump();  // {"jsonrpc":"2.0","method":...}
    return {R"({"id":)", "," + body.substr(1)};
}

int runLoad(const Options& o) {
    Connection probe(o.port, o.origin);
    const RequestText text = requestText(o, probe);
    std::vector<std::unique_ptr<Connection>> connections;
    for (int i = 0; i < o.connections; ++i) {
        connections.push_back(std::make_unique<Connection>(o.port, o.origin));
    }
    std::atomic<long> budget{o.requests > 0 ? o.requests : -1};
    std::atomic<bool> stop{false};
    std::atomic<long> errors{0};
    std::mutex mutex;
    std::vector<double> latencies;
    std::string failure;
    const auto start = Clock::now();
    const auto end = start + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(o.seconds));
    std::vector<std::thread> threads;
    for (int i = 0; i < o.connections; ++i) {
        threads.emplace_back([&, i] {
            Connection& c = *connections[static_cast<std::size_t>(i)];
            std::vector<double> mine;
            std::map<long, Clock::time_point> sent;
            long nextId = 1;
            long myErrors = 0;
            const auto take = [&] {
                if (o.requests > 0) {
                    return budget.fetch_sub(1) > 0;
                }
                return !stop && Clock::now() < end;
            };
            try {
                for (int k = 0; k < o.inFlight && take(); ++k) {
                    sent[nextId] = Clock::now();
                    c.sendText(text.head + std::to_string(nextId++) + text.tail);
                }
                while (!sent.empty()) {
                    const json answer = json::parse(c.readText());
                    const auto now = Clock::now();
                    if (!answer.contains("id") || !answer["id"].is_number_integer()) {
                        continue;  // an event
                    }
                    const auto it = sent.find(answer["id"].get<long>());
                    if (it == sent.end()) {
                        ++myErrors;  // an answer to nothing, or a second one
                        continue;
                    }
                    mine.push_back(
                        std::chrono::duration<double, std::milli>(now - it->second).count());
                    sent.erase(it);
                    if (!answer.contains("result")) {
                        ++myErrors;
                        std::lock_guard lock(mutex);
                        if (failure.empty()) {
                            failure = answer.dump().substr(0, 300);
                        }
                    }
                    if (take()) {
                        sent[nextId] = Clock::now();
                        c.sendText(text.head + std::to_string(nextId++) + text.tail);
                    }
                }
            } catch (const std::exception& e) {
                ++myErrors;
                std::lock_guard lock(mutex);
                failure = e.what();
            }
            errors += myErrors;
            std::lock_guard lock(mutex);
            latencies.insert(latencies.end(), mine.begin(), mine.end());
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    std::sort(latencies.begin(), latencies.end());
    const double p50 = percentile(latencies, 0.50);
    const double p99 = percentile(latencies, 0.99);
    const double max = latencies.empty() ? 0 : latencies.back();
    std::printf(
        "label=%s method=%s connections=%d in_flight=%d requests=%zu errors=%ld seconds=%.3f "
        "throughput=%.1f/s p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
        o.label.c_str(), o.method.c_str(), o.connections, o.inFlight, latencies.size(),
        errors.load(), seconds, static_cast<double>(latencies.size()) / seconds, p50, p99, max);
    if (!failure.empty()) {
        std::fprintf(stderr, "tk-bench: first failure: %s\n", failure.c_str());
    }
    if (o.check && (latencies.empty() || errors != 0 || !(p50 > 0 && p50 <= p99 && p99 <= max))) {
        std::fprintf(stderr, "tk-bench: check failed\n");
        return 1;
    }
    return 0;
}

long long realtimeNs() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

bool cardVisible(Connection& c) {
    const json r = c.call("readers.list");
    if (!r.contains("result")) {
        return false;
    }
    for (const auto& reader : r["result"]["readers"]) {
        if (reader.value("cardPresent", false) && reader.contains("card") &&
            reader["card"].contains("id") && reader["card"]["id"].is_string()) {
            return true;
        }
    }
    return false;
}

int waitReady(const Options& o) {
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(o.waitReady));
    while (Clock::now() < deadline) {
        try {
            Connection c(o.port, o.origin);
            if (c.call("system.info").contains("result") && (!o.waitCard || cardVisible(c))) {
                std::printf("ready_ns=%lld\n", realtimeNs());
                return 0;
            }
        } catch (const std::exception&) {
            // not listening yet
        }
        std::this_thread::sleep_for(1ms);
    }
    std::fprintf(stderr, "tk-bench: not ready in time\n");
    return 1;
}

std::string nextEventType(Connection& c) {
    while (true) {
        const json m = json::parse(c.readText());
        if (m.value("method", "") == "event") {
            return m["params"].value("type", "");
        }
    }
}

int runEvents(const Options& o) {
    Connection c(o.port, o.origin);
    if (!c.call("events.subscribe").contains("result")) {
        throw std::runtime_error("events.subscribe failed");
    }
    std::vector<double> removed;
    std::vector<double> inserted;
    for (int i = 0; i < o.events; ++i) {
        auto t0 = Clock::now();
        tk::test::controlCard(o.control, "remove");
        while (nextEventType(c) != "card.removed") {
        }
        removed.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        std::this_thread::sleep_for(200ms);
        t0 = Clock::now();
        tk::test::controlCard(o.control, "insert");
        while (nextEventType(c) != "card.inserted") {
        }
        inserted.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        std::this_thread::sleep_for(200ms);
    }
    for (auto* v : {&inserted, &removed}) {
        std::sort(v->begin(), v->end());
        std::printf("label=%s event=%s samples=%zu p50_ms=%.1f p99_ms=%.1f max_ms=%.1f\n",
                    o.label.c_str(), v == &inserted ? "card.inserted" : "card.removed", v->size(),
                    percentile(*v, 0.5), percentile(*v, 0.99), v->back());
    }
    return 0;
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const auto value = [&]() -> std::string {
            if (i + 1 >= argc) {
                throw std::invalid_argument(a + " needs a value");
            }
            return argv[++i];
        };
        if (a == "--port") {
            o.port = static_cast<std::uint16_t>(std::stoi(value()));
        } else if (a == "--origin") {
            o.origin = value();
        } else if (a == "--method") {
            o.method = value();
        } else if (a == "--connections") {
            o.connections = std::stoi(value());
        } else if (a == "--in-flight") {
            o.inFlight = std::stoi(value());
        } else if (a == "--seconds") {
            o.seconds = std::stod(value());
        } else if (a == "--requests") {
            o.requests = std::stol(value());
        } else if (a == "--slot") {
            o.slot = value();
        } else if (a == "--pin") {
            o.pin = value();
        } else if (a == "--check") {
            o.check = true;
        } else if (a == "--label") {
            o.label = value();
        } else if (a == "--wait-ready") {
            o.waitReady = std::stod(value());
        } else if (a == "--wait-card") {
            o.waitCard = true;
        } else if (a == "--events") {
            o.events = std::stoi(value());
        } else if (a == "--control") {
            o.control = value();
        } else {
            throw std::invalid_argument("unknown option " + a);
        }
    }
    if (o.connections < 1 || o.inFlight < 1 || o.inFlight > 8) {
        throw std::invalid_argument("--connections >= 1, --in-flight 1..8");
    }
    if (o.method != "system.info" && o.method != "sign") {
        throw std::invalid_argument("--method system.info|sign");
    }
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    try {
        o = parse(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "tk-bench: %s (see the header of tests/bench/tk_bench.cpp)\n",
                     e.what());
        return 2;
    }
    try {
        if (o.waitReady > 0) {
            return waitReady(o);
        }
        if (o.events > 0) {
            return runEvents(o);
        }
        return runLoad(o);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "tk-bench: %s\n", e.what());
        return 1;
    }
}
