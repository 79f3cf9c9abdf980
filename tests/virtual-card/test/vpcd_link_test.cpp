#include <poll.h>

#include <thread>

#include "fake_vpcd.hpp"
#include "test_card.hpp"
#include "vpcd_link.hpp"

namespace tk::vcard::test {
namespace {

using namespace std::chrono_literals;

std::optional<Bytes> wait_frame(VpcdLink& link, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (auto frame = link.next_frame()) {
            return frame;
        }
        pollfd p{link.fd(), POLLIN, 0};
        if (::poll(&p, 1, 50) == 1 && !link.read_available()) {
            return std::nullopt;
        }
    }
    return std::nullopt;
}

TEST(FrameDecoder, ByteByByte_ReassemblesFrame) {
    FrameDecoder decoder;
    const Bytes wire = hex("0005 00a4040000");
    for (std::size_t i = 0; i < wire.size(); ++i) {
        EXPECT_FALSE(decoder.next()) << "after " << i << " bytes";
        decoder.feed(ByteView(wire).subspan(i, 1));
    }
    EXPECT_EQ(decoder.next(), hex("00a4040000"));
    EXPECT_FALSE(decoder.next());
    EXPECT_EQ(decoder.buffered(), 0u);
}

TEST(FrameDecoder, SeveralFramesInOneRead_SplitsThem) {
    FrameDecoder decoder;
    decoder.feed(hex("000101 000104 0004 0020"));
    EXPECT_EQ(decoder.next(), hex("01"));
    EXPECT_EQ(decoder.next(), hex("04"));
    EXPECT_FALSE(decoder.next()) << "third frame incomplete";
    decoder.feed(hex("0080"));
    EXPECT_EQ(decoder.next(), hex("00200080"));
}

TEST(FrameDecoder, EncodeFrame_RefusesEmptyAndOversizedPayloads) {
    EXPECT_EQ(encode_frame(hex("3b800181")), hex("00043b800181"));
    EXPECT_THROW(encode_frame(Bytes{}), std::length_error);
    EXPECT_THROW(encode_frame(Bytes(65536, 0)), std::length_error);
    EXPECT_EQ(encode_frame(Bytes(65535, 0)).size(), 65537u);
}

TEST(VpcdLink, OverTcp_HeaderAndBodyInSeparateSegments) {
    FakeVpcd vpcd;
    std::string error;
    auto link = VpcdLink::connect("127.0.0.1", vpcd.port(), error);
    ASSERT_TRUE(link) << error;
    ASSERT_TRUE(vpcd.accept(2s));
    vpcd.send_frame(hex("04"));
    EXPECT_EQ(wait_frame(*link, 2s), hex("04"));
    const Bytes big(3000, 0x5A);
    vpcd.send_frame(big);
    EXPECT_EQ(wait_frame(*link, 2s), big);
    link->send(hex("3b800181"));
    EXPECT_EQ(vpcd.receive_frame(2s), hex("3b800181"));
}

TEST(VpcdLink, PeerCloses_ReadReportsIt) {
    FakeVpcd vpcd;
    std::string error;
    auto link = VpcdLink::connect("127.0.0.1", vpcd.port(), error);
    ASSERT_TRUE(link);
    ASSERT_TRUE(vpcd.accept(2s));
    vpcd.close_connection();
    pollfd p{link->fd(), POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 2000), 1);
    EXPECT_FALSE(link->read_available());
}

TEST(VpcdLink, NobodyListening_ConnectFailsWithReason) {
    std::uint16_t port = 0;
    {
        FakeVpcd closed;
        port = closed.port();
    }
    std::string error;
    EXPECT_FALSE(VpcdLink::connect("127.0.0.1", port, error));
    EXPECT_NE(error.find("refused"), std::string::npos) << error;
}

TEST(VpcdLink, ParseEndpoint_HostAndPort) {
    EXPECT_EQ(parse_endpoint("127.0.0.1:35964"),
              std::make_pair(std::string("127.0.0.1"), std::uint16_t{35964}));
    EXPECT_EQ(parse_endpoint("localhost").second, 35963);
    EXPECT_THROW(parse_endpoint("127.0.0.1:"), std::invalid_argument);
    EXPECT_THROW(parse_endpoint("127.0.0.1:70000"), std::invalid_argument);
    EXPECT_THROW(parse_endpoint(":35963"), std::invalid_argument);
    EXPECT_THROW(parse_endpoint("host:12ab"), std::invalid_argument);
}

}  // namespace
}  // namespace tk::vcard::test
