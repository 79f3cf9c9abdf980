#pragma once

#include <openssl/evp.h>

#include "card/algorithms.hpp"

namespace tk::test {

// OpenSSL's digest for a card hash algorithm, chosen independently of daemon/crypto.
const EVP_MD* evpMd(card::HashAlgorithm hash);

}  // namespace tk::test
