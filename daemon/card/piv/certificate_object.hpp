#pragma once

#include <cstddef>
#include <optional>

#include "card/bytes.hpp"

namespace tk::card::piv {

// Largest certificate accepted after decompression (a PIV container holds at most a few KiB).
inline constexpr std::size_t kMaxCertificateSize = std::size_t{64} * 1024;

// The DER certificate inside a PIV certificate object (the value of 53: 70 certificate,
// 71 CertInfo, FE error detection code). CertInfo bit 0 set means the certificate is
// gzip-compressed; it is inflated here. Returns nullopt for an emptied object (no 70 or an
// empty one). Throws MalformedData for a broken container or compressed data.
std::optional<Bytes> certificateFromContainer(ByteView contents);

}  // namespace tk::card::piv
