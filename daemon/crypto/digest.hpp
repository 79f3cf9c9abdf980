#pragma once

#include "card/algorithms.hpp"
#include "card/bytes.hpp"

namespace tk::crypto {

card::Bytes digest(card::HashAlgorithm hash, card::ByteView data);

}  // namespace tk::crypto
