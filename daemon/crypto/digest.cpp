#include "crypto/digest.hpp"

#include "crypto/detail/openssl.hpp"
#include "crypto/errors.hpp"

namespace tk::crypto {

card::Bytes digest(card::HashAlgorithm hash, card::ByteView data) {
    card::Bytes out(EVP_MAX_MD_SIZE);
    unsigned int length = 0;
    if (EVP_Digest(data.data(), data.size(), out.data(), &length, detail::messageDigest(hash),
                   nullptr) != 1) {
        throw Error(detail::openSslMessage("digest failed"));
    }
    out.resize(length);
    return out;
}

}  // namespace tk::crypto
