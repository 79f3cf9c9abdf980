#include "crypto/cms.hpp"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <array>
#include <cstring>
#include <memory>

#include "crypto/detail/openssl.hpp"

namespace tk::crypto {

using detail::openSslMessage;

namespace {

using CmsPtr = std::unique_ptr<CMS_ContentInfo, detail::Deleter<CMS_ContentInfo_free>>;
using MdPtr = std::unique_ptr<EVP_MD, detail::Deleter<EVP_MD_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, detail::Deleter<EVP_MD_CTX_free>>;
using AlgorPtr = std::unique_ptr<X509_ALGOR, detail::Deleter<X509_ALGOR_free>>;
using ObjectPtr = std::unique_ptr<ASN1_OBJECT, detail::Deleter<ASN1_OBJECT_free>>;

detail::X509Ptr parseCertificate(card::ByteView der) {
    const unsigned char* p = der.data();
    detail::X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    if (!cert || p != der.data() + der.size()) {
        throw Error(openSslMessage("not a DER certificate"));
    }
    return cert;
}

const char* digestName(card::HashAlgorithm hash) {
    switch (hash) {
        case card::HashAlgorithm::Sha256:
            return "SHA256";
        case card::HashAlgorithm::Sha384:
            return "SHA384";
        case card::HashAlgorithm::Sha512:
            return "SHA512";
        case card::HashAlgorithm::Sha1:
            return "SHA1";
    }
    return "SHA256";
}

// The DER of the signed attributes as they are signed: a SET OF in DER order, the same
// encoding the SignerInfo carries.
card::Bytes signedAttributesDer(CMS_SignerInfo* signer) {
    std::unique_ptr<STACK_OF(X509_ATTRIBUTE), void (*)(STACK_OF(X509_ATTRIBUTE)*)> attributes(
        sk_X509_ATTRIBUTE_new_null(), [](STACK_OF(X509_ATTRIBUTE) * s) {
            sk_X509_ATTRIBUTE_free(s);  // the attributes belong to the SignerInfo
        });
    if (!attributes) {
        throw Error("out of memory");
    }
    for (int i = 0; i < CMS_signed_get_attr_count(signer); ++i) {
        if (sk_X509_ATTRIBUTE_push(attributes.get(), CMS_signed_get_attr(signer, i)) <= 0) {
            throw Error("out of memory");
        }
    }
    unsigned char* der = nullptr;
    const int length = ASN1_item_i2d(reinterpret_cast<ASN1_VALUE*>(attributes.get()), &der,
                                     ASN1_ITEM_rptr(PKCS7_ATTR_SIGN));
    if (length <= 0) {
        throw Error(openSslMessage("signed attributes encoding failed"));
    }
    card::Bytes out(der, der + length);
    OPENSSL_free(der);
    return out;
}

// ---- reading EnvelopedData ----

struct Envelope {
    detail::X509Ptr certificate;
    CmsPtr cms;
};

// One TLV of DER at `p` (within `end`): returns its content and advances `p` past it.
bool readTlv(const unsigned char*& p, const unsigned char* end, int& tag, int& cls,
             const unsigned char*& content, long& length) {
    const unsigned char* q = p;
    const int rc = ASN1_get_object(&q, &length, &tag, &cls, end - p);
    if ((rc & 0x80) != 0 || (rc & 0x01) != 0 || length > end - q) {
        ERR_clear_error();
        return false;
    }
    content = q;
    p = q + length;
    return true;
}

// The contentEncryptionAlgorithm of a DER ContentInfo of EnvelopedData (no public OpenSSL
// accessor exists for it).
int contentEncryptionNid(const CMS_ContentInfo* cms) {
    unsigned char* der = nullptr;
    const int size = i2d_CMS_ContentInfo(cms, &der);
    if (size <= 0) {
        ERR_clear_error();
        return NID_undef;
    }
    std::unique_ptr<unsigned char, void (*)(unsigned char*)> owner(
        der, [](unsigned char* d) { OPENSSL_free(d); });
    const unsigned char* p = der;
    const unsigned char* end = der + size;
    int tag = 0;
    int cls = 0;
    long length = 0;
    const unsigned char* content = nullptr;
    // ContentInfo SEQUENCE { contentType, [0] EXPLICIT EnvelopedData }
    if (!readTlv(p, end, tag, cls, content, length) || tag != V_ASN1_SEQUENCE) {
        return NID_undef;
    }
    p = content;
    end = content + length;
    if (!readTlv(p, end, tag, cls, content, length) ||  // contentType
        !readTlv(p, end, tag, cls, content, length) || cls != V_ASN1_CONTEXT_SPECIFIC) {
        return NID_undef;
    }
    p = content;
    end = content + length;
    if (!readTlv(p, end, tag, cls, content, length) || tag != V_ASN1_SEQUENCE) {
        return NID_undef;
    }
    p = content;
    end = content + length;
    // version, [0] originatorInfo OPTIONAL, recipientInfos SET, encryptedContentInfo
    if (!readTlv(p, end, tag, cls, content, length) || tag != V_ASN1_INTEGER) {
        return NID_undef;
    }
    if (!readTlv(p, end, tag, cls, content, length)) {
        return NID_undef;
    }
    if (cls == V_ASN1_CONTEXT_SPECIFIC && !readTlv(p, end, tag, cls, content, length)) {
        return NID_undef;
    }
    if (tag != V_ASN1_SET || !readTlv(p, end, tag, cls, content, length) ||
        tag != V_ASN1_SEQUENCE) {
        return NID_undef;
    }
    p = content;
    end = content + length;
    // contentType, contentEncryptionAlgorithm
    if (!readTlv(p, end, tag, cls, content, length) ||
        !readTlv(p, end, tag, cls, content, length) || tag != V_ASN1_SEQUENCE) {
        return NID_undef;
    }
    const unsigned char* oid = content;
    ASN1_OBJECT* object = d2i_ASN1_OBJECT(nullptr, &oid, length);
    if (object == nullptr) {
        ERR_clear_error();
        return NID_undef;
    }
    const int nid = OBJ_obj2nid(object);
    ASN1_OBJECT_free(object);
    return nid;
}

bool isOneOf(int nid, std::initializer_list<int> nids) {
    for (const int n : nids) {
        if (n == nid) {
            return true;
        }
    }
    return false;
}

void checkKeyTransport(CMS_RecipientInfo* recipient, const EVP_PKEY* key) {
    X509_ALGOR* algorithm = nullptr;
    if (CMS_RecipientInfo_ktri_get0_algs(recipient, nullptr, nullptr, &algorithm) != 1) {
        throw CmsError(CmsError::Kind::Malformed, "key transport recipient unreadable");
    }
    const ASN1_OBJECT* oid = nullptr;
    X509_ALGOR_get0(&oid, nullptr, nullptr, algorithm);
    if (!EVP_PKEY_is_a(key, "RSA") ||
        !isOneOf(OBJ_obj2nid(oid), {NID_rsaEncryption, NID_rsaesOaep})) {
        throw CmsError(CmsError::Kind::Unsupported, "key transport algorithm not supported");
    }
}

void checkKeyAgreement(CMS_RecipientInfo* recipient, const EVP_PKEY* key) {
    X509_ALGOR* algorithm = nullptr;
    ASN1_OCTET_STRING* ukm = nullptr;
    if (CMS_RecipientInfo_kari_get0_alg(recipient, &algorithm, &ukm) != 1) {
        throw CmsError(CmsError::Kind::Malformed, "key agreement recipient unreadable");
    }
    const ASN1_OBJECT* oid = nullptr;
    int parameterType = 0;
    const void* parameter = nullptr;
    X509_ALGOR_get0(&oid, &parameterType, &parameter, algorithm);
    if (!EVP_PKEY_is_a(key, "EC") ||
        !isOneOf(OBJ_obj2nid(oid),
                 {NID_dhSinglePass_stdDH_sha1kdf_scheme, NID_dhSinglePass_stdDH_sha224kdf_scheme,
                  NID_dhSinglePass_stdDH_sha256kdf_scheme, NID_dhSinglePass_stdDH_sha384kdf_scheme,
                  NID_dhSinglePass_stdDH_sha512kdf_scheme})) {
        throw CmsError(CmsError::Kind::Unsupported, "key agreement algorithm not supported");
    }
    if (parameterType != V_ASN1_SEQUENCE) {
        throw CmsError(CmsError::Kind::Malformed, "key agreement without key wrap algorithm");
    }
    const auto* sequence = static_cast<const ASN1_STRING*>(parameter);
    const unsigned char* p = ASN1_STRING_get0_data(sequence);
    AlgorPtr wrap(d2i_X509_ALGOR(nullptr, &p, ASN1_STRING_length(sequence)));
    if (!wrap) {
        ERR_clear_error();
        throw CmsError(CmsError::Kind::Malformed, "key wrap algorithm unreadable");
    }
    X509_ALGOR_get0(&oid, nullptr, nullptr, wrap.get());
    if (!isOneOf(OBJ_obj2nid(oid), {NID_id_aes128_wrap, NID_id_aes192_wrap, NID_id_aes256_wrap})) {
        throw CmsError(CmsError::Kind::Unsupported, "key wrap algorithm not supported");
    }
}

Envelope openEnvelope(card::ByteView certificateDer, card::ByteView der,
                      const CmsDecryptOptions& options) {
    Envelope envelope{parseCertificate(certificateDer), nullptr};
    CMS_ContentInfo* cms = CMS_ContentInfo_new_ex(cardLibraryContext(), nullptr);
    if (cms == nullptr) {
        throw Error(openSslMessage("CMS allocation failed"));
    }
    const unsigned char* p = der.data();
    // On failure d2i frees the object and clears the pointer.
    const bool parsed = d2i_CMS_ContentInfo(&cms, &p, static_cast<long>(der.size())) != nullptr;
    envelope.cms.reset(cms);
    ERR_clear_error();
    if (!parsed || p != der.data() + der.size()) {
        throw CmsError(CmsError::Kind::Malformed, "cms is not a DER ContentInfo");
    }
    if (OBJ_obj2nid(CMS_get0_type(envelope.cms.get())) != NID_pkcs7_enveloped) {
        throw CmsError(CmsError::Kind::Malformed, "cms is not EnvelopedData");
    }
    const int content = contentEncryptionNid(envelope.cms.get());
    if (content == NID_undef) {
        throw CmsError(CmsError::Kind::Malformed, "EnvelopedData content unreadable");
    }
    if (!isOneOf(content, {NID_aes_128_cbc, NID_aes_192_cbc, NID_aes_256_cbc}) &&
        !(options.allowDesEde3 && content == NID_des_ede3_cbc)) {
        throw CmsError(CmsError::Kind::Unsupported, "content encryption algorithm not supported");
    }
    X509* cert = envelope.certificate.get();
    const EVP_PKEY* key = X509_get0_pubkey(cert);
    STACK_OF(CMS_RecipientInfo)* recipients = CMS_get0_RecipientInfos(envelope.cms.get());
    bool found = false;
    for (int i = 0; i < sk_CMS_RecipientInfo_num(recipients) && !found; ++i) {
        CMS_RecipientInfo* recipient = sk_CMS_RecipientInfo_value(recipients, i);
        switch (CMS_RecipientInfo_type(recipient)) {
            case CMS_RECIPINFO_TRANS:
                if (CMS_RecipientInfo_ktri_cert_cmp(recipient, cert) == 0) {
                    checkKeyTransport(recipient, key);
                    found = true;
                }
                break;
            case CMS_RECIPINFO_AGREE: {
                STACK_OF(CMS_RecipientEncryptedKey)* keys =
                    CMS_RecipientInfo_kari_get0_reks(recipient);
                for (int j = 0; j < sk_CMS_RecipientEncryptedKey_num(keys) && !found; ++j) {
                    if (CMS_RecipientEncryptedKey_cert_cmp(
                            sk_CMS_RecipientEncryptedKey_value(keys, j), cert) == 0) {
                        checkKeyAgreement(recipient, key);
                        found = true;
                    }
                }
                break;
            }
            default:
                break;
        }
    }
    ERR_clear_error();
    if (!found) {
        throw CmsError(CmsError::Kind::DecryptFailed, "no recipient for this key");
    }
    return envelope;
}

}  // namespace

card::Bytes cmsSign(CardKeyOperations& operations, card::ByteView certificateDer,
                    const CmsSignRequest& request) {
    if (request.digest.size() != card::digestSize(request.hash)) {
        throw Error("digest length does not match the hash algorithm");
    }
    const detail::X509Ptr cert = parseCertificate(certificateDer);
    CardKey key(certificateDer, operations);
    OSSL_LIB_CTX* library = cardLibraryContext();
    MdPtr md(EVP_MD_fetch(library, digestName(request.hash), nullptr));
    if (!md) {
        throw Error(openSslMessage("digest unavailable"));
    }
    const unsigned int detached = request.content ? 0U : static_cast<unsigned int>(CMS_DETACHED);
    CmsPtr cms(CMS_sign_ex(nullptr, nullptr, nullptr, nullptr, CMS_PARTIAL | CMS_BINARY | detached,
                           library, nullptr));
    if (!cms) {
        throw Error(openSslMessage("CMS SignedData set-up failed"));
    }
    // Sets the signer identifier, the digest and signature algorithms (rsaEncryption or
    // ecdsa-with-SHA*), the ESS signing-certificate-v2 attribute and the certificate.
    CMS_SignerInfo* signer = CMS_add1_signer(cms.get(), cert.get(), key.get(), md.get(),
                                             CMS_PARTIAL | CMS_BINARY | CMS_CADES | CMS_NOSMIMECAP);
    if (signer == nullptr) {
        throw Error(openSslMessage("CMS signer set-up failed"));
    }
    if (request.signingTime) {
        std::unique_ptr<ASN1_TIME, detail::Deleter<ASN1_TIME_free>> now(
            X509_gmtime_adj(nullptr, 0));
        if (!now || CMS_signed_add1_attr_by_NID(signer, NID_pkcs9_signingTime, now->type, now.get(),
                                                -1) != 1) {
            throw Error(openSslMessage("signing-time attribute failed"));
        }
    }
    if (request.randomNonce) {
        const ObjectPtr oid(OBJ_txt2obj("1.2.840.113549.1.9.25.3", 1));
        if (!oid || CMS_signed_add1_attr_by_OBJ(
                        signer, oid.get(), V_ASN1_OCTET_STRING, request.randomNonce->data(),
                        static_cast<int>(request.randomNonce->size())) != 1) {
            throw Error(openSslMessage("random-nonce attribute failed"));
        }
    }
    if (request.cardSerialNumber) {
        const ObjectPtr oid(OBJ_txt2obj("2.16.886.1.100.2.204", 1));
        if (!oid || CMS_signed_add1_attr_by_OBJ(
                        signer, oid.get(), V_ASN1_UTF8STRING, request.cardSerialNumber->data(),
                        static_cast<int>(request.cardSerialNumber->size())) != 1) {
            throw Error(openSslMessage("card serial number attribute failed"));
        }
    }
    if (CMS_signed_add1_attr_by_NID(signer, NID_pkcs9_messageDigest, V_ASN1_OCTET_STRING,
                                    request.digest.data(),
                                    static_cast<int>(request.digest.size())) != 1 ||
        CMS_signed_add1_attr_by_NID(signer, NID_pkcs9_contentType, V_ASN1_OBJECT,
                                    OBJ_nid2obj(NID_pkcs7_data), -1) != 1) {
        throw Error(openSslMessage("signed attributes failed"));
    }
    const card::Bytes attributes = signedAttributesDer(signer);

    // The signature over the signed attributes, through the card provider.
    MdCtxPtr context(EVP_MD_CTX_new());
    EVP_PKEY_CTX* keyContext = nullptr;
    if (!context || EVP_DigestSignInit_ex(context.get(), &keyContext, EVP_MD_get0_name(md.get()),
                                          library, nullptr, key.get(), nullptr) != 1) {
        throw Error(openSslMessage("signature set-up failed"));
    }
    if (request.scheme == card::SignatureScheme::RsaPss &&
        (EVP_PKEY_CTX_set_rsa_padding(keyContext, RSA_PKCS1_PSS_PADDING) != 1 ||
         EVP_PKEY_CTX_set_rsa_pss_saltlen(keyContext, RSA_PSS_SALTLEN_DIGEST) != 1 ||
         EVP_PKEY_CTX_set_rsa_mgf1_md(keyContext, md.get()) != 1)) {
        throw Error(openSslMessage("PSS parameters refused"));
    }
    EVP_MD_CTX_set_flags(context.get(), EVP_MD_CTX_FLAG_FINALISE);
    std::size_t length = 0;
    if (EVP_DigestSignUpdate(context.get(), attributes.data(), attributes.size()) != 1 ||
        EVP_DigestSignFinal(context.get(), nullptr, &length) != 1) {
        throw Error(openSslMessage("signature failed"));
    }
    auto* signature = static_cast<unsigned char*>(OPENSSL_malloc(length));
    if (signature == nullptr) {
        throw Error("out of memory");
    }
    if (EVP_DigestSignFinal(context.get(), signature, &length) != 1) {
        OPENSSL_free(signature);
        const std::string message = openSslMessage("signature failed");
        key.rethrowCardError();
        throw Error(message);
    }
    ASN1_STRING_set0(CMS_SignerInfo_get0_signature(signer), signature, static_cast<int>(length));

    if (request.scheme == card::SignatureScheme::RsaPss) {
        // RSASSA-PSS with its parameters, as the provider states them.
        std::array<unsigned char, 128> aid{};
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, aid.data(),
                                              aid.size()),
            OSSL_PARAM_construct_end(),
        };
        X509_ALGOR* signatureAlgorithm = nullptr;
        CMS_SignerInfo_get0_algs(signer, nullptr, nullptr, nullptr, &signatureAlgorithm);
        const unsigned char* p = aid.data();
        if (EVP_PKEY_CTX_get_params(keyContext, params) != 1 || params[0].return_size == 0 ||
            d2i_X509_ALGOR(&signatureAlgorithm, &p, static_cast<long>(params[0].return_size)) ==
                nullptr) {
            throw Error(openSslMessage("PSS algorithm identifier unavailable"));
        }
    }
    if (request.content) {
        ASN1_OCTET_STRING** content = CMS_get0_content(cms.get());
        if (content == nullptr) {
            throw Error("SignedData without content slot");
        }
        if (*content == nullptr) {
            *content = ASN1_OCTET_STRING_new();
        }
        if (*content == nullptr ||
            ASN1_OCTET_STRING_set(*content, request.content->data(),
                                  static_cast<int>(request.content->size())) != 1) {
            throw Error(openSslMessage("content failed"));
        }
        (*content)->flags &= ~ASN1_STRING_FLAG_CONT;
    }
    unsigned char* der = nullptr;
    const int size = i2d_CMS_ContentInfo(cms.get(), &der);
    if (size <= 0) {
        throw Error(openSslMessage("SignedData encoding failed"));
    }
    card::Bytes out(der, der + size);
    OPENSSL_free(der);
    ERR_clear_error();  // nothing of this operation is left for the thread's next OpenSSL call
    return out;
}

void checkEnvelope(card::ByteView certificateDer, card::ByteView cms,
                   const CmsDecryptOptions& options) {
    (void)openEnvelope(certificateDer, cms, options);
}

card::SecureBytes cmsDecrypt(CardKeyOperations& operations, card::ByteView certificateDer,
                             card::ByteView der, const CmsDecryptOptions& options) {
    Envelope envelope = openEnvelope(certificateDer, der, options);
    CardKey key(certificateDer, operations);
    detail::BioPtr out(BIO_new(BIO_s_mem()));
    if (!out) {
        throw Error("out of memory");
    }
    // With the certificate only the matching recipient is tried (one card operation). OpenSSL's
    // protection against the million-message attack stays on (never its debug-decrypt flag,
    // which a lint test looks for): a content key that does not decrypt is replaced by a random
    // one, so bad padding and a wrong key end the same way, in the content decryption.
    const int rc = CMS_decrypt(envelope.cms.get(), key.get(), envelope.certificate.get(), nullptr,
                               out.get(), CMS_BINARY);
    const std::string message = rc == 1 ? std::string() : openSslMessage("CMS decryption failed");
    // What the card answered counts even when OpenSSL went on with a random key: a wrong PIN or
    // a removed card is reported as such, and a padding failure never yields plaintext.
    try {
        key.rethrowCardError();
    } catch (const PaddingError&) {
        throw CmsError(CmsError::Kind::DecryptFailed, "key decryption failed");
    }
    if (rc != 1) {
        throw CmsError(CmsError::Kind::DecryptFailed, message);
    }
    char* data = nullptr;
    const long size = BIO_get_mem_data(out.get(), &data);
    if (size < 0) {
        throw Error("plaintext unreadable");
    }
    ERR_clear_error();
    return card::SecureBytes(card::ByteView(reinterpret_cast<const std::uint8_t*>(data),
                                            static_cast<std::size_t>(size)));
}

}  // namespace tk::crypto
