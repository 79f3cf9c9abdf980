#include "support/test_keys.hpp"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <stdexcept>

namespace tk::test {

namespace {

[[noreturn]] void fail(const std::string& what) {
    char buf[256] = {};
    ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
    throw std::runtime_error("test OpenSSL helper: " + what + ": " + buf);
}

KeyPtr own(EVP_PKEY* k) {
    if (k == nullptr) {
        fail("no key");
    }
    return {k, EVP_PKEY_free};
}

KeyPtr loadPem(const char* pem) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem, -1), BIO_free);
    return own(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

const EVP_MD* md(card::HashAlgorithm h) {
    switch (h) {
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

std::unique_ptr<X509, decltype(&X509_free)> parseCert(ByteView der) {
    const unsigned char* p = der.data();
    std::unique_ptr<X509, decltype(&X509_free)> x(
        d2i_X509(nullptr, &p, static_cast<long>(der.size())), X509_free);
    if (!x) {
        fail("certificate");
    }
    return x;
}

void addExtension(X509* cert, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (ext == nullptr || X509_add_ext(cert, ext, -1) != 1) {
        fail("extension");
    }
    X509_EXTENSION_free(ext);
}

}  // namespace

#define TK_TEST_KEY(fn, pemName)                  \
    KeyPtr fn() {                                 \
        static const KeyPtr k = loadPem(pemName); \
        return k;                                 \
    }
TK_TEST_KEY(rsa2048a, pem::kRsa2048a)
TK_TEST_KEY(rsa2048b, pem::kRsa2048b)
TK_TEST_KEY(rsa3072, pem::kRsa3072)
TK_TEST_KEY(rsa4096, pem::kRsa4096)
TK_TEST_KEY(rsa1024, pem::kRsa1024)
TK_TEST_KEY(p256a, pem::kP256a)
TK_TEST_KEY(p256b, pem::kP256b)
TK_TEST_KEY(p384, pem::kP384)
TK_TEST_KEY(p521, pem::kP521)
#undef TK_TEST_KEY

KeyPtr generateP256() {
    return own(EVP_EC_gen("P-256"));
}

Bytes makeCertificate(const KeyPtr& key, const CertificateSpec& spec) {
    std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
    X509* x = cert.get();
    X509_set_version(x, 2);
    BIGNUM* bn = nullptr;
    if (BN_hex2bn(&bn, spec.serialHex.c_str()) == 0) {
        fail("serial");
    }
    ASN1_INTEGER* serial = BN_to_ASN1_INTEGER(bn, nullptr);
    BN_free(bn);
    X509_set_serialNumber(x, serial);
    ASN1_INTEGER_free(serial);

    X509_NAME* name = X509_get_subject_name(x);
    const auto add = [&](const char* field, const std::string& value) {
        if (!value.empty() &&
            X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>(value.c_str()), -1,
                                       -1, 0) != 1) {
            fail("name");
        }
    };
    add("C", "TW");
    add("O", spec.organization);
    if (spec.commonNameAsBmpString) {
        ASN1_STRING* bmp = nullptr;
        if (ASN1_mbstring_copy(&bmp, reinterpret_cast<const unsigned char*>(spec.commonName.data()),
                               static_cast<int>(spec.commonName.size()), MBSTRING_UTF8,
                               B_ASN1_BMPSTRING) < 0 ||
            X509_NAME_add_entry_by_NID(name, NID_commonName, V_ASN1_BMPSTRING, bmp->data,
                                       bmp->length, -1, 0) != 1) {
            fail("BMPString name");
        }
        ASN1_STRING_free(bmp);
    } else {
        add("CN", spec.commonName);
    }
    X509_set_issuer_name(x, name);

    if (ASN1_TIME_set_string_X509(X509_getm_notBefore(x), spec.notBefore.c_str()) != 1 ||
        ASN1_TIME_set_string_X509(X509_getm_notAfter(x), spec.notAfter.c_str()) != 1) {
        fail("validity");
    }
    X509_set_pubkey(x, key.get());
    if (!spec.keyUsage.empty()) {
        addExtension(x, NID_key_usage, spec.keyUsage);
    }
    if (!spec.extendedKeyUsage.empty()) {
        addExtension(x, NID_ext_key_usage, spec.extendedKeyUsage);
    }
    if (X509_sign(x, key.get(), EVP_sha256()) <= 0) {
        fail("sign certificate");
    }
    const int length = i2d_X509(x, nullptr);
    Bytes der(static_cast<std::size_t>(length));
    unsigned char* p = der.data();
    i2d_X509(x, &p);
    return der;
}

bool opensslVerify(ByteView certificateDer, card::SignatureScheme scheme, card::HashAlgorithm hash,
                   ByteView digest, ByteView signature) {
    auto cert = parseCert(certificateDer);
    EVP_PKEY* key = X509_get0_pubkey(cert.get());
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new(key, nullptr),
                                                                    EVP_PKEY_CTX_free);
    if (EVP_PKEY_verify_init(ctx.get()) != 1) {
        fail("verify init");
    }
    if (scheme != card::SignatureScheme::Ecdsa) {
        EVP_PKEY_CTX_set_signature_md(ctx.get(), md(hash));
        if (scheme == card::SignatureScheme::RsaPss) {
            EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING);
            EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), md(hash));
            EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), static_cast<int>(card::digestSize(hash)));
        } else {
            EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING);
        }
    }
    const int rc = EVP_PKEY_verify(ctx.get(), signature.data(), signature.size(), digest.data(),
                                   digest.size());
    ERR_clear_error();
    return rc == 1;
}

Bytes opensslEncrypt(ByteView certificateDer, card::RsaDecryptPadding padding,
                     card::HashAlgorithm oaepHash, ByteView plaintext) {
    auto cert = parseCert(certificateDer);
    EVP_PKEY* key = X509_get0_pubkey(cert.get());
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new(key, nullptr),
                                                                    EVP_PKEY_CTX_free);
    EVP_PKEY_encrypt_init(ctx.get());
    switch (padding) {
        case card::RsaDecryptPadding::Pkcs1v15:
            EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING);
            break;
        case card::RsaDecryptPadding::Oaep:
            EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING);
            EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), md(oaepHash));
            EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), md(oaepHash));
            break;
        case card::RsaDecryptPadding::None:
            EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_NO_PADDING);
            break;
    }
    std::size_t length = 0;
    if (EVP_PKEY_encrypt(ctx.get(), nullptr, &length, plaintext.data(), plaintext.size()) != 1) {
        fail("encrypt size");
    }
    Bytes out(length);
    if (EVP_PKEY_encrypt(ctx.get(), out.data(), &length, plaintext.data(), plaintext.size()) != 1) {
        fail("encrypt");
    }
    out.resize(length);
    return out;
}

Bytes opensslRawPrivate(const KeyPtr& key, ByteView input) {
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
        EVP_PKEY_CTX_new(key.get(), nullptr), EVP_PKEY_CTX_free);
    std::size_t length = static_cast<std::size_t>(EVP_PKEY_get_size(key.get()));
    Bytes out(length);
    if (EVP_PKEY_decrypt_init(ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_NO_PADDING) != 1 ||
        EVP_PKEY_decrypt(ctx.get(), out.data(), &length, input.data(), input.size()) != 1) {
        fail("raw private operation");
    }
    out.resize(length);
    return out;
}

Bytes opensslRawPublic(ByteView certificateDer, ByteView input) {
    auto cert = parseCert(certificateDer);
    EVP_PKEY* key = X509_get0_pubkey(cert.get());
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new(key, nullptr),
                                                                    EVP_PKEY_CTX_free);
    EVP_PKEY_verify_recover_init(ctx.get());
    EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_NO_PADDING);
    std::size_t length = static_cast<std::size_t>(EVP_PKEY_get_size(key));
    Bytes out(length);
    if (EVP_PKEY_verify_recover(ctx.get(), out.data(), &length, input.data(), input.size()) != 1) {
        fail("raw public operation");
    }
    out.resize(length);
    return out;
}

Bytes opensslDigest(card::HashAlgorithm hash, ByteView data) {
    Bytes out(EVP_MAX_MD_SIZE);
    unsigned int length = 0;
    if (EVP_Digest(data.data(), data.size(), out.data(), &length, md(hash), nullptr) != 1) {
        fail("digest");
    }
    out.resize(length);
    return out;
}

Bytes ecPublicPoint(const KeyPtr& key) {
    std::size_t length = 0;
    if (EVP_PKEY_get_octet_string_param(key.get(), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, nullptr, 0,
                                        &length) != 1) {
        fail("point size");
    }
    Bytes out(length);
    if (EVP_PKEY_get_octet_string_param(key.get(), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, out.data(),
                                        out.size(), &length) != 1) {
        fail("point");
    }
    return out;
}

Bytes opensslEcdh(const KeyPtr& privateKey, ByteView peerPoint) {
    KeyPtr peer = own(EVP_PKEY_new());
    if (EVP_PKEY_copy_parameters(peer.get(), privateKey.get()) != 1 ||
        EVP_PKEY_set1_encoded_public_key(peer.get(), peerPoint.data(), peerPoint.size()) != 1) {
        fail("peer key");
    }
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
        EVP_PKEY_CTX_new(privateKey.get(), nullptr), EVP_PKEY_CTX_free);
    std::size_t length = 0;
    if (EVP_PKEY_derive_init(ctx.get()) != 1 ||
        EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1 ||
        EVP_PKEY_derive(ctx.get(), nullptr, &length) != 1) {
        fail("derive init");
    }
    Bytes out(length);
    if (EVP_PKEY_derive(ctx.get(), out.data(), &length) != 1) {
        fail("derive");
    }
    out.resize(length);
    return out;
}

Bytes bytesOf(const std::string& text) {
    return Bytes(text.begin(), text.end());
}

}  // namespace tk::test
