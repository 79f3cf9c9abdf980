#include "software_token.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include <stdexcept>

#include "card/errors.hpp"
#include "support/evp_md.hpp"

namespace tk::test {
namespace {

void check(bool ok, const char* what) {
    if (!ok) {
        throw std::runtime_error(what);
    }
}

using CtxPtr = std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)>;

void addExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    check(ext != nullptr && X509_add_ext(cert, ext, -1) == 1, "extension");
    X509_EXTENSION_free(ext);
}

X509Ptr makeCertificate(EVP_PKEY* subjectKey, const std::string& cn, X509* issuer, long serial) {
    X509Ptr cert(X509_new(), X509_free);
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600L * 24 * 365);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    X509_set_issuer_name(cert.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name);
    X509_set_pubkey(cert.get(), subjectKey);
    return cert;
}

}  // namespace

PKeyPtr generateKey(const std::string& type) {
    EVP_PKEY* key = nullptr;
    if (type == "RSA-2048") {
        key = EVP_RSA_gen(2048);
    } else if (type == "RSA-3072") {
        key = EVP_RSA_gen(3072);
    } else if (type == "EC-P256") {
        key = EVP_EC_gen("P-256");
    } else if (type == "EC-P384") {
        key = EVP_EC_gen("P-384");
    }
    check(key != nullptr, "key generation");
    return PKeyPtr(key, EVP_PKEY_free);
}

TestCa::TestCa() : key(generateKey("EC-P256")), certificate(nullptr, X509_free) {
    certificate = makeCertificate(key.get(), "TenderKey Test CA", nullptr, 1);
    addExtension(certificate.get(), certificate.get(), NID_basic_constraints, "critical,CA:TRUE");
    addExtension(certificate.get(), certificate.get(), NID_key_usage, "critical,keyCertSign");
    addExtension(certificate.get(), certificate.get(), NID_subject_key_identifier, "hash");
    check(X509_sign(certificate.get(), key.get(), EVP_sha256()) > 0, "CA signature");
}

card::Bytes TestCa::issue(EVP_PKEY* subjectKey, const std::string& commonName,
                          const std::string& keyUsage) const {
    static long serial = 100;
    X509Ptr cert = makeCertificate(subjectKey, commonName, certificate.get(), ++serial);
    addExtension(cert.get(), certificate.get(), NID_key_usage, "critical," + keyUsage);
    addExtension(cert.get(), certificate.get(), NID_authority_key_identifier, "keyid");
    check(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0, "certificate signature");
    unsigned char* der = nullptr;
    const int length = i2d_X509(cert.get(), &der);
    check(length > 0, "certificate encoding");
    card::Bytes out(der, der + length);
    OPENSSL_free(der);
    return out;
}

std::string TestCa::pem() const {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, certificate.get());
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return out;
}

SoftwareToken::~SoftwareToken() {
    for (auto& [slot, key] : keys_) {
        EVP_PKEY_free(key);
    }
}

void SoftwareToken::addKey(const std::string& slot, EVP_PKEY* key, card::Bytes certificate) {
    EVP_PKEY_up_ref(key);
    keys_[slot] = key;
    card::CertificateEntry entry;
    entry.slot = slot;
    entry.der = std::move(certificate);
    entry.pinPolicy = card::PinPolicy::Always;
    entries_.push_back(std::move(entry));
}

void SoftwareToken::refuse() {
    throw card::UnsupportedAlgorithm("not offered by the software token");
}

EVP_PKEY* SoftwareToken::key(const std::string& slot) {
    const auto it = keys_.find(slot);
    if (it == keys_.end()) {
        throw card::KeyNotFound("no key in slot " + slot);
    }
    return it->second;
}

void SoftwareToken::begin() {
    ++operations;
    if (failNext) {
        std::rethrow_exception(std::exchange(failNext, nullptr));
    }
}

card::Bytes SoftwareToken::sign(const card::SignRequest& request) {
    begin();
    lastScheme = request.scheme;
    lastHash = request.hash;
    lastHadPin = request.pin.pin.has_value();
    EVP_PKEY* k = key(request.slot);
    CtxPtr ctx(EVP_PKEY_CTX_new(k, nullptr), EVP_PKEY_CTX_free);
    check(ctx && EVP_PKEY_sign_init(ctx.get()) == 1, "sign init");
    if (request.scheme != card::SignatureScheme::Ecdsa) {
        const bool pss = request.scheme == card::SignatureScheme::RsaPss;
        check(EVP_PKEY_CTX_set_rsa_padding(ctx.get(),
                                           pss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING) == 1 &&
                  EVP_PKEY_CTX_set_signature_md(ctx.get(), evpMd(request.hash)) == 1,
              "sign parameters");
        if (pss) {
            check(EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), RSA_PSS_SALTLEN_DIGEST) == 1 &&
                      EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), evpMd(request.hash)) == 1,
                  "PSS parameters");
        }
    }
    std::size_t length = 0;
    check(EVP_PKEY_sign(ctx.get(), nullptr, &length, request.digest.data(),
                        request.digest.size()) == 1,
          "sign size");
    card::Bytes signature(length);
    check(EVP_PKEY_sign(ctx.get(), signature.data(), &length, request.digest.data(),
                        request.digest.size()) == 1,
          "sign");
    signature.resize(length);
    return signature;
}

card::SecureBytes SoftwareToken::decrypt(const card::DecryptRequest& request) {
    begin();
    lastPadding = request.padding;
    EVP_PKEY* k = key(request.slot);
    CtxPtr ctx(EVP_PKEY_CTX_new(k, nullptr), EVP_PKEY_CTX_free);
    check(ctx && EVP_PKEY_decrypt_init(ctx.get()) == 1, "decrypt init");
    switch (request.padding) {
        case card::RsaDecryptPadding::Pkcs1v15:
            EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING);
            break;
        case card::RsaDecryptPadding::Oaep:
            EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING);
            EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), evpMd(request.oaepHash));
            EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), evpMd(request.oaepHash));
            break;
        case card::RsaDecryptPadding::None:
            EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_NO_PADDING);
            break;
    }
    std::size_t length = static_cast<std::size_t>(EVP_PKEY_get_size(k));
    card::SecureBytes buffer(length);
    if (EVP_PKEY_decrypt(ctx.get(), buffer.data(), &length, request.ciphertext.data(),
                         request.ciphertext.size()) != 1) {
        throw card::DecryptFailed("ciphertext does not decrypt with this key");
    }
    return card::SecureBytes(buffer.view().first(length));
}

card::SecureBytes SoftwareToken::deriveSharedSecret(const card::DeriveRequest& request) {
    begin();
    EVP_PKEY* k = key(request.slot);
    char group[64] = {};
    std::size_t groupLength = 0;
    check(EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                         &groupLength) == 1,
          "group");
    PKeyPtr peer(EVP_PKEY_new(), EVP_PKEY_free);
    check(EVP_PKEY_copy_parameters(peer.get(), k) == 1 &&
              EVP_PKEY_set1_encoded_public_key(peer.get(), request.peerPoint.data(),
                                               request.peerPoint.size()) == 1,
          "peer key");
    CtxPtr ctx(EVP_PKEY_CTX_new(k, nullptr), EVP_PKEY_CTX_free);
    check(ctx && EVP_PKEY_derive_init(ctx.get()) == 1 &&
              EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) == 1,
          "derive set-up");
    std::size_t length = 0;
    check(EVP_PKEY_derive(ctx.get(), nullptr, &length) == 1, "derive size");
    card::SecureBytes secret(length);
    check(EVP_PKEY_derive(ctx.get(), secret.data(), &length) == 1, "derive");
    return secret;
}

}  // namespace tk::test
