#pragma once

#include "card/bytes.hpp"

namespace tk::cli {

// The uncompressed EC point (04 || X || Y) of a peer's public key given as a PEM or DER
// SubjectPublicKeyInfo, a PEM or DER certificate, or the raw point itself. Throws UsageError
// when the contents are none of these or not an EC key.
card::Bytes peerPointFromFile(card::ByteView contents);

}  // namespace tk::cli
