#include "support/evp_md.hpp"

namespace tk::test {

const EVP_MD* evpMd(card::HashAlgorithm hash) {
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

}  // namespace tk::test
