#include "card_crypto.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <cstring>

namespace tk::vcard {

namespace alg {
bool is_rsa(std::uint8_t a) {
    return rsa_bits(a) != 0;
}
bool is_ec(std::uint8_t a) {
    return ec_field_bytes(a) != 0;
}
bool is_symmetric(std::uint8_t a) {
    return symmetric_key_bytes(a) != 0;
}

unsigned rsa_bits(std::uint8_t a) {
    switch (a) {
        case kRsa2048:
            return 2048;
        case kRsa3072:
            return 3072;
        case kRsa4096:
            return 4096;
        default:
            return 0;
    }
}

std::size_t ec_field_bytes(std::uint8_t a) {
    switch (a) {
        case kEccP256:
            return 32;
        case kEccP384:
            return 48;
        default:
            return 0;
    }
}

const char* ec_group_name(std::uint8_t a) {
    switch (a) {
        case kEccP256:
            return "P-256";
        case kEccP384:
            return "P-384";
        default:
            return nullptr;
    }
}

std::size_t symmetric_key_bytes(std::uint8_t a) {
    switch (a) {
        case k3Des:
            return 24;
        case kAes128:
            return 16;
        case kAes192:
            return 24;
        case kAes256:
            return 32;
        default:
            return 0;
    }
}

std::size_t symmetric_block_bytes(std::uint8_t a) {
    if (a == k3Des) {
        return 8;
    }
    return is_symmetric(a) ? 16 : 0;
}
}  // namespace alg

namespace {

std::string openssl_error_text() {
    std::string text;
    unsigned long e = 0;
    while ((e = ERR_get_error()) != 0) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        if (!text.empty()) {
            text += "; ";
        }
        text += buf;
    }
    return text;
}

struct CtxDeleter {
    void operator()(EVP_PKEY_CTX* p) const noexcept { EVP_PKEY_CTX_free(p); }
    void operator()(EVP_CIPHER_CTX* p) const noexcept { EVP_CIPHER_CTX_free(p); }
    void operator()(BIO* p) const noexcept { BIO_free(p); }
    void operator()(BIGNUM* p) const noexcept { BN_clear_free(p); }
    void operator()(BN_CTX* p) const noexcept { BN_CTX_free(p); }
    void operator()(OSSL_PARAM_BLD* p) const noexcept { OSSL_PARAM_BLD_free(p); }
    void operator()(OSSL_PARAM* p) const noexcept { OSSL_PARAM_free(p); }
    void operator()(EC_GROUP* p) const noexcept { EC_GROUP_free(p); }
    void operator()(EC_POINT* p) const noexcept { EC_POINT_free(p); }
};
template <typename T>
using Owned = std::unique_ptr<T, CtxDeleter>;

void check(bool ok, const char* what) {
    if (!ok) {
        throw CryptoError(what);
    }
}

Owned<EVP_PKEY_CTX> ctx_for(EVP_PKEY* key) {
    Owned<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
    check(ctx != nullptr, "EVP_PKEY_CTX_new_from_pkey");
    return ctx;
}

Bytes bn_param(const EVP_PKEY* key, const char* name, std::size_t width) {
    BIGNUM* raw = nullptr;
    check(EVP_PKEY_get_bn_param(key, name, &raw) == 1, "EVP_PKEY_get_bn_param");
    Owned<BIGNUM> bn(raw);
    const int natural = BN_num_bytes(bn.get());
    const std::size_t size = width != 0 ? width : static_cast<std::size_t>(natural);
    Bytes out(size);
    check(BN_bn2binpad(bn.get(), out.data(), static_cast<int>(out.size())) >= 0, "BN_bn2binpad");
    return out;
}

Owned<BIGNUM> to_bn(ByteView data) {
    Owned<BIGNUM> bn(BN_bin2bn(data.data(), static_cast<int>(data.size()), nullptr));
    check(bn != nullptr, "BN_bin2bn");
    return bn;
}

Pkey pkey_from_params(const char* type, int selection, OSSL_PARAM_BLD* bld) {
    Owned<OSSL_PARAM> params(OSSL_PARAM_BLD_to_param(bld));
    check(params != nullptr, "OSSL_PARAM_BLD_to_param");
    Owned<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
    check(ctx != nullptr && EVP_PKEY_fromdata_init(ctx.get()) == 1, "EVP_PKEY_fromdata_init");
    EVP_PKEY* raw = nullptr;
    check(EVP_PKEY_fromdata(ctx.get(), &raw, selection, params.get()) == 1, "EVP_PKEY_fromdata");
    return Pkey(raw);
}

int nid_of_group(std::uint8_t algorithm) {
    return algorithm == alg::kEccP256 ? NID_X9_62_prime256v1 : NID_secp384r1;
}

const EVP_CIPHER* ecb_cipher(std::uint8_t algorithm) {
    switch (algorithm) {
        case alg::k3Des:
            return EVP_des_ede3_ecb();
        case alg::kAes128:
            return EVP_aes_128_ecb();
        case alg::kAes192:
            return EVP_aes_192_ecb();
        case alg::kAes256:
            return EVP_aes_256_ecb();
        default:
            throw CryptoError("not a management key algorithm");
    }
}

Bytes block_crypt(std::uint8_t algorithm, ByteView key, ByteView block, bool encrypt) {
    if (key.size() != alg::symmetric_key_bytes(algorithm) ||
        block.size() != alg::symmetric_block_bytes(algorithm)) {
        throw CryptoError("management key or block has the wrong size");
    }
    Owned<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
    check(ctx != nullptr, "EVP_CIPHER_CTX_new");
    check(EVP_CipherInit_ex(ctx.get(), ecb_cipher(algorithm), nullptr, key.data(), nullptr,
                            encrypt ? 1 : 0) == 1,
          "EVP_CipherInit_ex");
    EVP_CIPHER_CTX_set_padding(ctx.get(), 0);
    Bytes out(block.size());
    int len = 0;
    check(EVP_CipherUpdate(ctx.get(), out.data(), &len, block.data(),
                           static_cast<int>(block.size())) == 1,
          "EVP_CipherUpdate");
    int tail = 0;
    check(EVP_CipherFinal_ex(ctx.get(), out.data() + len, &tail) == 1, "EVP_CipherFinal_ex");
    const int total = len + tail;
    out.resize(static_cast<std::size_t>(total));
    return out;
}

}  // namespace

CryptoError::CryptoError(const std::string& what)
    : std::runtime_error([&] {
          std::string text = openssl_error_text();
          return text.empty() ? what : what + ": " + text;
      }()) {}

Pkey generate_key(std::uint8_t algorithm) {
    EVP_PKEY* key = nullptr;
    if (alg::is_rsa(algorithm)) {
        key = EVP_RSA_gen(alg::rsa_bits(algorithm));
    } else if (alg::is_ec(algorithm)) {
        key = EVP_EC_gen(alg::ec_group_name(algorithm));
    } else {
        throw CryptoError("unsupported key algorithm");
    }
    check(key != nullptr, "key generation");
    return Pkey(key);
}

Pkey pkey_from_pem(const std::string& pem) {
    Owned<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    check(bio != nullptr, "BIO_new_mem_buf");
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
    check(key != nullptr, "PEM_read_bio_PrivateKey");
    return Pkey(key);
}

namespace {
std::string bio_text(BIO* bio) {
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<std::size_t>(len));
}
}  // namespace

std::string pkey_to_pem(const EVP_PKEY* key) {
    Owned<BIO> bio(BIO_new(BIO_s_mem()));
    check(bio != nullptr &&
              PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
          "PEM_write_bio_PrivateKey");
    return bio_text(bio.get());
}

std::string public_key_to_pem(const EVP_PKEY* key) {
    Owned<BIO> bio(BIO_new(BIO_s_mem()));
    check(bio != nullptr && PEM_write_bio_PUBKEY(bio.get(), key) == 1, "PEM_write_bio_PUBKEY");
    return bio_text(bio.get());
}

Pkey share_pkey(EVP_PKEY* key) {
    check(EVP_PKEY_up_ref(key) == 1, "EVP_PKEY_up_ref");
    return Pkey(key);
}

std::optional<std::uint8_t> piv_algorithm_of(const EVP_PKEY* key) {
    if (EVP_PKEY_is_a(key, "RSA")) {
        switch (EVP_PKEY_get_bits(key)) {
            case 2048:
                return alg::kRsa2048;
            case 3072:
                return alg::kRsa3072;
            case 4096:
                return alg::kRsa4096;
            default:
                return std::nullopt;
        }
    }
    if (EVP_PKEY_is_a(key, "EC")) {
        char name[64] = {};
        std::size_t len = 0;
        if (EVP_PKEY_get_group_name(key, name, sizeof name, &len) != 1) {
            return std::nullopt;
        }
        const std::string group(name, len);
        if (group == "prime256v1" || group == "P-256") {
            return alg::kEccP256;
        }
        if (group == "secp384r1" || group == "P-384") {
            return alg::kEccP384;
        }
    }
    return std::nullopt;
}

Bytes rsa_raw_private(EVP_PKEY* key, ByteView block) {
    auto ctx = ctx_for(key);
    check(EVP_PKEY_decrypt_init(ctx.get()) == 1, "EVP_PKEY_decrypt_init");
    check(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_NO_PADDING) == 1, "set_rsa_padding");
    std::size_t len = 0;
    check(EVP_PKEY_decrypt(ctx.get(), nullptr, &len, block.data(), block.size()) == 1,
          "EVP_PKEY_decrypt");
    Bytes out(len);
    check(EVP_PKEY_decrypt(ctx.get(), out.data(), &len, block.data(), block.size()) == 1,
          "RSA private operation");
    out.resize(len);
    return out;
}

Bytes ecdsa_sign_digest(EVP_PKEY* key, ByteView digest) {
    auto ctx = ctx_for(key);
    check(EVP_PKEY_sign_init(ctx.get()) == 1, "EVP_PKEY_sign_init");
    std::size_t len = 0;
    check(EVP_PKEY_sign(ctx.get(), nullptr, &len, digest.data(), digest.size()) == 1,
          "EVP_PKEY_sign");
    Bytes out(len);
    check(EVP_PKEY_sign(ctx.get(), out.data(), &len, digest.data(), digest.size()) == 1,
          "ECDSA signature");
    out.resize(len);
    return out;
}

Bytes ecdh_shared_x(EVP_PKEY* key, ByteView peer_point) {
    char group[64] = {};
    std::size_t group_len = 0;
    check(EVP_PKEY_get_group_name(key, group, sizeof group, &group_len) == 1, "group name");
    Owned<OSSL_PARAM_BLD> bld(OSSL_PARAM_BLD_new());
    check(
        bld != nullptr &&
            OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) == 1 &&
            OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, peer_point.data(),
                                             peer_point.size()) == 1,
        "peer key parameters");
    Pkey peer = pkey_from_params("EC", EVP_PKEY_PUBLIC_KEY, bld.get());
    auto ctx = ctx_for(key);
    check(EVP_PKEY_derive_init(ctx.get()) == 1, "EVP_PKEY_derive_init");
    check(EVP_PKEY_derive_set_peer_ex(ctx.get(), peer.get(), 1) == 1, "peer point");
    std::size_t len = 0;
    check(EVP_PKEY_derive(ctx.get(), nullptr, &len) == 1, "EVP_PKEY_derive");
    Bytes out(len);
    check(EVP_PKEY_derive(ctx.get(), out.data(), &len) == 1, "ECDH");
    out.resize(len);
    return out;
}

Bytes rsa_modulus(const EVP_PKEY* key) {
    return bn_param(key, OSSL_PKEY_PARAM_RSA_N, static_cast<std::size_t>(EVP_PKEY_get_size(key)));
}

Bytes rsa_public_exponent(const EVP_PKEY* key) {
    return bn_param(key, OSSL_PKEY_PARAM_RSA_E, 0);
}

Bytes ec_public_point(const EVP_PKEY* key) {
    std::size_t len = 0;
    check(EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, nullptr, 0,
                                          &len) == 1,
          "public point size");
    Bytes out(len);
    check(EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, out.data(),
                                          out.size(), &len) == 1,
          "public point");
    out.resize(len);
    return out;
}

Pkey rsa_from_crt(ByteView p, ByteView q, ByteView dp, ByteView dq, ByteView qinv) {
    auto bp = to_bn(p);
    auto bq = to_bn(q);
    auto bdp = to_bn(dp);
    auto bdq = to_bn(dq);
    auto bqinv = to_bn(qinv);
    Owned<BN_CTX> bctx(BN_CTX_new());
    Owned<BIGNUM> n(BN_new());
    Owned<BIGNUM> e(BN_new());
    Owned<BIGNUM> d(BN_new());
    Owned<BIGNUM> p1(BN_new());
    Owned<BIGNUM> q1(BN_new());
    Owned<BIGNUM> phi(BN_new());
    check(bctx && n && e && d && p1 && q1 && phi, "BN_new");
    check(BN_mul(n.get(), bp.get(), bq.get(), bctx.get()) == 1 &&
              BN_set_word(e.get(), 65537) == 1 && BN_sub(p1.get(), bp.get(), BN_value_one()) == 1 &&
              BN_sub(q1.get(), bq.get(), BN_value_one()) == 1 &&
              BN_mul(phi.get(), p1.get(), q1.get(), bctx.get()) == 1,
          "RSA modulus");
    check(BN_mod_inverse(d.get(), e.get(), phi.get(), bctx.get()) != nullptr,
          "private exponent (is e = 65537?)");
    Owned<OSSL_PARAM_BLD> bld(OSSL_PARAM_BLD_new());
    check(bld != nullptr, "OSSL_PARAM_BLD_new");
    check(OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) == 1 &&
              OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) == 1 &&
              OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_D, d.get()) == 1 &&
              OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_FACTOR1, bp.get()) == 1 &&
              OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_FACTOR2, bq.get()) == 1 &&
              OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_EXPONENT1, bdp.get()) == 1 &&
              OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_EXPONENT2, bdq.get()) == 1 &&
              OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_COEFFICIENT1, bqinv.get()) == 1,
          "RSA parameters");
    Pkey key = pkey_from_params("RSA", EVP_PKEY_KEYPAIR, bld.get());
    auto ctx = ctx_for(key.get());
    check(EVP_PKEY_pairwise_check(ctx.get()) == 1, "RSA key consistency");
    return key;
}

Pkey ec_from_private(std::uint8_t algorithm, ByteView scalar) {
    if (!alg::is_ec(algorithm) || scalar.size() != alg::ec_field_bytes(algorithm)) {
        throw CryptoError("EC private scalar has the wrong size");
    }
    Owned<EC_GROUP> group(EC_GROUP_new_by_curve_name(nid_of_group(algorithm)));
    Owned<EC_POINT> point(group ? EC_POINT_new(group.get()) : nullptr);
    Owned<BN_CTX> bctx(BN_CTX_new());
    check(group && point && bctx, "EC group");
    auto priv = to_bn(scalar);
    check(!BN_is_zero(priv.get()) && BN_cmp(priv.get(), EC_GROUP_get0_order(group.get())) < 0,
          "EC private scalar out of range");
    check(EC_POINT_mul(group.get(), point.get(), priv.get(), nullptr, nullptr, bctx.get()) == 1,
          "EC_POINT_mul");
    Bytes pub(1 + 2 * scalar.size());
    check(EC_POINT_point2oct(group.get(), point.get(), POINT_CONVERSION_UNCOMPRESSED, pub.data(),
                             pub.size(), bctx.get()) == pub.size(),
          "EC_POINT_point2oct");
    Owned<OSSL_PARAM_BLD> bld(OSSL_PARAM_BLD_new());
    check(bld != nullptr &&
              OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME,
                                              alg::ec_group_name(algorithm), 0) == 1 &&
              OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, priv.get()) == 1 &&
              OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, pub.data(),
                                               pub.size()) == 1,
          "EC parameters");
    return pkey_from_params("EC", EVP_PKEY_KEYPAIR, bld.get());
}

Bytes block_encrypt(std::uint8_t algorithm, ByteView key, ByteView block) {
    return block_crypt(algorithm, key, block, true);
}

Bytes block_decrypt(std::uint8_t algorithm, ByteView key, ByteView block) {
    return block_crypt(algorithm, key, block, false);
}

Bytes random_bytes(std::size_t count) {
    Bytes out(count);
    check(RAND_bytes(out.data(), static_cast<int>(count)) == 1, "RAND_bytes");
    return out;
}

}  // namespace tk::vcard
