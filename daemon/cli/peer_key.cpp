#include "cli/peer_key.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

#include "cli/exit_status.hpp"

namespace tk::cli {
namespace {

struct PkeyFree {
    void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct X509Free {
    void operator()(X509* p) const noexcept { X509_free(p); }
};
struct BioFree {
    void operator()(BIO* p) const noexcept { BIO_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

Pkey parseKey(card::ByteView contents) {
    const auto bio = [&contents] {
        return std::unique_ptr<BIO, BioFree>(
            BIO_new_mem_buf(contents.data(), static_cast<int>(contents.size())));
    };
    if (auto b = bio(); Pkey key{PEM_read_bio_PUBKEY(b.get(), nullptr, nullptr, nullptr)}) {
        return key;
    }
    if (auto b = bio(); auto cert = std::unique_ptr<X509, X509Free>(
                            PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr))) {
        return Pkey(X509_get_pubkey(cert.get()));
    }
    const unsigned char* p = contents.data();
    if (Pkey key{d2i_PUBKEY(nullptr, &p, static_cast<long>(contents.size()))}) {
        return key;
    }
    p = contents.data();
    if (auto cert = std::unique_ptr<X509, X509Free>(
            d2i_X509(nullptr, &p, static_cast<long>(contents.size())))) {
        return Pkey(X509_get_pubkey(cert.get()));
    }
    return nullptr;
}

}  // namespace

card::Bytes peerPointFromFile(card::ByteView contents) {
    // A raw point: 04 || X || Y for P-256 or P-384.
    if ((contents.size() == 65 || contents.size() == 97) && contents[0] == 0x04) {
        return card::Bytes(contents.begin(), contents.end());
    }
    const Pkey key = parseKey(contents);
    if (!key) {
        throw UsageError("--peer: not a public key, certificate or EC point");
    }
    if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_EC) {
        throw UsageError("--peer: not an EC public key");
    }
    // Uncompressed, whatever form the key was stored in.
    EVP_PKEY_set_utf8_string_param(key.get(), OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                   "uncompressed");
    std::size_t length = 0;
    if (EVP_PKEY_get_octet_string_param(key.get(), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, nullptr, 0,
                                        &length) != 1) {
        throw UsageError("--peer: cannot read the EC point");
    }
    card::Bytes point(length);
    if (EVP_PKEY_get_octet_string_param(key.get(), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point.data(),
                                        point.size(), &length) != 1) {
        throw UsageError("--peer: cannot read the EC point");
    }
    point.resize(length);
    return point;
}

}  // namespace tk::cli
