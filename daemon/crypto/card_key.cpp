// The TenderKey card provider: an OpenSSL 3 provider whose keys are card keys. It is added as
// a built-in provider to a private library context next to OpenSSL's default provider, so
// OpenSSL's CMS code (signer info set-up, key transport, key agreement, KDF, key unwrap,
// content decryption) runs unchanged and only the private-key step reaches the card. See
// docs/cms.md for the design.
//
// The padding-only RSA function (OAEP decoding with any digest and label) exists only as a
// deprecated low-level API; see rsa_padding.cpp.
#define OPENSSL_SUPPRESS_DEPRECATED

#include "crypto/card_key.hpp"

#include <openssl/asn1t.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include "crypto/detail/openssl.hpp"
#include "crypto/errors.hpp"

namespace tk::crypto {

struct CardKey::Binding {
    CardKeyOperations* operations = nullptr;
    std::exception_ptr error;
    bool used = false;
};

namespace {

using detail::openSslMessage;
using Binding = CardKey::Binding;

constexpr const char* kProviderName = "tenderkey-card";
constexpr const char* kBindingParam = "tenderkey-card-binding";
constexpr const char* kRsaNames = "RSA:rsaEncryption:1.2.840.113549.1.1.1";
constexpr const char* kEcNames = "EC:id-ecPublicKey:1.2.840.10045.2.1";
constexpr const char* kProperties = "provider=tenderkey-card";

using Fn = void (*)();
template <class F>
Fn fn(F f) {
    return reinterpret_cast<Fn>(f);
}

struct ProviderContext {
    OSSL_LIB_CTX* libraryContext = nullptr;
};

// The new and free functions of every object this provider hands OpenSSL (key data and the
// operation contexts): each keeps the provider context it was made in.
template <class Object>
void* newObject(void* provctx) {
    auto* object = new (std::nothrow) Object;
    if (object != nullptr) {
        object->provider = static_cast<ProviderContext*>(provctx);
    }
    return object;
}
template <class Object>
void freeObject(void* object) {
    delete static_cast<Object*>(object);
}

// A UTF-8 string parameter's text, or null when it is not one.
const char* utf8Param(const OSSL_PARAM* p) {
    const char* text = nullptr;
    return OSSL_PARAM_get_utf8_string_ptr(p, &text) == 1 ? text : nullptr;
}

// An octet string parameter's bytes, or nothing when it is not one.
std::optional<std::vector<unsigned char>> octetsParam(const OSSL_PARAM* p) {
    const void* data = nullptr;
    std::size_t size = 0;
    if (OSSL_PARAM_get_octet_string_ptr(p, &data, &size) != 1) {
        return std::nullopt;
    }
    const auto* bytes = static_cast<const unsigned char*>(data);
    return std::vector<unsigned char>(bytes, bytes + size);
}

// ---- key data ----

struct KeyData {
    ProviderContext* provider = nullptr;
    bool rsa = true;
    detail::BignumPtr n;
    detail::BignumPtr e;
    std::string group;                 // EC: curve name as OpenSSL spells it
    std::vector<unsigned char> point;  // EC: encoded public point
    std::shared_ptr<Binding> binding;  // the private half: the card

    bool hasPublic() const { return rsa ? (n && e) : !point.empty(); }
    int curveNid() const {
        int nid = OBJ_sn2nid(group.c_str());
        if (nid == NID_undef) {
            nid = EC_curve_nist2nid(group.c_str());
        }
        return nid;
    }
    int bits() const {
        if (rsa) {
            return n ? BN_num_bits(n.get()) : 0;
        }
        detail::EcGroupPtr g(EC_GROUP_new_by_curve_name(curveNid()));
        return g ? EC_GROUP_get_degree(g.get()) : 0;
    }
    std::size_t fieldBytes() const { return (static_cast<std::size_t>(bits()) + 7) / 8; }
    int maxSignatureSize() const {
        if (rsa) {
            return (bits() + 7) / 8;
        }
        // DER Ecdsa-Sig-Value of two integers of up to field+1 bytes each.
        const int integer = 2 + static_cast<int>(fieldBytes()) + 1;
        const int content = 2 * integer;
        return content + (content < 128 ? 2 : 3);
    }
};

bool pointOnCurve(const KeyData& key, const unsigned char* data, std::size_t size) {
    detail::EcGroupPtr g(EC_GROUP_new_by_curve_name(key.curveNid()));
    if (!g) {
        return false;
    }
    detail::EcPointPtr p(EC_POINT_new(g.get()));
    const bool ok = p && EC_POINT_oct2point(g.get(), p.get(), data, size, nullptr) == 1 &&
                    EC_POINT_is_on_curve(g.get(), p.get(), nullptr) == 1 &&
                    EC_POINT_is_at_infinity(g.get(), p.get()) == 0;
    ERR_clear_error();
    return ok;
}

// Takes an EC public point from a parameter, if it is one on the key's curve.
bool setPoint(KeyData& key, const OSSL_PARAM* p) {
    std::optional<std::vector<unsigned char>> point = octetsParam(p);
    if (!point || !pointOnCurve(key, point->data(), point->size())) {
        return false;
    }
    key.point = std::move(*point);
    return true;
}

void* keyNew(void* provctx, bool rsa) {
    auto* key = static_cast<KeyData*>(newObject<KeyData>(provctx));
    if (key != nullptr) {
        key->rsa = rsa;
    }
    return key;
}
void* rsaNew(void* provctx) {
    return keyNew(provctx, true);
}
void* ecNew(void* provctx) {
    return keyNew(provctx, false);
}

int keyHas(const void* keydata, int selection) {
    const auto* key = static_cast<const KeyData*>(keydata);
    if (key == nullptr) {
        return 0;
    }
    if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0 && !key->hasPublic()) {
        return 0;
    }
    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0 && !key->binding) {
        return 0;
    }
    if ((selection & OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS) != 0 && !key->rsa &&
        key->group.empty()) {
        return 0;
    }
    return 1;
}

int keyImport(void* keydata, int selection, const OSSL_PARAM params[]) {
    auto* key = static_cast<KeyData*>(keydata);
    if (key == nullptr) {
        return 0;
    }
    if (key->rsa) {
        if ((selection & OSSL_KEYMGMT_SELECT_KEYPAIR) != 0) {
            BIGNUM* n = nullptr;
            BIGNUM* e = nullptr;
            const OSSL_PARAM* pn = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_N);
            const OSSL_PARAM* pe = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_E);
            if (pn == nullptr || pe == nullptr || OSSL_PARAM_get_BN(pn, &n) != 1 ||
                OSSL_PARAM_get_BN(pe, &e) != 1) {
                BN_free(n);
                BN_free(e);
                return 0;
            }
            key->n.reset(n);
            key->e.reset(e);
        }
    } else {
        const OSSL_PARAM* pg = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_GROUP_NAME);
        if (pg != nullptr) {
            const char* name = utf8Param(pg);
            if (name == nullptr) {
                return 0;
            }
            key->group = name;
        }
        if (key->group.empty()) {
            return 0;
        }
        if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0) {
            const OSSL_PARAM* pp = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_PUB_KEY);
            if (pp == nullptr) {
                pp = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY);
            }
            if (pp != nullptr) {
                if (!setPoint(*key, pp)) {
                    return 0;
                }
            } else if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) == 0) {
                return 0;
            }
        }
    }
    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0) {
        const OSSL_PARAM* pb = OSSL_PARAM_locate_const(params, kBindingParam);
        if (pb != nullptr) {
            if (pb->data_type != OSSL_PARAM_OCTET_STRING ||
                pb->data_size != sizeof(std::shared_ptr<Binding>*)) {
                return 0;
            }
            std::shared_ptr<Binding>* binding = nullptr;
            std::memcpy(&binding, pb->data, sizeof binding);
            key->binding = *binding;
        }
    }
    return 1;
}

const OSSL_PARAM* rsaImportTypes(int) {
    static const OSSL_PARAM types[] = {
        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, nullptr, 0),
        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, nullptr, 0),
        OSSL_PARAM_octet_string(kBindingParam, nullptr, 0),
        OSSL_PARAM_END,
    };
    return types;
}

const OSSL_PARAM* ecImportTypes(int) {
    static const OSSL_PARAM types[] = {
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, nullptr, 0),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, nullptr, 0),
        OSSL_PARAM_octet_string(kBindingParam, nullptr, 0),
        OSSL_PARAM_END,
    };
    return types;
}

// Only public values leave: a card key cannot be exported with its private half, which is
// also what makes OpenSSL run every operation on such a key in this provider.
int keyExport(void* keydata, int selection, OSSL_CALLBACK* callback, void* arg) {
    const auto* key = static_cast<const KeyData*>(keydata);
    if (key == nullptr || ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0 && key->binding)) {
        return 0;
    }
    std::unique_ptr<OSSL_PARAM_BLD, detail::Deleter<OSSL_PARAM_BLD_free>> build(
        OSSL_PARAM_BLD_new());
    if (!build) {
        return 0;
    }
    if (key->rsa) {
        if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0 &&
            (!key->hasPublic() ||
             OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_RSA_N, key->n.get()) != 1 ||
             OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_RSA_E, key->e.get()) != 1)) {
            return 0;
        }
    } else {
        if (OSSL_PARAM_BLD_push_utf8_string(build.get(), OSSL_PKEY_PARAM_GROUP_NAME,
                                            key->group.c_str(), 0) != 1) {
            return 0;
        }
        if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0 &&
            (!key->hasPublic() ||
             OSSL_PARAM_BLD_push_octet_string(build.get(), OSSL_PKEY_PARAM_PUB_KEY,
                                              key->point.data(), key->point.size()) != 1)) {
            return 0;
        }
    }
    OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(build.get());
    if (params == nullptr) {
        return 0;
    }
    const int rc = callback(params, arg);
    OSSL_PARAM_free(params);
    return rc;
}

const OSSL_PARAM* rsaExportTypes(int) {
    static const OSSL_PARAM types[] = {
        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, nullptr, 0),
        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, nullptr, 0),
        OSSL_PARAM_END,
    };
    return types;
}

const OSSL_PARAM* ecExportTypes(int) {
    static const OSSL_PARAM types[] = {
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, nullptr, 0),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, nullptr, 0),
        OSSL_PARAM_END,
    };
    return types;
}

int keyGetParams(void* keydata, OSSL_PARAM params[]) {
    const auto* key = static_cast<const KeyData*>(keydata);
    if (key == nullptr) {
        return 0;
    }
    OSSL_PARAM* p = nullptr;
    const int bits = key->bits();
    if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_BITS)) != nullptr &&
        OSSL_PARAM_set_int(p, bits) != 1) {
        return 0;
    }
    if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_SECURITY_BITS)) != nullptr &&
        OSSL_PARAM_set_int(p, key->rsa ? BN_security_bits(bits, -1) : bits / 2) != 1) {
        return 0;
    }
    if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_MAX_SIZE)) != nullptr &&
        OSSL_PARAM_set_int(p, key->maxSignatureSize()) != 1) {
        return 0;
    }
    if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_DEFAULT_DIGEST)) != nullptr &&
        OSSL_PARAM_set_utf8_string(p, bits > 256 && !key->rsa ? "SHA384" : "SHA256") != 1) {
        return 0;
    }
    if (key->rsa) {
        if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_RSA_N)) != nullptr &&
            (!key->n || OSSL_PARAM_set_BN(p, key->n.get()) != 1)) {
            return 0;
        }
        if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_RSA_E)) != nullptr &&
            (!key->e || OSSL_PARAM_set_BN(p, key->e.get()) != 1)) {
            return 0;
        }
        return 1;
    }
    if ((p = OSSL_PARAM_locate(params, OSSL_PKEY_PARAM_GROUP_NAME)) != nullptr &&
        OSSL_PARAM_set_utf8_string(p, key->group.c_str()) != 1) {
        return 0;
    }
    for (const char* name : {OSSL_PKEY_PARAM_PUB_KEY, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY}) {
        if ((p = OSSL_PARAM_locate(params, name)) != nullptr &&
            OSSL_PARAM_set_octet_string(p, key->point.data(), key->point.size()) != 1) {
            return 0;
        }
    }
    return 1;
}

const OSSL_PARAM* rsaGettableParams(void*) {
    static const OSSL_PARAM types[] = {
        OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, nullptr),
        OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, nullptr),
        OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, nullptr),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, nullptr, 0),
        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, nullptr, 0),
        OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, nullptr, 0),
        OSSL_PARAM_END,
    };
    return types;
}

const OSSL_PARAM* ecGettableParams(void*) {
    static const OSSL_PARAM types[] = {
        OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, nullptr),
        OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, nullptr),
        OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, nullptr),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, nullptr, 0),
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, nullptr, 0),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, nullptr, 0),
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, nullptr, 0),
        OSSL_PARAM_END,
    };
    return types;
}

// EVP_PKEY_set1_encoded_public_key: how OpenSSL's CMS code builds the originator's key of a
// key agreement from our key's parameters.
int ecSetParams(void* keydata, const OSSL_PARAM params[]) {
    auto* key = static_cast<KeyData*>(keydata);
    const OSSL_PARAM* p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY);
    if (key == nullptr || p == nullptr) {
        return key != nullptr ? 1 : 0;
    }
    if (!setPoint(*key, p)) {
        return 0;
    }
    key->binding.reset();  // a new public key: no longer the card's
    return 1;
}

const OSSL_PARAM* ecSettableParams(void*) {
    static const OSSL_PARAM types[] = {
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, nullptr, 0),
        OSSL_PARAM_END,
    };
    return types;
}

int keyMatch(const void* a, const void* b, int selection) {
    const auto* k1 = static_cast<const KeyData*>(a);
    const auto* k2 = static_cast<const KeyData*>(b);
    if (k1 == nullptr || k2 == nullptr || k1->rsa != k2->rsa) {
        return 0;
    }
    if (k1->rsa) {
        if ((selection & OSSL_KEYMGMT_SELECT_KEYPAIR) != 0) {
            return k1->hasPublic() && k2->hasPublic() && BN_cmp(k1->n.get(), k2->n.get()) == 0 &&
                           BN_cmp(k1->e.get(), k2->e.get()) == 0
                       ? 1
                       : 0;
        }
        return 1;
    }
    if (k1->curveNid() != k2->curveNid() || k1->curveNid() == NID_undef) {
        return 0;
    }
    if ((selection & OSSL_KEYMGMT_SELECT_KEYPAIR) != 0) {
        return k1->hasPublic() && k1->point == k2->point ? 1 : 0;
    }
    return 1;
}

void* keyDup(const void* keydata, int selection) {
    const auto* from = static_cast<const KeyData*>(keydata);
    if (from == nullptr) {
        return nullptr;
    }
    auto* to = new (std::nothrow) KeyData;
    if (to == nullptr) {
        return nullptr;
    }
    to->provider = from->provider;
    to->rsa = from->rsa;
    to->group = from->group;
    if ((selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0) {
        if (from->n) {
            to->n.reset(BN_dup(from->n.get()));
        }
        if (from->e) {
            to->e.reset(BN_dup(from->e.get()));
        }
        to->point = from->point;
    }
    if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0) {
        to->binding = from->binding;
    }
    return to;
}

int keyValidate(const void* keydata, int selection, int) {
    const auto* key = static_cast<const KeyData*>(keydata);
    if (key == nullptr || keyHas(keydata, selection) == 0) {
        return 0;
    }
    if (!key->rsa && (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0) {
        return pointOnCurve(*key, key->point.data(), key->point.size()) ? 1 : 0;
    }
    return 1;
}

const char* rsaOperationName(int) {
    return "RSA";
}

const char* ecOperationName(int operation) {
    switch (operation) {
        case OSSL_OP_SIGNATURE:
            return "ECDSA";
        case OSSL_OP_KEYEXCH:
            return "ECDH";
        default:
            return nullptr;
    }
}

const OSSL_DISPATCH kRsaKeymgmt[] = {
    {OSSL_FUNC_KEYMGMT_NEW, fn(rsaNew)},
    {OSSL_FUNC_KEYMGMT_FREE, fn(freeObject<KeyData>)},
    {OSSL_FUNC_KEYMGMT_HAS, fn(keyHas)},
    {OSSL_FUNC_KEYMGMT_IMPORT, fn(keyImport)},
    {OSSL_FUNC_KEYMGMT_IMPORT_TYPES, fn(rsaImportTypes)},
    {OSSL_FUNC_KEYMGMT_EXPORT, fn(keyExport)},
    {OSSL_FUNC_KEYMGMT_EXPORT_TYPES, fn(rsaExportTypes)},
    {OSSL_FUNC_KEYMGMT_GET_PARAMS, fn(keyGetParams)},
    {OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, fn(rsaGettableParams)},
    {OSSL_FUNC_KEYMGMT_MATCH, fn(keyMatch)},
    {OSSL_FUNC_KEYMGMT_DUP, fn(keyDup)},
    {OSSL_FUNC_KEYMGMT_VALIDATE, fn(keyValidate)},
    {OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, fn(rsaOperationName)},
    {0, nullptr},
};

const OSSL_DISPATCH kEcKeymgmt[] = {
    {OSSL_FUNC_KEYMGMT_NEW, fn(ecNew)},
    {OSSL_FUNC_KEYMGMT_FREE, fn(freeObject<KeyData>)},
    {OSSL_FUNC_KEYMGMT_HAS, fn(keyHas)},
    {OSSL_FUNC_KEYMGMT_IMPORT, fn(keyImport)},
    {OSSL_FUNC_KEYMGMT_IMPORT_TYPES, fn(ecImportTypes)},
    {OSSL_FUNC_KEYMGMT_EXPORT, fn(keyExport)},
    {OSSL_FUNC_KEYMGMT_EXPORT_TYPES, fn(ecExportTypes)},
    {OSSL_FUNC_KEYMGMT_GET_PARAMS, fn(keyGetParams)},
    {OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, fn(ecGettableParams)},
    {OSSL_FUNC_KEYMGMT_SET_PARAMS, fn(ecSetParams)},
    {OSSL_FUNC_KEYMGMT_SETTABLE_PARAMS, fn(ecSettableParams)},
    {OSSL_FUNC_KEYMGMT_MATCH, fn(keyMatch)},
    {OSSL_FUNC_KEYMGMT_DUP, fn(keyDup)},
    {OSSL_FUNC_KEYMGMT_VALIDATE, fn(keyValidate)},
    {OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, fn(ecOperationName)},
    {0, nullptr},
};

// ---- running a card operation ----

// Runs `operation` on the key's card binding, keeping whatever it throws for the C++ caller
// (OpenSSL's C code must not be unwound through).
template <class F>
int onCard(const KeyData* key, F operation) {
    if (key == nullptr || !key->binding || key->binding->operations == nullptr) {
        ERR_raise_data(ERR_LIB_PROV, ERR_R_PASSED_INVALID_ARGUMENT, "not a card key");
        return 0;
    }
    Binding& binding = *key->binding;
    binding.used = true;
    try {
        operation(*binding.operations);
        return 1;
    } catch (...) {
        if (!binding.error) {
            binding.error = std::current_exception();
        }
        ERR_raise_data(ERR_LIB_PROV, ERR_R_OPERATION_FAIL, "card operation failed");
        return 0;
    }
}

std::optional<card::HashAlgorithm> hashOf(const EVP_MD* md) {
    if (md == nullptr) {
        return std::nullopt;
    }
    if (EVP_MD_is_a(md, "SHA256")) {
        return card::HashAlgorithm::Sha256;
    }
    if (EVP_MD_is_a(md, "SHA384")) {
        return card::HashAlgorithm::Sha384;
    }
    if (EVP_MD_is_a(md, "SHA512")) {
        return card::HashAlgorithm::Sha512;
    }
    return std::nullopt;
}

// The digest of a signature: hashOf's, and SHA-1, which only a caller that allowed it asks for
// (the HiPKI endpoint's allow_sha1: the service layer decides). OAEP keeps hashOf's list.
std::optional<card::HashAlgorithm> signatureHashOf(const EVP_MD* md) {
    if (md != nullptr && EVP_MD_is_a(md, "SHA1")) {
        return card::HashAlgorithm::Sha1;
    }
    return hashOf(md);
}

std::optional<card::HashAlgorithm> hashOfLength(std::size_t length) {
    for (const auto hash :
         {card::HashAlgorithm::Sha256, card::HashAlgorithm::Sha384, card::HashAlgorithm::Sha512}) {
        if (card::digestSize(hash) == length) {
            return hash;
        }
    }
    return std::nullopt;
}

using MdPtr = std::unique_ptr<EVP_MD, detail::Deleter<EVP_MD_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, detail::Deleter<EVP_MD_CTX_free>>;

// A pad mode parameter: an int, or one of OpenSSL's names.
bool readPadMode(const OSSL_PARAM* p, int& mode) {
    if (p->data_type == OSSL_PARAM_INTEGER) {
        return OSSL_PARAM_get_int(p, &mode) == 1;
    }
    if (p->data_type != OSSL_PARAM_UTF8_STRING || p->data == nullptr) {
        return false;
    }
    const std::string name(static_cast<const char*>(p->data));
    if (name == OSSL_PKEY_RSA_PAD_MODE_PKCSV15) {
        mode = RSA_PKCS1_PADDING;
    } else if (name == OSSL_PKEY_RSA_PAD_MODE_PSS) {
        mode = RSA_PKCS1_PSS_PADDING;
    } else if (name == OSSL_PKEY_RSA_PAD_MODE_OAEP) {
        mode = RSA_PKCS1_OAEP_PADDING;
    } else if (name == OSSL_PKEY_RSA_PAD_MODE_NONE) {
        mode = RSA_NO_PADDING;
    } else {
        return false;
    }
    return true;
}

MdPtr fetchDigest(const ProviderContext* provider, const OSSL_PARAM* p) {
    const char* name = utf8Param(p);
    if (name == nullptr) {
        return nullptr;
    }
    return MdPtr(EVP_MD_fetch(provider->libraryContext, name, nullptr));
}

// OSSL_FUNC_*_set_ctx_params of an operation context whose parameters `Read` takes.
template <class Context, int (*Read)(Context&, const OSSL_PARAM[])>
int setContextParams(void* vctx, const OSSL_PARAM params[]) {
    auto* ctx = static_cast<Context*>(vctx);
    if (ctx == nullptr) {
        return 0;
    }
    return params == nullptr ? 1 : Read(*ctx, params);
}

// OSSL_FUNC_*_init of an operation context: binds it to a card key of the kind it works
// with, then takes the parameters.
template <class Context, int (*Read)(Context&, const OSSL_PARAM[])>
int initWithKey(void* vctx, void* provkey, const OSSL_PARAM params[]) {
    auto* ctx = static_cast<Context*>(vctx);
    const auto* key = static_cast<const KeyData*>(provkey);
    if (ctx == nullptr || key == nullptr || key->rsa != ctx->usesRsaKey() || !key->binding) {
        return 0;
    }
    ctx->key = key;
    return setContextParams<Context, Read>(ctx, params);
}

// What every operation context holds: where it was made and, once initialised, its key.
struct OperationContext {
    ProviderContext* provider = nullptr;
    const KeyData* key = nullptr;
};

// ---- signature (RSA PKCS#1 v1.5, RSA-PSS, ECDSA) ----

struct SignatureContext : OperationContext {
    bool ecdsa = false;
    int padding = RSA_PKCS1_PADDING;
    int saltLength = RSA_PSS_SALTLEN_DIGEST;
    MdPtr md;
    MdPtr mgf1;
    MdCtxPtr digesting;

    bool usesRsaKey() const { return !ecdsa; }
};

void* signatureNew(void* provctx, bool ecdsa) {
    auto* ctx = static_cast<SignatureContext*>(newObject<SignatureContext>(provctx));
    if (ctx != nullptr) {
        ctx->ecdsa = ecdsa;
    }
    return ctx;
}
void* rsaSignatureNew(void* provctx, const char*) {
    return signatureNew(provctx, false);
}
void* ecdsaSignatureNew(void* provctx, const char*) {
    return signatureNew(provctx, true);
}

void* signatureDup(void* ctx) {
    const auto* from = static_cast<SignatureContext*>(ctx);
    auto* to = new (std::nothrow) SignatureContext;
    if (to == nullptr) {
        return nullptr;
    }
    to->provider = from->provider;
    to->ecdsa = from->ecdsa;
    to->key = from->key;
    to->padding = from->padding;
    to->saltLength = from->saltLength;
    if ((from->md && EVP_MD_up_ref(from->md.get()) != 1) ||
        (from->mgf1 && EVP_MD_up_ref(from->mgf1.get()) != 1)) {
        delete to;
        return nullptr;
    }
    to->md.reset(from->md.get());
    to->mgf1.reset(from->mgf1.get());
    if (from->digesting) {
        to->digesting.reset(EVP_MD_CTX_new());
        if (!to->digesting || EVP_MD_CTX_copy_ex(to->digesting.get(), from->digesting.get()) != 1) {
            delete to;
            return nullptr;
        }
    }
    return to;
}

int readSignatureParams(SignatureContext& ctx, const OSSL_PARAM params[]) {
    const OSSL_PARAM* p = nullptr;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_DIGEST)) != nullptr) {
        ctx.md = fetchDigest(ctx.provider, p);
        if (!ctx.md || !signatureHashOf(ctx.md.get())) {
            ctx.md.reset();
            return 0;
        }
    }
    if (ctx.ecdsa) {
        return 1;
    }
    if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PAD_MODE)) != nullptr) {
        int mode = 0;
        if (!readPadMode(p, mode) || (mode != RSA_PKCS1_PADDING && mode != RSA_PKCS1_PSS_PADDING)) {
            return 0;
        }
        ctx.padding = mode;
    }
    if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_MGF1_DIGEST)) != nullptr) {
        ctx.mgf1 = fetchDigest(ctx.provider, p);
        if (!ctx.mgf1) {
            return 0;
        }
    }
    if ((p = OSSL_PARAM_locate_const(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN)) != nullptr) {
        if (p->data_type == OSSL_PARAM_UTF8_STRING) {
            const std::string value = p->data != nullptr ? static_cast<const char*>(p->data) : "";
            if (value != OSSL_PKEY_RSA_PSS_SALT_LEN_DIGEST) {
                return 0;  // the card's PSS always uses a salt of the hash length
            }
            ctx.saltLength = RSA_PSS_SALTLEN_DIGEST;
        } else if (OSSL_PARAM_get_int(p, &ctx.saltLength) != 1) {
            return 0;
        }
    }
    return 1;
}
constexpr auto signatureSetParams = setContextParams<SignatureContext, readSignatureParams>;

const OSSL_PARAM* rsaSignatureSettable(void*, void*) {
    static const OSSL_PARAM types[] = {
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, nullptr, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PROPERTIES, nullptr, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, nullptr, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, nullptr, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_PROPERTIES, nullptr, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, nullptr, 0),
        OSSL_PARAM_END,
    };
    return types;
}

const OSSL_PARAM* ecdsaSignatureSettable(void*, void*) {
    static const OSSL_PARAM types[] = {
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, nullptr, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PROPERTIES, nullptr, 0),
        OSSL_PARAM_END,
    };
    return types;
}

// The signature's AlgorithmIdentifier, DER. For PSS: RSASSA-PSS-params with the hash, MGF1
// with the same hash, and a salt of the hash length (RFC 4055).
card::Bytes algorithmIdentifier(const SignatureContext& ctx) {
    const EVP_MD* md = ctx.md.get();
    if (md == nullptr) {
        return {};
    }
    std::unique_ptr<X509_ALGOR, detail::Deleter<X509_ALGOR_free>> algorithm(X509_ALGOR_new());
    if (!algorithm) {
        return {};
    }
    if (ctx.ecdsa || ctx.padding == RSA_PKCS1_PADDING) {
        int nid = NID_undef;
        if (OBJ_find_sigid_by_algs(&nid, EVP_MD_get_type(md),
                                   ctx.ecdsa ? NID_X9_62_id_ecPublicKey : NID_rsaEncryption) != 1 ||
            X509_ALGOR_set0(algorithm.get(), OBJ_nid2obj(nid),
                            ctx.ecdsa ? V_ASN1_UNDEF : V_ASN1_NULL, nullptr) != 1) {
            return {};
        }
    } else {
        std::unique_ptr<RSA_PSS_PARAMS, detail::Deleter<RSA_PSS_PARAMS_free>> pss(
            RSA_PSS_PARAMS_new());
        if (!pss) {
            return {};
        }
        pss->hashAlgorithm = X509_ALGOR_new();
        pss->maskGenAlgorithm = X509_ALGOR_new();
        pss->saltLength = ASN1_INTEGER_new();
        if (pss->hashAlgorithm == nullptr || pss->maskGenAlgorithm == nullptr ||
            pss->saltLength == nullptr) {
            return {};
        }
        X509_ALGOR_set_md(pss->hashAlgorithm, md);
        ASN1_STRING* mgfParameter =
            ASN1_item_pack(pss->hashAlgorithm, ASN1_ITEM_rptr(X509_ALGOR), nullptr);
        if (mgfParameter == nullptr) {
            return {};
        }
        if (X509_ALGOR_set0(pss->maskGenAlgorithm, OBJ_nid2obj(NID_mgf1), V_ASN1_SEQUENCE,
                            mgfParameter) != 1) {
            ASN1_STRING_free(mgfParameter);
            return {};
        }
        if (ASN1_INTEGER_set(pss->saltLength, EVP_MD_get_size(md)) != 1) {
            return {};
        }
        ASN1_STRING* parameters =
            ASN1_item_pack(pss.get(), ASN1_ITEM_rptr(RSA_PSS_PARAMS), nullptr);
        if (parameters == nullptr) {
            return {};
        }
        if (X509_ALGOR_set0(algorithm.get(), OBJ_nid2obj(NID_rsassaPss), V_ASN1_SEQUENCE,
                            parameters) != 1) {
            ASN1_STRING_free(parameters);
            return {};
        }
    }
    unsigned char* der = nullptr;
    const int length = i2d_X509_ALGOR(algorithm.get(), &der);
    if (length <= 0) {
        return {};
    }
    card::Bytes out(der, der + length);
    OPENSSL_free(der);
    return out;
}

int signatureGetParams(void* vctx, OSSL_PARAM params[]) {
    const auto* ctx = static_cast<SignatureContext*>(vctx);
    if (ctx == nullptr) {
        return 0;
    }
    OSSL_PARAM* p = nullptr;
    if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_ALGORITHM_ID)) != nullptr) {
        const card::Bytes der = algorithmIdentifier(*ctx);
        if (der.empty() || OSSL_PARAM_set_octet_string(p, der.data(), der.size()) != 1) {
            return 0;
        }
    }
    if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_DIGEST)) != nullptr &&
        (!ctx->md || OSSL_PARAM_set_utf8_string(p, EVP_MD_get0_name(ctx->md.get())) != 1)) {
        return 0;
    }
    if (!ctx->ecdsa) {
        if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PAD_MODE)) != nullptr &&
            OSSL_PARAM_set_int(p, ctx->padding) != 1) {
            return 0;
        }
        if ((p = OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_PSS_SALTLEN)) != nullptr &&
            OSSL_PARAM_set_int(p, ctx->saltLength) != 1) {
            return 0;
        }
    }
    return 1;
}

const OSSL_PARAM* signatureGettable(void*, void*) {
    static const OSSL_PARAM types[] = {
        OSSL_PARAM_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, nullptr, 0),
        OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, nullptr, 0),
        OSSL_PARAM_int(OSSL_SIGNATURE_PARAM_PAD_MODE, nullptr),
        OSSL_PARAM_int(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, nullptr),
        OSSL_PARAM_END,
    };
    return types;
}

constexpr auto signatureInit = initWithKey<SignatureContext, readSignatureParams>;

int signDigest(SignatureContext& ctx, unsigned char* sig, std::size_t* siglen, std::size_t sigsize,
               const unsigned char* tbs, std::size_t tbslen) {
    const std::size_t maximum = static_cast<std::size_t>(ctx.key->maxSignatureSize());
    if (sig == nullptr) {
        *siglen = maximum;
        return 1;
    }
    std::optional<card::HashAlgorithm> hash =
        ctx.md ? signatureHashOf(ctx.md.get()) : (ctx.ecdsa ? hashOfLength(tbslen) : std::nullopt);
    if (!hash || card::digestSize(*hash) != tbslen) {
        ERR_raise_data(ERR_LIB_PROV, ERR_R_PASSED_INVALID_ARGUMENT, "digest unsupported");
        return 0;
    }
    card::SignatureScheme scheme = card::SignatureScheme::Ecdsa;
    if (!ctx.ecdsa) {
        if (ctx.padding == RSA_PKCS1_PSS_PADDING) {
            const bool saltIsHashLength =
                ctx.saltLength == RSA_PSS_SALTLEN_DIGEST ||
                ctx.saltLength == static_cast<int>(card::digestSize(*hash));
            const bool mgf1IsHash = !ctx.mgf1 || signatureHashOf(ctx.mgf1.get()) == hash;
            if (!saltIsHashLength || !mgf1IsHash) {
                ERR_raise_data(ERR_LIB_PROV, ERR_R_PASSED_INVALID_ARGUMENT,
                               "PSS parameters unsupported");
                return 0;
            }
            scheme = card::SignatureScheme::RsaPss;
        } else {
            scheme = card::SignatureScheme::RsaPkcs1v15;
        }
    }
    return onCard(ctx.key, [&](CardKeyOperations& card) {
        const card::Bytes signature = card.sign(scheme, *hash, card::ByteView(tbs, tbslen));
        if (signature.size() > sigsize) {
            throw Error("signature buffer too small");
        }
        std::memcpy(sig, signature.data(), signature.size());
        *siglen = signature.size();
    });
}

int signatureSign(void* vctx, unsigned char* sig, std::size_t* siglen, std::size_t sigsize,
                  const unsigned char* tbs, std::size_t tbslen) {
    auto* ctx = static_cast<SignatureContext*>(vctx);
    if (ctx == nullptr || ctx->key == nullptr) {
        return 0;
    }
    return signDigest(*ctx, sig, siglen, sigsize, tbs, tbslen);
}

int digestSignInit(void* vctx, const char* mdname, void* provkey, const OSSL_PARAM params[]) {
    auto* ctx = static_cast<SignatureContext*>(vctx);
    if (signatureInit(vctx, provkey, nullptr) != 1) {
        return 0;
    }
    if (mdname != nullptr && mdname[0] != '\0') {
        ctx->md.reset(EVP_MD_fetch(ctx->provider->libraryContext, mdname, nullptr));
    }
    if (!ctx->md || !signatureHashOf(ctx->md.get())) {
        return 0;
    }
    ctx->digesting.reset(EVP_MD_CTX_new());
    if (!ctx->digesting || EVP_DigestInit_ex2(ctx->digesting.get(), ctx->md.get(), nullptr) != 1) {
        return 0;
    }
    return signatureSetParams(ctx, params);
}

int digestSignUpdate(void* vctx, const unsigned char* data, std::size_t length) {
    auto* ctx = static_cast<SignatureContext*>(vctx);
    if (ctx == nullptr || !ctx->digesting) {
        return 0;
    }
    return EVP_DigestUpdate(ctx->digesting.get(), data, length);
}

int digestSignFinal(void* vctx, unsigned char* sig, std::size_t* siglen, std::size_t sigsize) {
    auto* ctx = static_cast<SignatureContext*>(vctx);
    if (ctx == nullptr || ctx->key == nullptr || !ctx->digesting) {
        return 0;
    }
    if (sig == nullptr) {
        return signDigest(*ctx, nullptr, siglen, sigsize, nullptr, 0);
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_DigestFinal_ex(ctx->digesting.get(), digest, &length) != 1) {
        return 0;
    }
    return signDigest(*ctx, sig, siglen, sigsize, digest, length);
}

// RSA and ECDSA signatures differ only in how a context starts and what it can be given.
template <void* (*NewContext)(void*, const char*), const OSSL_PARAM* (*Settable)(void*, void*)>
const OSSL_DISPATCH kSignature[] = {
    {OSSL_FUNC_SIGNATURE_NEWCTX, fn(NewContext)},
    {OSSL_FUNC_SIGNATURE_FREECTX, fn(freeObject<SignatureContext>)},
    {OSSL_FUNC_SIGNATURE_DUPCTX, fn(signatureDup)},
    {OSSL_FUNC_SIGNATURE_SIGN_INIT, fn(signatureInit)},
    {OSSL_FUNC_SIGNATURE_SIGN, fn(signatureSign)},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT, fn(digestSignInit)},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE, fn(digestSignUpdate)},
    {OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL, fn(digestSignFinal)},
    {OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS, fn(signatureGetParams)},
    {OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS, fn(signatureGettable)},
    {OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS, fn(signatureSetParams)},
    {OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS, fn(Settable)},
    {0, nullptr},
};

// ---- asymmetric cipher (RSA decryption, PKCS#1 v1.5 and OAEP) ----

struct CipherContext : OperationContext {
    int padding = RSA_PKCS1_PADDING;
    MdPtr oaep;  // null: SHA-1, OpenSSL's default
    MdPtr mgf1;  // null: the OAEP digest
    std::vector<unsigned char> label;

    static bool usesRsaKey() { return true; }
};

int readCipherParams(CipherContext& ctx, const OSSL_PARAM params[]) {
    const OSSL_PARAM* p = nullptr;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_PAD_MODE)) != nullptr) {
        int mode = 0;
        if (!readPadMode(p, mode) || (mode != RSA_PKCS1_PADDING && mode != RSA_PKCS1_OAEP_PADDING &&
                                      mode != RSA_NO_PADDING)) {
            return 0;
        }
        ctx.padding = mode;
    }
    if ((p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST)) != nullptr) {
        ctx.oaep = fetchDigest(ctx.provider, p);
        if (!ctx.oaep) {
            return 0;
        }
    }
    if ((p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST)) != nullptr) {
        ctx.mgf1 = fetchDigest(ctx.provider, p);
        if (!ctx.mgf1) {
            return 0;
        }
    }
    if ((p = OSSL_PARAM_locate_const(params, OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL)) != nullptr) {
        std::optional<std::vector<unsigned char>> label = octetsParam(p);
        if (!label) {
            return 0;
        }
        ctx.label = std::move(*label);
    }
    return 1;
}
constexpr auto cipherSetParams = setContextParams<CipherContext, readCipherParams>;

const OSSL_PARAM* cipherSettable(void*, void*) {
    static const OSSL_PARAM types[] = {
        OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_PAD_MODE, nullptr, 0),
        OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST, nullptr, 0),
        OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST_PROPS, nullptr, 0),
        OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST, nullptr, 0),
        OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST_PROPS, nullptr, 0),
        OSSL_PARAM_octet_string(OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL, nullptr, 0),
        OSSL_PARAM_END,
    };
    return types;
}

int cipherGetParams(void* vctx, OSSL_PARAM params[]) {
    const auto* ctx = static_cast<CipherContext*>(vctx);
    if (ctx == nullptr) {
        return 0;
    }
    OSSL_PARAM* p = OSSL_PARAM_locate(params, OSSL_ASYM_CIPHER_PARAM_PAD_MODE);
    return p == nullptr || OSSL_PARAM_set_int(p, ctx->padding) == 1 ? 1 : 0;
}

const OSSL_PARAM* cipherGettable(void*, void*) {
    static const OSSL_PARAM types[] = {
        OSSL_PARAM_int(OSSL_ASYM_CIPHER_PARAM_PAD_MODE, nullptr),
        OSSL_PARAM_END,
    };
    return types;
}

constexpr auto decryptInit = initWithKey<CipherContext, readCipherParams>;

int cipherDecrypt(void* vctx, unsigned char* out, std::size_t* outlen, std::size_t outsize,
                  const unsigned char* in, std::size_t inlen) {
    auto* ctx = static_cast<CipherContext*>(vctx);
    if (ctx == nullptr || ctx->key == nullptr) {
        return 0;
    }
    const std::size_t k = (static_cast<std::size_t>(ctx->key->bits()) + 7) / 8;
    if (out == nullptr) {
        *outlen = k;
        return 1;
    }
    const card::ByteView ciphertext(in, inlen);
    return onCard(ctx->key, [&](CardKeyOperations& card) {
        card::SecureBytes plaintext;
        if (ctx->padding == RSA_PKCS1_PADDING) {
            plaintext = card.decrypt(card::RsaDecryptPadding::Pkcs1v15, card::HashAlgorithm::Sha256,
                                     ciphertext);
        } else if (ctx->padding == RSA_NO_PADDING) {
            plaintext = card.decrypt(card::RsaDecryptPadding::None, card::HashAlgorithm::Sha256,
                                     ciphertext);
        } else {
            const EVP_MD* oaep = ctx->oaep ? ctx->oaep.get() : EVP_sha1();
            const EVP_MD* mgf1 = ctx->mgf1 ? ctx->mgf1.get() : oaep;
            const std::optional<card::HashAlgorithm> hash = hashOf(oaep);
            if (hash && hashOf(mgf1) == hash && ctx->label.empty()) {
                plaintext = card.decrypt(card::RsaDecryptPadding::Oaep, *hash, ciphertext);
            } else {
                // An OAEP variant the token interface does not name: the card does the raw
                // RSA step and OpenSSL's constant-time check removes the padding here.
                const card::SecureBytes block = card.decrypt(
                    card::RsaDecryptPadding::None, card::HashAlgorithm::Sha256, ciphertext);
                if (block.size() != k) {
                    throw PaddingError();
                }
                card::SecureBytes buffer(k);
                const int n = static_cast<int>(k);
                const int length = RSA_padding_check_PKCS1_OAEP_mgf1(
                    buffer.data(), n, block.data(), n, n, ctx->label.data(),
                    static_cast<int>(ctx->label.size()), oaep, mgf1);
                ERR_clear_error();
                if (length < 0) {
                    throw PaddingError();
                }
                plaintext =
                    card::SecureBytes(buffer.view().first(static_cast<std::size_t>(length)));
            }
        }
        if (plaintext.size() > outsize) {
            throw Error("plaintext buffer too small");
        }
        std::memcpy(out, plaintext.data(), plaintext.size());
        *outlen = plaintext.size();
    });
}

const OSSL_DISPATCH kRsaCipher[] = {
    {OSSL_FUNC_ASYM_CIPHER_NEWCTX, fn(newObject<CipherContext>)},
    {OSSL_FUNC_ASYM_CIPHER_FREECTX, fn(freeObject<CipherContext>)},
    {OSSL_FUNC_ASYM_CIPHER_DECRYPT_INIT, fn(decryptInit)},
    {OSSL_FUNC_ASYM_CIPHER_DECRYPT, fn(cipherDecrypt)},
    {OSSL_FUNC_ASYM_CIPHER_GET_CTX_PARAMS, fn(cipherGetParams)},
    {OSSL_FUNC_ASYM_CIPHER_GETTABLE_CTX_PARAMS, fn(cipherGettable)},
    {OSSL_FUNC_ASYM_CIPHER_SET_CTX_PARAMS, fn(cipherSetParams)},
    {OSSL_FUNC_ASYM_CIPHER_SETTABLE_CTX_PARAMS, fn(cipherSettable)},
    {0, nullptr},
};

// ---- key exchange (ECDH, optionally followed by the X9.63 KDF) ----

struct ExchangeContext : OperationContext {
    std::vector<unsigned char> peer;
    bool x963 = false;
    std::string kdfDigest;
    std::size_t kdfLength = 0;
    std::vector<unsigned char> ukm;

    static bool usesRsaKey() { return false; }
};

int readExchangeParams(ExchangeContext& ctx, const OSSL_PARAM params[]) {
    const OSSL_PARAM* p = nullptr;
    if ((p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_EC_ECDH_COFACTOR_MODE)) !=
        nullptr) {
        // P-256 and P-384 have cofactor 1: cofactor ECDH is plain ECDH.
        int mode = 0;
        if (OSSL_PARAM_get_int(p, &mode) != 1 || mode < -1 || mode > 1) {
            return 0;
        }
    }
    if ((p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_KDF_TYPE)) != nullptr) {
        const char* name = utf8Param(p);
        if (name == nullptr) {
            return 0;
        }
        const std::string type(name);
        if (type.empty()) {
            ctx.x963 = false;
        } else if (type == OSSL_KDF_NAME_X963KDF) {
            ctx.x963 = true;
        } else {
            return 0;
        }
    }
    if ((p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_KDF_DIGEST)) != nullptr) {
        const char* name = utf8Param(p);
        if (name == nullptr) {
            return 0;
        }
        ctx.kdfDigest = name;
    }
    if ((p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_KDF_OUTLEN)) != nullptr &&
        OSSL_PARAM_get_size_t(p, &ctx.kdfLength) != 1) {
        return 0;
    }
    if ((p = OSSL_PARAM_locate_const(params, OSSL_EXCHANGE_PARAM_KDF_UKM)) != nullptr) {
        std::optional<std::vector<unsigned char>> ukm = octetsParam(p);
        if (!ukm) {
            return 0;
        }
        ctx.ukm = std::move(*ukm);
    }
    return 1;
}
constexpr auto exchangeSetParams = setContextParams<ExchangeContext, readExchangeParams>;

const OSSL_PARAM* exchangeSettable(void*, void*) {
    static const OSSL_PARAM types[] = {
        OSSL_PARAM_int(OSSL_EXCHANGE_PARAM_EC_ECDH_COFACTOR_MODE, nullptr),
        OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_TYPE, nullptr, 0),
        OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_DIGEST, nullptr, 0),
        OSSL_PARAM_utf8_string(OSSL_EXCHANGE_PARAM_KDF_DIGEST_PROPS, nullptr, 0),
        OSSL_PARAM_size_t(OSSL_EXCHANGE_PARAM_KDF_OUTLEN, nullptr),
        OSSL_PARAM_octet_string(OSSL_EXCHANGE_PARAM_KDF_UKM, nullptr, 0),
        OSSL_PARAM_END,
    };
    return types;
}

constexpr auto exchangeInit = initWithKey<ExchangeContext, readExchangeParams>;

int exchangeSetPeer(void* vctx, void* provkey) {
    auto* ctx = static_cast<ExchangeContext*>(vctx);
    const auto* peer = static_cast<const KeyData*>(provkey);
    if (ctx == nullptr || ctx->key == nullptr || peer == nullptr || peer->rsa ||
        peer->curveNid() != ctx->key->curveNid() ||
        !pointOnCurve(*ctx->key, peer->point.data(), peer->point.size())) {
        return 0;
    }
    ctx->peer = peer->point;
    return 1;
}

int exchangeDerive(void* vctx, unsigned char* secret, std::size_t* secretlen, std::size_t outlen) {
    auto* ctx = static_cast<ExchangeContext*>(vctx);
    if (ctx == nullptr || ctx->key == nullptr || ctx->peer.empty()) {
        return 0;
    }
    const std::size_t length = ctx->x963 ? ctx->kdfLength : ctx->key->fieldBytes();
    if (secret == nullptr) {
        *secretlen = length;
        return 1;
    }
    if (length == 0 || outlen < length || (ctx->x963 && ctx->kdfDigest.empty())) {
        return 0;
    }
    return onCard(ctx->key, [&](CardKeyOperations& card) {
        card::SecureBytes z = card.deriveSharedSecret(ctx->peer);
        if (!ctx->x963) {
            std::memcpy(secret, z.data(), length);
            *secretlen = length;
            return;
        }
        std::unique_ptr<EVP_KDF, detail::Deleter<EVP_KDF_free>> kdf(
            EVP_KDF_fetch(ctx->provider->libraryContext, OSSL_KDF_NAME_X963KDF, nullptr));
        std::unique_ptr<EVP_KDF_CTX, detail::Deleter<EVP_KDF_CTX_free>> kctx(
            kdf ? EVP_KDF_CTX_new(kdf.get()) : nullptr);
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, ctx->kdfDigest.data(), 0),
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, z.data(), z.size()),
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, ctx->ukm.data(),
                                              ctx->ukm.size()),
            OSSL_PARAM_construct_end(),
        };
        if (!kctx || EVP_KDF_derive(kctx.get(), secret, length, params) != 1) {
            throw Error(openSslMessage("X9.63 KDF failed"));
        }
        *secretlen = length;
    });
}

const OSSL_DISPATCH kEcdhExchange[] = {
    {OSSL_FUNC_KEYEXCH_NEWCTX, fn(newObject<ExchangeContext>)},
    {OSSL_FUNC_KEYEXCH_FREECTX, fn(freeObject<ExchangeContext>)},
    {OSSL_FUNC_KEYEXCH_INIT, fn(exchangeInit)},
    {OSSL_FUNC_KEYEXCH_SET_PEER, fn(exchangeSetPeer)},
    {OSSL_FUNC_KEYEXCH_DERIVE, fn(exchangeDerive)},
    {OSSL_FUNC_KEYEXCH_SET_CTX_PARAMS, fn(exchangeSetParams)},
    {OSSL_FUNC_KEYEXCH_SETTABLE_CTX_PARAMS, fn(exchangeSettable)},
    {0, nullptr},
};

// ---- the provider ----

const OSSL_ALGORITHM kKeymgmtAlgorithms[] = {
    {kRsaNames, kProperties, kRsaKeymgmt, "TenderKey card RSA key"},
    {kEcNames, kProperties, kEcKeymgmt, "TenderKey card EC key"},
    {nullptr, nullptr, nullptr, nullptr},
};
const OSSL_ALGORITHM kSignatureAlgorithms[] = {
    {kRsaNames, kProperties, kSignature<rsaSignatureNew, rsaSignatureSettable>,
     "RSA signature on the card"},
    {"ECDSA", kProperties, kSignature<ecdsaSignatureNew, ecdsaSignatureSettable>,
     "ECDSA on the card"},
    {nullptr, nullptr, nullptr, nullptr},
};
const OSSL_ALGORITHM kCipherAlgorithms[] = {
    {kRsaNames, kProperties, kRsaCipher, "RSA decryption on the card"},
    {nullptr, nullptr, nullptr, nullptr},
};
const OSSL_ALGORITHM kExchangeAlgorithms[] = {
    {"ECDH", kProperties, kEcdhExchange, "ECDH on the card"},
    {nullptr, nullptr, nullptr, nullptr},
};

const OSSL_ALGORITHM* queryOperation(void*, int operation, int* noCache) {
    *noCache = 0;
    switch (operation) {
        case OSSL_OP_KEYMGMT:
            return kKeymgmtAlgorithms;
        case OSSL_OP_SIGNATURE:
            return kSignatureAlgorithms;
        case OSSL_OP_ASYM_CIPHER:
            return kCipherAlgorithms;
        case OSSL_OP_KEYEXCH:
            return kExchangeAlgorithms;
        default:
            return nullptr;
    }
}

void teardown(void* provctx) {
    delete static_cast<ProviderContext*>(provctx);
}

const OSSL_DISPATCH kProvider[] = {
    {OSSL_FUNC_PROVIDER_QUERY_OPERATION, fn(queryOperation)},
    {OSSL_FUNC_PROVIDER_TEARDOWN, fn(teardown)},
    {0, nullptr},
};

int providerInit(const OSSL_CORE_HANDLE* handle, const OSSL_DISPATCH* in, const OSSL_DISPATCH** out,
                 void** provctx) {
    OSSL_FUNC_core_get_libctx_fn* getLibraryContext = nullptr;
    for (; in != nullptr && in->function_id != 0; ++in) {
        if (in->function_id == OSSL_FUNC_CORE_GET_LIBCTX) {
            getLibraryContext = OSSL_FUNC_core_get_libctx(in);
        }
    }
    if (getLibraryContext == nullptr) {
        return 0;
    }
    auto* context = new (std::nothrow) ProviderContext;
    if (context == nullptr) {
        return 0;
    }
    // For a built-in provider the core context is the library context it was added to.
    context->libraryContext = reinterpret_cast<OSSL_LIB_CTX*>(getLibraryContext(handle));
    *provctx = context;
    *out = kProvider;
    return 1;
}

struct Library {
    OSSL_LIB_CTX* context = nullptr;
    OSSL_PROVIDER* defaults = nullptr;
    OSSL_PROVIDER* card = nullptr;

    Library() {
        context = OSSL_LIB_CTX_new();
        if (context == nullptr ||
            OSSL_PROVIDER_add_builtin(context, kProviderName, providerInit) != 1 ||
            (defaults = OSSL_PROVIDER_load(context, "default")) == nullptr ||
            (card = OSSL_PROVIDER_load(context, kProviderName)) == nullptr ||
            // Everything but the card keys' own operations comes from the default provider.
            EVP_set_default_properties(context, "?provider=default") != 1) {
            const std::string message = openSslMessage("card provider set-up failed");
            release();
            throw Error(message);
        }
    }
    ~Library() { release(); }
    Library(const Library&) = delete;
    Library& operator=(const Library&) = delete;
    Library(Library&&) = delete;
    Library& operator=(Library&&) = delete;

    void release() noexcept {
        if (card != nullptr) {
            OSSL_PROVIDER_unload(card);
        }
        if (defaults != nullptr) {
            OSSL_PROVIDER_unload(defaults);
        }
        OSSL_LIB_CTX_free(context);
        card = defaults = nullptr;
        context = nullptr;
    }
};

}  // namespace

ossl_lib_ctx_st* cardLibraryContext() {
    static Library library;
    return library.context;
}

// ---- CardKey ----

CardKey::CardKey(card::ByteView certificateDer, CardKeyOperations& operations)
    : binding_(std::make_shared<Binding>()) {
    binding_->operations = &operations;
    OSSL_LIB_CTX* context = cardLibraryContext();
    const unsigned char* p = certificateDer.data();
    detail::X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(certificateDer.size())));
    if (!cert || p != certificateDer.data() + certificateDer.size()) {
        throw Error(openSslMessage("not a DER certificate"));
    }
    const EVP_PKEY* publicKey = X509_get0_pubkey(cert.get());
    if (publicKey == nullptr) {
        throw Error(openSslMessage("certificate public key unreadable"));
    }
    const bool rsa = EVP_PKEY_is_a(publicKey, "RSA");
    if (!rsa && !EVP_PKEY_is_a(publicKey, "EC")) {
        throw Error("the certificate's key is neither RSA nor EC");
    }
    std::unique_ptr<OSSL_PARAM_BLD, detail::Deleter<OSSL_PARAM_BLD_free>> build(
        OSSL_PARAM_BLD_new());
    std::shared_ptr<Binding>* bindingAddress = &binding_;
    BIGNUM* n = nullptr;
    BIGNUM* e = nullptr;
    detail::BignumPtr nOwner;
    detail::BignumPtr eOwner;
    card::Bytes point(256);
    std::size_t pointLength = 0;
    char group[64] = {};
    std::size_t groupLength = 0;
    bool ok = static_cast<bool>(build);
    if (ok && rsa) {
        ok = EVP_PKEY_get_bn_param(publicKey, OSSL_PKEY_PARAM_RSA_N, &n) == 1 &&
             EVP_PKEY_get_bn_param(publicKey, OSSL_PKEY_PARAM_RSA_E, &e) == 1;
        nOwner.reset(n);
        eOwner.reset(e);
        ok = ok && OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_RSA_N, n) == 1 &&
             OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_RSA_E, e) == 1;
    } else if (ok) {
        ok = EVP_PKEY_get_utf8_string_param(publicKey, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                            sizeof group, &groupLength) == 1 &&
             EVP_PKEY_get_octet_string_param(publicKey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                             point.data(), point.size(), &pointLength) == 1 &&
             OSSL_PARAM_BLD_push_utf8_string(build.get(), OSSL_PKEY_PARAM_GROUP_NAME, group,
                                             groupLength) == 1 &&
             OSSL_PARAM_BLD_push_octet_string(build.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                              pointLength) == 1;
    }
    ok = ok && OSSL_PARAM_BLD_push_octet_string(build.get(), kBindingParam, &bindingAddress,
                                                sizeof bindingAddress) == 1;
    OSSL_PARAM* params = ok ? OSSL_PARAM_BLD_to_param(build.get()) : nullptr;
    detail::EvpPkeyCtxPtr ctx(
        params != nullptr ? EVP_PKEY_CTX_new_from_name(context, rsa ? "RSA" : "EC", kProperties)
                          : nullptr);
    EVP_PKEY* key = nullptr;
    ok = ctx && EVP_PKEY_fromdata_init(ctx.get()) == 1 &&
         EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_KEYPAIR, params) == 1;
    OSSL_PARAM_free(params);
    if (!ok || key == nullptr) {
        EVP_PKEY_free(key);
        throw Error(openSslMessage("card key set-up failed"));
    }
    key_ = key;
}

CardKey::~CardKey() {
    EVP_PKEY_free(key_);
}

void CardKey::rethrowCardError() {
    if (binding_->error) {
        std::rethrow_exception(std::exchange(binding_->error, nullptr));
    }
}

bool CardKey::cardWasUsed() const noexcept {
    return binding_->used;
}

// ---- TokenKeyOperations ----

TokenKeyOperations::TokenKeyOperations(card::Token& token, std::string slot, card::PinInput pin)
    : token_(token), slot_(std::move(slot)), pin_(std::move(pin)) {}

card::PinInput TokenKeyOperations::takePin() {
    if (++operations_ > 1) {
        throw Error("a request uses its card key once");
    }
    return std::move(pin_);
}

card::Bytes TokenKeyOperations::sign(card::SignatureScheme scheme, card::HashAlgorithm hash,
                                     card::ByteView digest) {
    card::SignRequest request;
    request.slot = slot_;
    request.scheme = scheme;
    request.hash = hash;
    request.digest.assign(digest.begin(), digest.end());
    request.pin = takePin();
    return token_.sign(request);
}

card::SecureBytes TokenKeyOperations::decrypt(card::RsaDecryptPadding padding,
                                              card::HashAlgorithm oaepHash,
                                              card::ByteView ciphertext) {
    card::DecryptRequest request;
    request.slot = slot_;
    request.padding = padding;
    request.oaepHash = oaepHash;
    request.ciphertext.assign(ciphertext.begin(), ciphertext.end());
    request.pin = takePin();
    return token_.decrypt(request);
}

card::SecureBytes TokenKeyOperations::deriveSharedSecret(card::ByteView peerPoint) {
    card::DeriveRequest request;
    request.slot = slot_;
    request.peerPoint.assign(peerPoint.begin(), peerPoint.end());
    request.pin = takePin();
    return token_.deriveSharedSecret(request);
}

}  // namespace tk::crypto
