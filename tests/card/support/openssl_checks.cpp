#include "support/openssl_checks.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <memory>
#include <stdexcept>

#include "support/evp_md.hpp"

namespace tk::test {
namespace {

template <auto Free>
struct Deleter {
    template <class T>
    void operator()(T* p) const noexcept {
        Free(p);
    }
};
using Pkey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509_free>>;

Pkey publicKey(card::ByteView der) {
    const unsigned char* p = der.data();
    Cert cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    if (!cert) {
        throw std::runtime_error("OpenSSL cannot parse the certificate");
    }
    Pkey key(X509_get_pubkey(cert.get()));
    if (!key) {
        throw std::runtime_error("OpenSSL cannot read the certificate's key");
    }
    return key;
}

void check(int ok, const char* what) {
    if (ok <= 0) {
        throw std::runtime_error(std::string("OpenSSL: ") + what + " failed");
    }
}

}  // namespace

card::Bytes opensslDigest(card::HashAlgorithm hash, card::ByteView message) {
    card::Bytes out(static_cast<std::size_t>(EVP_MD_get_size(evpMd(hash))));
    unsigned int n = 0;
    check(EVP_Digest(message.data(), message.size(), out.data(), &n, evpMd(hash), nullptr),
          "EVP_Digest");
    out.resize(n);
    return out;
}

bool opensslVerifies(card::ByteView certificateDer, card::SignatureScheme scheme,
                     card::HashAlgorithm hash, card::ByteView message, card::ByteView signature) {
    const Pkey key = publicKey(certificateDer);
    MdCtx ctx(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pctx = nullptr;
    check(EVP_DigestVerifyInit(ctx.get(), &pctx, evpMd(hash), nullptr, key.get()),
          "EVP_DigestVerifyInit");
    if (scheme == card::SignatureScheme::RsaPss) {
        check(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), "PSS padding");
        check(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST), "PSS salt length");
        check(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, evpMd(hash)), "MGF1 hash");
    } else if (scheme == card::SignatureScheme::RsaPkcs1v15) {
        check(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING), "PKCS#1 padding");
    }
    return EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(),
                            message.size()) == 1;
}

card::Bytes opensslEncrypt(card::ByteView certificateDer, card::RsaDecryptPadding padding,
                           card::HashAlgorithm oaepHash, card::ByteView plaintext) {
    const Pkey key = publicKey(certificateDer);
    PkeyCtx ctx(EVP_PKEY_CTX_new(key.get(), nullptr));
    check(EVP_PKEY_encrypt_init(ctx.get()), "EVP_PKEY_encrypt_init");
    if (padding == card::RsaDecryptPadding::Oaep) {
        check(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING), "OAEP");
        check(EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), evpMd(oaepHash)), "OAEP hash");
        check(EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), evpMd(oaepHash)), "MGF1 hash");
    } else {
        check(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING), "PKCS#1 padding");
    }
    std::size_t n = 0;
    check(EVP_PKEY_encrypt(ctx.get(), nullptr, &n, plaintext.data(), plaintext.size()),
          "EVP_PKEY_encrypt (size)");
    card::Bytes out(n);
    check(EVP_PKEY_encrypt(ctx.get(), out.data(), &n, plaintext.data(), plaintext.size()),
          "EVP_PKEY_encrypt");
    out.resize(n);
    return out;
}

EcdhPeer opensslEcdhPeer(card::ByteView certificateDer) {
    const Pkey cardKey = publicKey(certificateDer);
    char curve[64] = {};
    std::size_t curveLength = 0;
    check(EVP_PKEY_get_utf8_string_param(cardKey.get(), OSSL_PKEY_PARAM_GROUP_NAME, curve,
                                         sizeof curve, &curveLength),
          "curve name");
    Pkey peer(EVP_EC_gen(curve));
    check(peer != nullptr, "EVP_EC_gen");
    EcdhPeer out;
    std::size_t n = 0;
    check(EVP_PKEY_get_octet_string_param(peer.get(), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, nullptr,
                                          0, &n),
          "peer point size");
    out.point.resize(n);
    check(EVP_PKEY_get_octet_string_param(peer.get(), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                          out.point.data(), out.point.size(), &n),
          "peer point");
    PkeyCtx ctx(EVP_PKEY_CTX_new(peer.get(), nullptr));
    check(EVP_PKEY_derive_init(ctx.get()), "EVP_PKEY_derive_init");
    check(EVP_PKEY_derive_set_peer(ctx.get(), cardKey.get()), "EVP_PKEY_derive_set_peer");
    check(EVP_PKEY_derive(ctx.get(), nullptr, &n), "EVP_PKEY_derive (size)");
    out.secret.resize(n);
    check(EVP_PKEY_derive(ctx.get(), out.secret.data(), &n), "EVP_PKEY_derive");
    out.secret.resize(n);
    return out;
}

card::Bytes opensslP1363ToDer(card::ByteView rs) {
    const int half = static_cast<int>(rs.size() / 2);
    std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG_free>> sig(ECDSA_SIG_new());
    BIGNUM* r = BN_bin2bn(rs.data(), half, nullptr);
    BIGNUM* s = BN_bin2bn(rs.data() + half, half, nullptr);
    check(ECDSA_SIG_set0(sig.get(), r, s), "ECDSA_SIG_set0");
    const int n = i2d_ECDSA_SIG(sig.get(), nullptr);
    check(n, "i2d_ECDSA_SIG (size)");
    card::Bytes der(static_cast<std::size_t>(n));
    unsigned char* p = der.data();
    check(i2d_ECDSA_SIG(sig.get(), &p), "i2d_ECDSA_SIG");
    return der;
}

card::Bytes randomBytes(std::size_t n) {
    card::Bytes out(n);
    check(RAND_bytes(out.data(), static_cast<int>(n)), "RAND_bytes");
    return out;
}

card::Bytes base64DecodeBytes(const std::string& text) {
    card::Bytes out(text.size() / 4 * 3 + 3);
    const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                                  static_cast<int>(text.size()));
    check(n >= 0 ? 1 : 0, "EVP_DecodeBlock");
    std::size_t length = static_cast<std::size_t>(n);
    // EVP_DecodeBlock counts padding as zero bytes.
    if (!text.empty() && text.back() == '=') {
        --length;
        if (text.size() > 1 && text[text.size() - 2] == '=') {
            --length;
        }
    }
    out.resize(length);
    return out;
}

std::string opensslKeyDescription(card::ByteView certificateDer) {
    const Pkey key = publicKey(certificateDer);
    if (EVP_PKEY_get_base_id(key.get()) == EVP_PKEY_RSA) {
        return "RSA-" + std::to_string(EVP_PKEY_get_bits(key.get()));
    }
    if (EVP_PKEY_get_base_id(key.get()) == EVP_PKEY_EC) {
        char curve[64] = {};
        std::size_t n = 0;
        EVP_PKEY_get_utf8_string_param(key.get(), OSSL_PKEY_PARAM_GROUP_NAME, curve, sizeof curve,
                                       &n);
        const std::string name(curve, n);
        if (name == "prime256v1") {
            return "EC-P256";
        }
        if (name == "secp384r1") {
            return "EC-P384";
        }
        return "EC-" + name;
    }
    return "other";
}

}  // namespace tk::test
