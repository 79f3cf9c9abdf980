#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "bytes.hpp"

namespace tk::vcard {

// vpcd control bytes (a payload of length 1 is a control message).
namespace vpcd {
constexpr std::uint8_t kPowerOff = 0x00;
constexpr std::uint8_t kPowerOn = 0x01;
constexpr std::uint8_t kReset = 0x02;
constexpr std::uint8_t kGetAtr = 0x04;
constexpr std::uint16_t kDefaultPort = 35963;
}  // namespace vpcd

// Reassembles vpcd frames (2-byte big-endian length, then payload) from whatever pieces the
// stream delivers: a header split from its body, or several frames in one read.
class FrameDecoder {
  public:
    FrameDecoder() = default;
    FrameDecoder(const FrameDecoder&) = delete;
    FrameDecoder& operator=(const FrameDecoder&) = delete;
    FrameDecoder(FrameDecoder&&) noexcept = default;
    FrameDecoder& operator=(FrameDecoder&&) noexcept = default;
    ~FrameDecoder() { wipe(buffer_); }

    void feed(ByteView bytes);
    std::optional<Bytes> next();  // the next complete payload, if any
    std::size_t buffered() const { return buffer_.size(); }

  private:
    Bytes buffer_;
};

// Header + payload; throws std::length_error for an empty or over-long payload (an empty
// reply would make vpcd drop the card).
Bytes encode_frame(ByteView payload);

// The TCP connection to vpcd: one per inserted card. Closing it removes the card.
class VpcdLink {
  public:
    // One connection attempt; nullopt with `error` set when nobody listens.
    static std::optional<VpcdLink> connect(const std::string& host, std::uint16_t port,
                                           std::string& error);
    // Wraps an already connected stream socket (takes ownership).
    explicit VpcdLink(int fd);

    VpcdLink(const VpcdLink&) = delete;
    VpcdLink& operator=(const VpcdLink&) = delete;
    VpcdLink(VpcdLink&& other) noexcept;
    VpcdLink& operator=(VpcdLink&& other) noexcept;
    ~VpcdLink();

    int fd() const { return fd_; }

    // Reads what the socket has (call when poll reports it readable). False when the peer
    // closed the connection or it failed.
    bool read_available();
    std::optional<Bytes> next_frame() { return decoder_.next(); }
    std::size_t buffered() const { return decoder_.buffered(); }

    // Sends one frame; throws std::runtime_error when the connection is gone.
    void send(ByteView payload);

  private:
    void close_fd() noexcept;

    int fd_ = -1;
    FrameDecoder decoder_;
};

// "host:port" or "host" (default port); throws std::invalid_argument.
std::pair<std::string, std::uint16_t> parse_endpoint(const std::string& text);

}  // namespace tk::vcard
