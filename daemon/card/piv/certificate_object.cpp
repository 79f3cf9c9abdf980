#include "card/piv/certificate_object.hpp"

#include <zlib.h>

#include "card/errors.hpp"
#include "card/tlv.hpp"

namespace tk::card::piv {

namespace {

constexpr std::uint8_t kCompressedGzip = 0x01;

Bytes inflateGzip(ByteView compressed) {
    z_stream stream{};
    // 15 + 32: maximum window, and accept either a gzip or a zlib header.
    if (inflateInit2(&stream, 15 + 32) != Z_OK) {
        throw MalformedData("zlib initialisation failed");
    }
    Bytes out(kMaxCertificateSize);
    stream.next_in = const_cast<Bytef*>(compressed.data());
    stream.avail_in = static_cast<uInt>(compressed.size());
    stream.next_out = out.data();
    stream.avail_out = static_cast<uInt>(out.size());
    const int rc = inflate(&stream, Z_FINISH);
    const std::size_t produced = out.size() - stream.avail_out;
    inflateEnd(&stream);
    if (rc != Z_STREAM_END) {
        throw MalformedData(rc == Z_BUF_ERROR && stream.avail_out == 0
                                ? "compressed certificate larger than allowed"
                                : "compressed certificate does not inflate");
    }
    out.resize(produced);
    return out;
}

}  // namespace

std::optional<Bytes> certificateFromContainer(ByteView contents) {
    const auto elements = parseTlvs(contents);
    std::optional<Tlv> certificate;
    std::optional<Tlv> info;
    for (const Tlv& tlv : elements) {
        if (tlv.tag == 0x70 && !certificate) {
            certificate = tlv;
        } else if (tlv.tag == 0x71 && !info) {
            info = tlv;
        }
    }
    if (!certificate || certificate->value.empty()) {
        return std::nullopt;
    }
    const bool compressed = info && !info->value.empty() && (info->value[0] & kCompressedGzip) != 0;
    if (compressed) {
        return inflateGzip(certificate->value);
    }
    return Bytes(certificate->value.begin(), certificate->value.end());
}

}  // namespace tk::card::piv
