#include "crypto/public_key.hpp"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include <string>

#include "crypto/detail/openssl.hpp"
#include "crypto/errors.hpp"

namespace tk::crypto {

using detail::openSslMessage;

namespace {

std::optional<card::KeyAlgorithm> classify(EVP_PKEY* key) {
    const int bits = EVP_PKEY_get_bits(key);
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
        switch (bits) {
            case 2048:
                return card::KeyAlgorithm::Rsa2048;
            case 3072:
                return card::KeyAlgorithm::Rsa3072;
            case 4096:
                return card::KeyAlgorithm::Rsa4096;
            default:
                return std::nullopt;
        }
    }
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {
        char group[64] = {};
        std::size_t length = 0;
        if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                           &length) != 1) {
            return std::nullopt;
        }
        const std::string name(group, length);
        if (name == "prime256v1" || name == "P-256") {
            return card::KeyAlgorithm::EcP256;
        }
        if (name == "secp384r1" || name == "P-384") {
            return card::KeyAlgorithm::EcP384;
        }
    }
    return std::nullopt;
}

std::shared_ptr<evp_pkey_st> share(EVP_PKEY* key) {
    return {key, [](EVP_PKEY* k) { EVP_PKEY_free(k); }};
}

}  // namespace

PublicKey::PublicKey(std::shared_ptr<evp_pkey_st> key)
    : key_(std::move(key)), algorithm_(classify(key_.get())) {}

PublicKey PublicKey::fromCertificate(card::ByteView der) {
    const unsigned char* p = der.data();
    detail::X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    if (!cert || p != der.data() + der.size()) {
        throw Error(openSslMessage("not a DER certificate"));
    }
    EVP_PKEY* key = X509_get_pubkey(cert.get());  // new reference
    if (key == nullptr) {
        throw Error(openSslMessage("certificate public key unreadable"));
    }
    return PublicKey(share(key));
}

PublicKey PublicKey::fromSubjectPublicKeyInfo(card::ByteView der) {
    const unsigned char* p = der.data();
    EVP_PKEY* key = d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));
    if (key == nullptr) {
        throw Error(openSslMessage("not a DER SubjectPublicKeyInfo"));
    }
    auto shared = share(key);
    if (p != der.data() + der.size()) {
        throw Error("trailing bytes after SubjectPublicKeyInfo");
    }
    return PublicKey(std::move(shared));
}

bool PublicKey::isRsa() const noexcept {
    return EVP_PKEY_get_base_id(key_.get()) == EVP_PKEY_RSA;
}

bool PublicKey::isEc() const noexcept {
    return EVP_PKEY_get_base_id(key_.get()) == EVP_PKEY_EC;
}

std::size_t PublicKey::bits() const noexcept {
    return static_cast<std::size_t>(EVP_PKEY_get_bits(key_.get()));
}

std::size_t PublicKey::sizeBytes() const noexcept {
    return (bits() + 7) / 8;
}

bool PublicKey::verifyDigest(card::SignatureScheme scheme, card::HashAlgorithm hash,
                             card::ByteView digest, card::ByteView signature) const {
    const bool rsaScheme = scheme != card::SignatureScheme::Ecdsa;
    if (rsaScheme != isRsa() || (!rsaScheme && !isEc())) {
        return false;
    }
    detail::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(key_.get(), nullptr));
    if (!ctx || EVP_PKEY_verify_init(ctx.get()) != 1) {
        throw Error(openSslMessage("verify init failed"));
    }
    if (rsaScheme) {
        const EVP_MD* md = detail::messageDigest(hash);
        const bool pss = scheme == card::SignatureScheme::RsaPss;
        if (EVP_PKEY_CTX_set_rsa_padding(ctx.get(),
                                         pss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING) != 1 ||
            EVP_PKEY_CTX_set_signature_md(ctx.get(), md) != 1 ||
            (pss && (EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), RSA_PSS_SALTLEN_DIGEST) != 1 ||
                     EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), md) != 1))) {
            throw Error(openSslMessage("verify parameters refused"));
        }
    }
    const int rc = EVP_PKEY_verify(ctx.get(), signature.data(), signature.size(), digest.data(),
                                   digest.size());
    ERR_clear_error();
    return rc == 1;
}

bool PublicKey::isCiphertextInRange(card::ByteView ciphertext) const {
    if (!isRsa()) {
        return false;
    }
    BIGNUM* n = nullptr;
    if (EVP_PKEY_get_bn_param(key_.get(), OSSL_PKEY_PARAM_RSA_N, &n) != 1) {
        throw Error(openSslMessage("RSA modulus unreadable"));
    }
    detail::BignumPtr modulus(n);
    detail::BignumPtr c(BN_bin2bn(ciphertext.data(), static_cast<int>(ciphertext.size()), nullptr));
    if (!c) {
        throw Error(openSslMessage("ciphertext to integer"));
    }
    return BN_cmp(c.get(), modulus.get()) < 0;
}

bool PublicKey::isPointOnCurve(card::ByteView point) const {
    if (!isEc() || point.size() != 2 * sizeBytes() + 1 || point[0] != 0x04) {
        return false;
    }
    char group[64] = {};
    std::size_t length = 0;
    if (EVP_PKEY_get_utf8_string_param(key_.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                       &length) != 1) {
        throw Error(openSslMessage("EC group unreadable"));
    }
    const int nid = OBJ_txt2nid(group);
    detail::EcGroupPtr ecGroup(EC_GROUP_new_by_curve_name(nid));
    if (!ecGroup) {
        throw Error(openSslMessage("EC group unknown"));
    }
    detail::EcPointPtr p(EC_POINT_new(ecGroup.get()));
    // oct2point rejects encodings of points that are not on the curve.
    const bool ok =
        p && EC_POINT_oct2point(ecGroup.get(), p.get(), point.data(), point.size(), nullptr) == 1 &&
        EC_POINT_is_on_curve(ecGroup.get(), p.get(), nullptr) == 1 &&
        EC_POINT_is_at_infinity(ecGroup.get(), p.get()) == 0;
    ERR_clear_error();
    return ok;
}

card::Bytes PublicKey::subjectPublicKeyInfo() const {
    const int length = i2d_PUBKEY(key_.get(), nullptr);
    if (length <= 0) {
        throw Error(openSslMessage("public key encoding failed"));
    }
    card::Bytes out(static_cast<std::size_t>(length));
    unsigned char* p = out.data();
    i2d_PUBKEY(key_.get(), &p);
    return out;
}

}  // namespace tk::crypto
