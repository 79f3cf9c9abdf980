#include "crypto/detail/openssl.hpp"

#include <openssl/err.h>

namespace tk::crypto::detail {

std::string openSslMessage(const std::string& what) {
    const unsigned long code = ERR_peek_last_error();
    std::string out = what;
    if (code != 0) {
        char buf[256];
        ERR_error_string_n(code, buf, sizeof buf);
        out += ": ";
        out += buf;
    }
    ERR_clear_error();
    return out;
}

const EVP_MD* messageDigest(card::HashAlgorithm hash) noexcept {
    switch (hash) {
        case card::HashAlgorithm::Sha256:
            return EVP_sha256();
        case card::HashAlgorithm::Sha384:
            return EVP_sha384();
        case card::HashAlgorithm::Sha512:
            return EVP_sha512();
        case card::HashAlgorithm::Sha1:
            return EVP_sha1();
    }
    return nullptr;
}

}  // namespace tk::crypto::detail
