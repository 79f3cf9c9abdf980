// OpenSSL 3 offers the padding-only RSA functions (PSS encoding, PKCS#1 v1.5 and OAEP
// decoding) only as deprecated low-level APIs; EVP has no operation that pads without also
// doing the private-key exponentiation, which here happens on the card. They are used, not
// reimplemented, for their tested constant-time checks.
#define OPENSSL_SUPPRESS_DEPRECATED

#include "crypto/rsa_padding.hpp"

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#include <memory>

#include "crypto/detail/openssl.hpp"
#include "crypto/errors.hpp"

namespace tk::crypto {

using detail::openSslMessage;

namespace {

card::Bytes digestInfo(card::HashAlgorithm hash, card::ByteView digest) {
    const EVP_MD* md = detail::messageDigest(hash);
    detail::X509SigPtr sig(X509_SIG_new());
    if (!sig) {
        throw Error(openSslMessage("DigestInfo allocation failed"));
    }
    X509_ALGOR* algorithm = nullptr;
    ASN1_OCTET_STRING* octets = nullptr;
    X509_SIG_getm(sig.get(), &algorithm, &octets);
    if (X509_ALGOR_set0(algorithm, OBJ_nid2obj(EVP_MD_get_type(md)), V_ASN1_NULL, nullptr) != 1 ||
        ASN1_OCTET_STRING_set(octets, digest.data(), static_cast<int>(digest.size())) != 1) {
        throw Error(openSslMessage("DigestInfo construction failed"));
    }
    const int length = i2d_X509_SIG(sig.get(), nullptr);
    if (length <= 0) {
        throw Error(openSslMessage("DigestInfo encoding failed"));
    }
    card::Bytes out(static_cast<std::size_t>(length));
    unsigned char* p = out.data();
    i2d_X509_SIG(sig.get(), &p);
    return out;
}

void checkDigest(card::HashAlgorithm hash, card::ByteView digest) {
    if (digest.size() != card::digestSize(hash)) {
        throw Error("digest length does not match the hash algorithm");
    }
}

}  // namespace

card::Bytes encodePkcs1v15Signature(card::HashAlgorithm hash, card::ByteView digest,
                                    std::size_t modulusBytes) {
    checkDigest(hash, digest);
    const card::Bytes t = digestInfo(hash, digest);
    // RFC 8017 9.2: at least eight FF bytes of padding.
    if (modulusBytes < t.size() + 11) {
        throw Error("RSA modulus too short for this digest");
    }
    card::Bytes block(modulusBytes, 0xFF);
    block[0] = 0x00;
    block[1] = 0x01;
    block[modulusBytes - t.size() - 1] = 0x00;
    std::copy(t.begin(), t.end(), block.end() - static_cast<std::ptrdiff_t>(t.size()));
    return block;
}

card::Bytes encodePss(const PublicKey& key, card::HashAlgorithm hash, card::ByteView digest) {
    checkDigest(hash, digest);
    if (!key.isRsa()) {
        throw Error("PSS needs an RSA key");
    }
    std::unique_ptr<RSA, detail::Deleter<RSA_free>> rsa(EVP_PKEY_get1_RSA(key.get()));
    if (!rsa) {
        throw Error(openSslMessage("RSA key unreadable"));
    }
    const EVP_MD* md = detail::messageDigest(hash);
    card::Bytes block(static_cast<std::size_t>(RSA_size(rsa.get())));
    if (RSA_padding_add_PKCS1_PSS_mgf1(rsa.get(), block.data(), digest.data(), md, md,
                                       static_cast<int>(digest.size())) != 1) {
        throw Error(openSslMessage("PSS encoding failed"));
    }
    return block;
}

card::SecureBytes decodePkcs1v15Encryption(card::ByteView block, std::size_t modulusBytes) {
    if (block.size() != modulusBytes ||
        modulusBytes < static_cast<std::size_t>(RSA_PKCS1_PADDING_SIZE)) {
        throw PaddingError();
    }
    card::SecureBytes buffer(modulusBytes);
    const int n = static_cast<int>(modulusBytes);
    const int length = RSA_padding_check_PKCS1_type_2(buffer.data(), n, block.data(), n, n);
    ERR_clear_error();
    if (length < 0) {
        throw PaddingError();
    }
    return card::SecureBytes(buffer.view().first(static_cast<std::size_t>(length)));
}

card::SecureBytes decodeOaep(card::ByteView block, std::size_t modulusBytes,
                             card::HashAlgorithm hash) {
    if (block.size() != modulusBytes) {
        throw PaddingError();
    }
    const EVP_MD* md = detail::messageDigest(hash);
    card::SecureBytes buffer(modulusBytes);
    const int n = static_cast<int>(modulusBytes);
    const int length =
        RSA_padding_check_PKCS1_OAEP_mgf1(buffer.data(), n, block.data(), n, n, nullptr, 0, md, md);
    ERR_clear_error();
    if (length < 0) {
        throw PaddingError();
    }
    return card::SecureBytes(buffer.view().first(static_cast<std::size_t>(length)));
}

}  // namespace tk::crypto
