#include "vpcd_link.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace tk::vcard {

void FrameDecoder::feed(ByteView bytes) {
    append(buffer_, bytes);
}

std::optional<Bytes> FrameDecoder::next() {
    if (buffer_.size() < 2) {
        return std::nullopt;
    }
    const std::size_t length = (static_cast<std::size_t>(buffer_[0]) << 8) | buffer_[1];
    if (buffer_.size() < 2 + length) {
        return std::nullopt;
    }
    Bytes payload(buffer_.begin() + 2, buffer_.begin() + 2 + static_cast<std::ptrdiff_t>(length));
    Bytes rest(buffer_.begin() + 2 + static_cast<std::ptrdiff_t>(length), buffer_.end());
    wipe(buffer_);
    buffer_ = std::move(rest);
    return payload;
}

Bytes encode_frame(ByteView payload) {
    if (payload.empty() || payload.size() > 0xFFFF) {
        throw std::length_error("vpcd frame payload must be 1..65535 bytes");
    }
    Bytes out;
    out.reserve(payload.size() + 2);
    out.push_back(static_cast<std::uint8_t>(payload.size() >> 8));
    out.push_back(static_cast<std::uint8_t>(payload.size()));
    append(out, payload);
    return out;
}

namespace {
void set_low_latency(int fd) {
    // Without these every exchange waits for delayed ACKs (~40 ms per APDU).
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}
}  // namespace

std::optional<VpcdLink> VpcdLink::connect(const std::string& host, std::uint16_t port,
                                          std::string& error) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const std::string service = std::to_string(port);
    const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
    if (rc != 0) {
        error = "cannot resolve " + host + ": " + ::gai_strerror(rc);
        return std::nullopt;
    }
    error = "no address for " + host;
    for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
        const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            error = std::string("socket: ") + std::strerror(errno);
            continue;
        }
        if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
            ::freeaddrinfo(found);
            set_low_latency(fd);
            return VpcdLink(fd);
        }
        error = "connect to " + host;
        error += ":" + service + ": " + std::strerror(errno);
        ::close(fd);
    }
    ::freeaddrinfo(found);
    return std::nullopt;
}

VpcdLink::VpcdLink(int fd) : fd_(fd) {}

VpcdLink::VpcdLink(VpcdLink&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), decoder_(std::move(other.decoder_)) {}

VpcdLink& VpcdLink::operator=(VpcdLink&& other) noexcept {
    if (this != &other) {
        close_fd();
        fd_ = std::exchange(other.fd_, -1);
        decoder_ = std::move(other.decoder_);
    }
    return *this;
}

VpcdLink::~VpcdLink() {
    close_fd();
}

void VpcdLink::close_fd() noexcept {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

bool VpcdLink::read_available() {
    std::uint8_t buf[4096];
    ssize_t n = 0;
    do {
        n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return true;
    }
    if (n <= 0) {
        return false;
    }
    // Linux drops back to delayed ACKs after a while; re-arm after every read.
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
    decoder_.feed(ByteView(buf, static_cast<std::size_t>(n)));
    ::explicit_bzero(buf, static_cast<std::size_t>(n));
    return true;
}

void VpcdLink::send(ByteView payload) {
    const Bytes frame = encode_frame(payload);
    std::size_t done = 0;
    while (done < frame.size()) {
        const ssize_t n = ::send(fd_, frame.data() + done, frame.size() - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            throw std::runtime_error(std::string("send to vpcd: ") + std::strerror(errno));
        }
        done += static_cast<std::size_t>(n);
    }
}

std::pair<std::string, std::uint16_t> parse_endpoint(const std::string& text) {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string::npos) {
        if (text.empty()) {
            throw std::invalid_argument("empty vpcd address");
        }
        return {text, vpcd::kDefaultPort};
    }
    const std::string host = text.substr(0, colon);
    const std::string port = text.substr(colon + 1);
    std::size_t used = 0;
    unsigned long value = 0;
    try {
        value = std::stoul(port, &used, 10);
    } catch (const std::exception&) {
        used = 0;
    }
    if (host.empty() || port.empty() || used != port.size() || value == 0 || value > 0xFFFF) {
        throw std::invalid_argument("vpcd address must be HOST:PORT, got '" + text + "'");
    }
    return {host, static_cast<std::uint16_t>(value)};
}

}  // namespace tk::vcard
