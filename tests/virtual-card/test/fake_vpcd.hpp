#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "bytes.hpp"

namespace tk::vcard::test {

// The vpcd end of the socket: listens on 127.0.0.1 (ephemeral port) and speaks the
// 2-byte-length framing, sending header and body as separate segments like Debian's vpcd.
class FakeVpcd {
  public:
    FakeVpcd();
    FakeVpcd(const FakeVpcd&) = delete;
    FakeVpcd& operator=(const FakeVpcd&) = delete;
    FakeVpcd(FakeVpcd&&) = delete;
    FakeVpcd& operator=(FakeVpcd&&) = delete;
    ~FakeVpcd();

    std::uint16_t port() const { return port_; }
    bool accept(std::chrono::milliseconds timeout);
    void close_connection();
    void send_frame(ByteView payload);
    std::optional<Bytes> receive_frame(std::chrono::milliseconds timeout);
    // Exchanges one APDU or control byte; nullopt if no answer came.
    std::optional<Bytes> exchange(ByteView payload,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(5));
    bool peer_closed(std::chrono::milliseconds timeout);

  private:
    bool read_exact(std::uint8_t* out, std::size_t size,
                    std::chrono::steady_clock::time_point deadline);

    int listen_fd_ = -1;
    int conn_fd_ = -1;
    std::uint16_t port_ = 0;
};

// One line in, one line out over the card's control socket.
std::string control_command(const std::filesystem::path& socket, const std::string& line);

}  // namespace tk::vcard::test
