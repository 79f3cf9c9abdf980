#include "card/pkcs11/pkcs11_token.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <map>

#include "crypto/certificate.hpp"
#include "crypto/digest.hpp"
#include "crypto/ecdsa.hpp"
#include "crypto/errors.hpp"
#include "crypto/public_key.hpp"
#include "crypto/rsa_padding.hpp"
#include "pcsc/errors.hpp"

namespace tk::card::pkcs11 {

struct Pkcs11Token::KeyData {
    Bytes id;
    crypto::PublicKey publicKey;
    bool alwaysAuthenticate = false;
};

// Logs out when an operation that logged in ends, normally or by an exception.
class Pkcs11Token::LoginGuard {
  public:
    explicit LoginGuard(Pkcs11Token& token) noexcept : token_(token) {}
    ~LoginGuard() {
        if (armed_ && token_.session_ != CK_INVALID_HANDLE) {
            const CK_RV rv = token_.f_->C_Logout(token_.session_);
            if (rv != CKR_OK && rv != CKR_USER_NOT_LOGGED_IN) {
                // The login state ends with the last session of the application.
                token_.closeSession();
            }
        }
    }
    LoginGuard(const LoginGuard&) = delete;
    LoginGuard& operator=(const LoginGuard&) = delete;
    LoginGuard(LoginGuard&&) = delete;
    LoginGuard& operator=(LoginGuard&&) = delete;

    void arm() noexcept { armed_ = true; }

  private:
    Pkcs11Token& token_;
    bool armed_ = false;
};

namespace {

constexpr std::size_t kCardIdBytes = 10;
constexpr CK_ULONG kMaxObjects = 64;

// DER DigestInfo prefixes (RFC 8017 §9.2 note 1); the digest follows.
constexpr std::array<std::uint8_t, 19> kSha256Info{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                                   0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                                   0x01, 0x05, 0x00, 0x04, 0x20};
constexpr std::array<std::uint8_t, 19> kSha384Info{0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                                   0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                                   0x02, 0x05, 0x00, 0x04, 0x30};
constexpr std::array<std::uint8_t, 19> kSha512Info{0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                                   0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                                   0x03, 0x05, 0x00, 0x04, 0x40};
constexpr std::array<std::uint8_t, 15> kSha1Info{0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
                                                 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14};

ByteView digestInfoPrefix(HashAlgorithm hash) {
    switch (hash) {
        case HashAlgorithm::Sha256:
            return kSha256Info;
        case HashAlgorithm::Sha384:
            return kSha384Info;
        case HashAlgorithm::Sha512:
            return kSha512Info;
        case HashAlgorithm::Sha1:
            return kSha1Info;
    }
    return kSha256Info;
}

CK_MECHANISM_TYPE hashMechanism(HashAlgorithm hash) {
    switch (hash) {
        case HashAlgorithm::Sha256:
            return CKM_SHA256;
        case HashAlgorithm::Sha384:
            return CKM_SHA384;
        case HashAlgorithm::Sha512:
            return CKM_SHA512;
        case HashAlgorithm::Sha1:
            return CKM_SHA_1;
    }
    return CKM_SHA256;
}

CK_RSA_PKCS_MGF_TYPE mgfFor(HashAlgorithm hash) {
    switch (hash) {
        case HashAlgorithm::Sha256:
            return CKG_MGF1_SHA256;
        case HashAlgorithm::Sha384:
            return CKG_MGF1_SHA384;
        case HashAlgorithm::Sha512:
            return CKG_MGF1_SHA512;
        case HashAlgorithm::Sha1:
            return CKG_MGF1_SHA1;
    }
    return CKG_MGF1_SHA256;
}

PinStatus statusFrom(bool locked, bool finalTry, bool countLow) {
    if (locked) {
        return PinStatus{0, true};
    }
    if (finalTry) {
        return PinStatus{1, false};
    }
    if (countLow) {
        return PinStatus{2, false};
    }
    return PinStatus{kUncountedTries, false};
}

// The error a refused PIN, PUK or new value maps to.
[[noreturn]] void throwForLogin(CK_RV rv, Credential credential, const PinStatus& after,
                                const char* function) {
    const bool pin = credential == Credential::Pin;
    const int retries = after.retriesLeft.value_or(kUncountedTries);
    if (rv == CKR_PIN_LOCKED || (rv == CKR_PIN_INCORRECT && after.blocked)) {
        if (pin) {
            throw PinBlocked();
        }
        throw PukBlocked();
    }
    if (rv == CKR_PIN_INCORRECT) {
        if (pin) {
            throw PinIncorrect(retries);
        }
        throw PukIncorrect(retries);
    }
    switch (rv) {
        case CKR_PIN_LEN_RANGE:
        case CKR_PIN_INVALID:
            throw PinFormat(credential);
        case CKR_FUNCTION_CANCELED:
        case CKR_CANCEL:
            throw PinpadCancelled();
        default:
            throwForRv(rv, function);
    }
}

}  // namespace

PinStatus pinStatusFromFlags(CK_FLAGS flags) {
    return statusFrom((flags & CKF_USER_PIN_LOCKED) != 0, (flags & CKF_USER_PIN_FINAL_TRY) != 0,
                      (flags & CKF_USER_PIN_COUNT_LOW) != 0);
}

PinStatus soPinStatusFromFlags(CK_FLAGS flags) {
    return statusFrom((flags & CKF_SO_PIN_LOCKED) != 0, (flags & CKF_SO_PIN_FINAL_TRY) != 0,
                      (flags & CKF_SO_PIN_COUNT_LOW) != 0);
}

std::string deriveTokenCardId(const TokenDescription& token) {
    const std::string_view label = "pkcs11-token:";
    Bytes input(label.begin(), label.end());
    const auto add = [&input](const std::string& field, bool separator) {
        if (separator) {
            input.push_back(0x00);
        }
        input.insert(input.end(), field.begin(), field.end());
    };
    add(token.manufacturer, false);
    add(token.model, true);
    add(token.serialNumber, true);
    if (token.serialNumber.empty()) {
        add(token.label, true);
    }
    const Bytes hash = crypto::digest(HashAlgorithm::Sha256, input);
    return toHex(ByteView(hash).first(kCardIdBytes));
}

Pkcs11Token::Pkcs11Token(std::shared_ptr<Module> module, CK_SLOT_ID slot)
    : module_(std::move(module)), f_(module_->functions()), slot_(slot) {}

Pkcs11Token::~Pkcs11Token() {
    closeSession();
}

template <class Operation>
auto Pkcs11Token::guarded(Operation&& operation) {
    try {
        return operation();
    } catch (const pcsc::CardRemoved&) {
        closeSession();
        loaded_ = false;
        throw;
    }
}

CK_SESSION_HANDLE Pkcs11Token::session() {
    if (session_ != CK_INVALID_HANDLE) {
        return session_;
    }
    CK_SESSION_HANDLE handle = CK_INVALID_HANDLE;
    CK_RV rv =
        f_->C_OpenSession(slot_, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &handle);
    if (rv == CKR_TOKEN_WRITE_PROTECTED) {
        rv = f_->C_OpenSession(slot_, CKF_SERIAL_SESSION, nullptr, nullptr, &handle);
    }
    check(rv, "C_OpenSession");
    session_ = handle;
    return session_;
}

void Pkcs11Token::closeSession() noexcept {
    if (session_ != CK_INVALID_HANDLE) {
        f_->C_CloseSession(session_);
        session_ = CK_INVALID_HANDLE;
    }
}

TokenDescription Pkcs11Token::tokenInfo() {
    return module_->token(slot_);
}

std::vector<CK_OBJECT_HANDLE> Pkcs11Token::findObjects(CK_ATTRIBUTE* attributes, CK_ULONG count) {
    const CK_SESSION_HANDLE s = session();
    check(f_->C_FindObjectsInit(s, attributes, count), "C_FindObjectsInit");
    std::vector<CK_OBJECT_HANDLE> found;
    CK_RV rv = CKR_OK;
    while (true) {
        std::array<CK_OBJECT_HANDLE, kMaxObjects> batch{};
        CK_ULONG n = 0;
        rv = f_->C_FindObjects(s, batch.data(), batch.size(), &n);
        if (rv != CKR_OK || n == 0) {
            break;
        }
        found.insert(found.end(), batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(n));
    }
    f_->C_FindObjectsFinal(s);
    check(rv, "C_FindObjects");
    return found;
}

std::optional<Bytes> Pkcs11Token::attribute(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) {
    CK_ATTRIBUTE a{type, nullptr, 0};
    CK_RV rv = f_->C_GetAttributeValue(session(), object, &a, 1);
    if (rv == CKR_ATTRIBUTE_TYPE_INVALID || rv == CKR_ATTRIBUTE_SENSITIVE ||
        a.ulValueLen == CK_UNAVAILABLE_INFORMATION) {
        return std::nullopt;
    }
    check(rv, "C_GetAttributeValue");
    Bytes value(a.ulValueLen);
    a.pValue = value.data();
    rv = f_->C_GetAttributeValue(session(), object, &a, 1);
    check(rv, "C_GetAttributeValue");
    value.resize(a.ulValueLen);
    return value;
}

void Pkcs11Token::load() {
    if (loaded_) {
        return;
    }
    const TokenDescription token = tokenInfo();
    if ((token.flags & CKF_TOKEN_INITIALIZED) == 0) {
        throw UnsupportedCard("the PKCS#11 token is not initialised");
    }
    std::string cardId = deriveTokenCardId(token);
    std::vector<CertificateEntry> entries;
    std::vector<KeyData> keys;
    std::vector<SkippedCertificate> skipped;

    CK_OBJECT_CLASS certClass = CKO_CERTIFICATE;
    CK_CERTIFICATE_TYPE x509 = CKC_X_509;
    std::array<CK_ATTRIBUTE, 2> certTemplate{{
        {CKA_CLASS, &certClass, sizeof certClass},
        {CKA_CERTIFICATE_TYPE, &x509, sizeof x509},
    }};
    struct Found {
        std::string slot;
        CertificateEntry entry;
        KeyData key;
    };
    std::map<std::string, Found> bySlot;  // ordered by CKA_ID
    std::vector<AuthorityCertificate> authorities;
    for (const CK_OBJECT_HANDLE object : findObjects(certTemplate.data(), certTemplate.size())) {
        const auto id = attribute(object, CKA_ID);
        const auto der = attribute(object, CKA_VALUE);
        const auto label = attribute(object, CKA_LABEL);
        const std::string labelText = label ? std::string(label->begin(), label->end()) : "";
        const std::string slot = id ? toHex(*id) : "";
        if (!der || der->empty()) {
            skipped.push_back({slot, "certificate \"" + labelText + "\": value not readable"});
            continue;
        }
        // A certificate the token marks as an authority's (CKA_CERTIFICATE_CATEGORY 2) or whose
        // basicConstraints say cA: a CA certificate, unless a key object shares its CKA_ID (a
        // self-signed certificate of the token's own key).
        bool authority = false;
        if (const auto category = attribute(object, CKA_CERTIFICATE_CATEGORY);
            category && category->size() == sizeof(CK_ULONG)) {
            CK_ULONG value = 0;
            std::memcpy(&value, category->data(), sizeof value);
            authority = value == 2;
        }
        try {
            authority = authority || crypto::parseCertificate(*der).certificateAuthority;
        } catch (const crypto::Error& e) {
            skipped.push_back({slot, std::string("certificate does not parse: ") + e.what()});
            continue;
        }
        if (!id || id->empty()) {
            // Nothing links it to a key.
            authorities.push_back({labelText, *der});
            continue;
        }
        if (bySlot.contains(slot)) {
            skipped.push_back({slot, "a second certificate with the same CKA_ID"});
            continue;
        }
        std::optional<crypto::PublicKey> publicKey;
        try {
            publicKey = crypto::PublicKey::fromCertificate(*der);
        } catch (const crypto::Error& e) {
            skipped.push_back({slot, std::string("certificate does not parse: ") + e.what()});
            continue;
        }
        // The key objects with the same CKA_ID. The private key may be hidden until login; then
        // the public key, when the token keeps one, tells what the key pair is for.
        Bytes keyId = *id;
        const auto keyObjects = [&](CK_OBJECT_CLASS keyClass) {
            CK_OBJECT_CLASS cls = keyClass;
            std::array<CK_ATTRIBUTE, 2> keyTemplate{{
                {CKA_CLASS, &cls, sizeof cls},
                {CKA_ID, keyId.data(), static_cast<CK_ULONG>(keyId.size())},
            }};
            return findObjects(keyTemplate.data(), keyTemplate.size());
        };
        const auto privateKeys = keyObjects(CKO_PRIVATE_KEY);
        const auto publicKeys =
            privateKeys.empty() ? keyObjects(CKO_PUBLIC_KEY) : std::vector<CK_OBJECT_HANDLE>{};
        const bool loginRequired = (token.flags & CKF_LOGIN_REQUIRED) != 0;
        if (privateKeys.empty() && publicKeys.empty() && (!loginRequired || authority)) {
            // No key object, and no private key can appear at login (the token needs none, or
            // the certificate is an authority's): not a key.
            authorities.push_back({labelText, *der});
            continue;
        }
        if (!publicKey->algorithm()) {
            skipped.push_back({slot, "key type or size not supported"});
            continue;
        }
        bool alwaysAuthenticate = false;
        std::optional<KeyPermissions> allowed;
        if (!privateKeys.empty()) {
            alwaysAuthenticate = flag(privateKeys.front(), CKA_ALWAYS_AUTHENTICATE).value_or(false);
            allowed = permissions(privateKeys.front(), true);
        } else if (!publicKeys.empty()) {
            allowed = permissions(publicKeys.front(), false);
        }
        // Otherwise private objects are hidden until login and the token keeps no public key:
        // the certificate names its key; a missing one shows at use as CERTIFICATE_NOT_FOUND.
        Found found{slot,
                    CertificateEntry{
                        slot, labelText, *der, *publicKey->algorithm(),
                        !loginRequired ? PinPolicy::Never
                                       : (alwaysAuthenticate ? PinPolicy::Always : PinPolicy::Once),
                        allowed},
                    KeyData{*id, *publicKey, alwaysAuthenticate}};
        bySlot.emplace(slot, std::move(found));
    }
    for (auto& [slot, found] : bySlot) {
        entries.push_back(std::move(found.entry));
        keys.push_back(std::move(found.key));
    }
    cardId_ = std::move(cardId);
    label_ = token.label;
    protectedPath_ = (token.flags & CKF_PROTECTED_AUTHENTICATION_PATH) != 0;
    loginRequired_ = (token.flags & CKF_LOGIN_REQUIRED) != 0;
    entries_ = std::move(entries);
    keys_ = std::move(keys);
    skipped_ = std::move(skipped);
    authorities_ = std::move(authorities);
    loaded_ = true;
}

const std::string& Pkcs11Token::cardId() {
    guarded([this] { load(); });
    return cardId_;
}

const std::string& Pkcs11Token::label() {
    guarded([this] { load(); });
    return label_;
}

const std::vector<CertificateEntry>& Pkcs11Token::certificates() {
    guarded([this] { load(); });
    return entries_;
}

const std::vector<SkippedCertificate>& Pkcs11Token::skippedCertificates() {
    guarded([this] { load(); });
    return skipped_;
}

const std::vector<AuthorityCertificate>& Pkcs11Token::authorityCertificates() {
    guarded([this] { load(); });
    return authorities_;
}

std::optional<bool> Pkcs11Token::flag(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) {
    const auto value = attribute(object, type);
    if (!value || value->size() != sizeof(CK_BBOOL)) {
        return std::nullopt;
    }
    return (*value)[0] != CK_FALSE;
}

// An attribute the object does not have restricts nothing: the certificate still decides.
KeyPermissions Pkcs11Token::permissions(CK_OBJECT_HANDLE key, bool privateKey) {
    const auto any = [&](std::initializer_list<CK_ATTRIBUTE_TYPE> types) {
        bool known = false;
        for (const CK_ATTRIBUTE_TYPE type : types) {
            if (const auto value = flag(key, type)) {
                if (*value) {
                    return true;
                }
                known = true;
            }
        }
        return !known;
    };
    KeyPermissions allowed;
    allowed.sign = any({privateKey ? CKA_SIGN : CKA_VERIFY});
    allowed.decrypt = privateKey ? any({CKA_DECRYPT, CKA_UNWRAP, CKA_DERIVE})
                                 : any({CKA_ENCRYPT, CKA_WRAP, CKA_DERIVE});
    return allowed;
}

void Pkcs11Token::invalidateCache() {
    loaded_ = false;
}

bool Pkcs11Token::hasPinpad() {
    guarded([this] { load(); });
    return protectedPath_;
}

PinStatus Pkcs11Token::pinStatus() {
    return guarded([this] { return pinStatusFromFlags(tokenInfo().flags); });
}

std::size_t Pkcs11Token::keyIndex(const std::string& slot) {
    load();
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        if (entries_[i].slot == slot) {
            return i;
        }
    }
    throw KeyNotFound("no certificate with CKA_ID " + slot + " on the token");
}

CK_OBJECT_HANDLE Pkcs11Token::privateKey(std::size_t key) {
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    Bytes& id = keys_[key].id;
    std::array<CK_ATTRIBUTE, 2> keyTemplate{{
        {CKA_CLASS, &cls, sizeof cls},
        {CKA_ID, id.data(), static_cast<CK_ULONG>(id.size())},
    }};
    const auto objects = findObjects(keyTemplate.data(), keyTemplate.size());
    if (objects.empty()) {
        throw KeyNotFound("no private key with CKA_ID " + entries_[key].slot + " on the token");
    }
    return objects.front();
}

void Pkcs11Token::checkPinFormat(const std::optional<SecureBytes>& pin, Credential credential) {
    if (!pin) {
        if (!protectedPath_) {
            throw PinRequired(credential);
        }
        return;
    }
    // PKCS#11 PINs are CK_UTF8CHAR strings, but what a user types on the cards this backend
    // serves (HiCOS: letters and digits) and what every module accepts is printable ASCII;
    // anything else is refused before the token counts it as a wrong try.
    if (pin->empty() || !std::all_of(pin->begin(), pin->end(),
                                     [](std::uint8_t c) { return c >= 0x20 && c <= 0x7e; })) {
        throw PinFormat(credential);
    }
    // The token's limits apply to the user PIN; some modules report 0 or an inverted range
    // when they have none.
    const TokenDescription token = tokenInfo();
    if (credential == Credential::Pin && token.maxPinLength >= token.minPinLength &&
        token.maxPinLength > 0 &&
        (pin->size() < token.minPinLength || pin->size() > token.maxPinLength)) {
        throw PinFormat(credential);
    }
}

void Pkcs11Token::loginUser(const PinInput& pin, LoginGuard& guard) {
    checkPinFormat(pin.pin, Credential::Pin);
    const PinStatus before = pinStatusFromFlags(tokenInfo().flags);
    if (before.blocked) {
        throw PinBlocked();
    }
    if (before.retriesLeft == 1 && !pin.allowLastAttempt) {
        throw PinLastAttempt(Credential::Pin);
    }
    const CK_SESSION_HANDLE s = session();
    const auto login = [&] {
        return pin.pin ? f_->C_Login(s, CKU_USER, const_cast<CK_UTF8CHAR*>(pin.pin->data()),
                                     pin.pin->size())
                       : f_->C_Login(s, CKU_USER, nullptr, 0);
    };
    CK_RV rv = login();
    if (rv == CKR_USER_ALREADY_LOGGED_IN) {
        // Left logged in by someone else in this process: start from a clean state.
        f_->C_Logout(s);
        rv = login();
    }
    if (rv != CKR_OK) {
        throwForLogin(rv, Credential::Pin, pinStatusFromFlags(tokenInfo().flags), "C_Login");
    }
    guard.arm();
}

void Pkcs11Token::loginSo(const std::optional<SecureBytes>& puk, bool allowLastAttempt,
                          LoginGuard& guard) {
    checkPinFormat(puk, Credential::Puk);
    const PinStatus before = soPinStatusFromFlags(tokenInfo().flags);
    if (before.blocked) {
        throw PukBlocked();
    }
    if (before.retriesLeft == 1 && !allowLastAttempt) {
        throw PinLastAttempt(Credential::Puk);
    }
    const CK_SESSION_HANDLE s = session();
    const auto login = [&] {
        return puk ? f_->C_Login(s, CKU_SO, const_cast<CK_UTF8CHAR*>(puk->data()), puk->size())
                   : f_->C_Login(s, CKU_SO, nullptr, 0);
    };
    CK_RV rv = login();
    if (rv == CKR_USER_ALREADY_LOGGED_IN || rv == CKR_USER_ANOTHER_ALREADY_LOGGED_IN) {
        f_->C_Logout(s);
        rv = login();
    }
    if (rv != CKR_OK) {
        throwForLogin(rv, Credential::Puk, soPinStatusFromFlags(tokenInfo().flags), "C_Login");
    }
    guard.arm();
}

void Pkcs11Token::contextLogin(const PinInput& pin) {
    const CK_SESSION_HANDLE s = session();
    const CK_RV rv = pin.pin
                         ? f_->C_Login(s, CKU_CONTEXT_SPECIFIC,
                                       const_cast<CK_UTF8CHAR*>(pin.pin->data()), pin.pin->size())
                         : f_->C_Login(s, CKU_CONTEXT_SPECIFIC, nullptr, 0);
    if (rv != CKR_OK) {
        throwForLogin(rv, Credential::Pin, pinStatusFromFlags(tokenInfo().flags), "C_Login");
    }
}

bool Pkcs11Token::alwaysAuthenticate(CK_OBJECT_HANDLE handle, const KeyData& data) {
    // Private keys are often hidden until login, so the attribute is read from the key used.
    if (const auto always = attribute(handle, CKA_ALWAYS_AUTHENTICATE);
        always && always->size() == sizeof(CK_BBOOL)) {
        return (*always)[0] != CK_FALSE;
    }
    return data.alwaysAuthenticate;
}

bool Pkcs11Token::needsLogin(std::size_t key) {
    return entries_[key].pinPolicy != PinPolicy::Never;
}

void Pkcs11Token::verifyPin(const PinInput& pin) {
    guarded([&] {
        load();
        LoginGuard guard(*this);
        loginUser(pin, guard);
    });
}

void Pkcs11Token::changePin(const ReferenceDataChange& change) {
    guarded([&] {
        load();
        if (change.current.has_value() != change.replacement.has_value()) {
            throw PinRequired(Credential::Pin);
        }
        checkPinFormat(change.current, Credential::Pin);
        checkPinFormat(change.replacement, Credential::Pin);
        const PinStatus before = pinStatusFromFlags(tokenInfo().flags);
        if (before.blocked) {
            throw PinBlocked();
        }
        if (before.retriesLeft == 1 && !change.allowLastAttempt) {
            throw PinLastAttempt(Credential::Pin);
        }
        const CK_SESSION_HANDLE s = session();
        // In a public R/W session C_SetPIN changes the user PIN.
        const CK_RV rv = change.current
                             ? f_->C_SetPIN(s, const_cast<CK_UTF8CHAR*>(change.current->data()),
                                            change.current->size(),
                                            const_cast<CK_UTF8CHAR*>(change.replacement->data()),
                                            change.replacement->size())
                             : f_->C_SetPIN(s, nullptr, 0, nullptr, 0);
        if (rv != CKR_OK) {
            throwForLogin(rv, Credential::Pin, pinStatusFromFlags(tokenInfo().flags), "C_SetPIN");
        }
    });
}

void Pkcs11Token::changePuk(const ReferenceDataChange& change) {
    guarded([&] {
        load();
        if (change.current.has_value() != change.replacement.has_value()) {
            throw PinRequired(Credential::Puk);
        }
        checkPinFormat(change.replacement, Credential::Puk);
        LoginGuard guard(*this);
        loginSo(change.current, change.allowLastAttempt, guard);
        // Logged in as SO, C_SetPIN changes the SO PIN.
        const CK_RV rv =
            change.current
                ? f_->C_SetPIN(session(), const_cast<CK_UTF8CHAR*>(change.current->data()),
                               change.current->size(),
                               const_cast<CK_UTF8CHAR*>(change.replacement->data()),
                               change.replacement->size())
                : f_->C_SetPIN(session(), nullptr, 0, nullptr, 0);
        if (rv != CKR_OK) {
            throwForLogin(rv, Credential::Puk, soPinStatusFromFlags(tokenInfo().flags), "C_SetPIN");
        }
    });
}

void Pkcs11Token::unblockPin(const ReferenceDataChange& change) {
    guarded([&] {
        load();
        if (change.current.has_value() != change.replacement.has_value()) {
            throw PinRequired(Credential::Puk);
        }
        checkPinFormat(change.replacement, Credential::Pin);
        LoginGuard guard(*this);
        loginSo(change.current, change.allowLastAttempt, guard);
        const CK_RV rv =
            change.replacement
                ? f_->C_InitPIN(session(), const_cast<CK_UTF8CHAR*>(change.replacement->data()),
                                change.replacement->size())
                : f_->C_InitPIN(session(), nullptr, 0);
        if (rv != CKR_OK) {
            throwForLogin(rv, Credential::Pin, pinStatusFromFlags(tokenInfo().flags), "C_InitPIN");
        }
    });
}

Bytes Pkcs11Token::sign(const SignRequest& request) {
    return guarded([&] {
        const std::size_t key = keyIndex(request.slot);
        const KeyData& data = keys_[key];
        const KeyAlgorithm algorithm = entries_[key].keyAlgorithm;
        if (request.digest.size() != digestSize(request.hash)) {
            throw InvalidInput("the digest does not have the length of " +
                               std::string(hashAlgorithmName(request.hash)));
        }
        if (isRsa(algorithm) == (request.scheme == SignatureScheme::Ecdsa)) {
            throw UnsupportedAlgorithm(std::string(signatureSchemeName(request.scheme)) +
                                       " does not go with " +
                                       std::string(keyAlgorithmName(algorithm)));
        }
        LoginGuard guard(*this);
        if (needsLogin(key)) {
            loginUser(request.pin, guard);
        }
        const CK_OBJECT_HANDLE handle = privateKey(key);

        Bytes input;
        CK_RSA_PKCS_PSS_PARAMS pss{hashMechanism(request.hash), mgfFor(request.hash),
                                   static_cast<CK_ULONG>(digestSize(request.hash))};
        CK_MECHANISM mechanism{CKM_RSA_PKCS, nullptr, 0};
        switch (request.scheme) {
            case SignatureScheme::RsaPkcs1v15: {
                const ByteView prefix = digestInfoPrefix(request.hash);
                input.assign(prefix.begin(), prefix.end());
                input.insert(input.end(), request.digest.begin(), request.digest.end());
                break;
            }
            case SignatureScheme::RsaPss:
                mechanism = {CKM_RSA_PKCS_PSS, &pss, sizeof pss};
                input = request.digest;
                break;
            case SignatureScheme::Ecdsa:
                mechanism = {CKM_ECDSA, nullptr, 0};
                input = crypto::ecdsaCardInput(request.digest, keySizeBytes(algorithm));
                break;
        }
        const CK_SESSION_HANDLE s = session();
        check(f_->C_SignInit(s, &mechanism, handle), "C_SignInit");
        if (needsLogin(key) && alwaysAuthenticate(handle, data)) {
            contextLogin(request.pin);
        }
        Bytes signature(std::max<std::size_t>(2 * keySizeBytes(algorithm), 512));
        CK_ULONG length = signature.size();
        CK_RV rv = f_->C_Sign(s, input.data(), input.size(), signature.data(), &length);
        if (rv == CKR_BUFFER_TOO_SMALL) {
            signature.resize(length);
            rv = f_->C_Sign(s, input.data(), input.size(), signature.data(), &length);
        }
        check(rv, "C_Sign");
        signature.resize(length);
        if (request.scheme == SignatureScheme::Ecdsa) {
            if (signature.size() != 2 * keySizeBytes(algorithm)) {
                throw MalformedData("the ECDSA signature has " + std::to_string(signature.size()) +
                                    " bytes");
            }
            signature = crypto::ecdsaP1363ToDer(signature);
        }
        // A signature that does not verify means a faulty token or a certificate that does
        // not belong to the key.
        if (!data.publicKey.verifyDigest(request.scheme, request.hash, request.digest, signature)) {
            throw MalformedData("the token's signature does not verify with the certificate " +
                                request.slot);
        }
        return signature;
    });
}

SecureBytes Pkcs11Token::decrypt(const DecryptRequest& request) {
    return guarded([&] {
        const std::size_t key = keyIndex(request.slot);
        const KeyData& data = keys_[key];
        const KeyAlgorithm algorithm = entries_[key].keyAlgorithm;
        if (!isRsa(algorithm)) {
            throw UnsupportedAlgorithm("decrypt needs an RSA key");
        }
        if (request.ciphertext.size() != keySizeBytes(algorithm) ||
            !data.publicKey.isCiphertextInRange(request.ciphertext)) {
            throw InvalidInput("the ciphertext does not have the modulus length or is too large");
        }
        LoginGuard guard(*this);
        if (needsLogin(key)) {
            loginUser(request.pin, guard);
        }
        const CK_OBJECT_HANDLE handle = privateKey(key);
        CK_RSA_PKCS_OAEP_PARAMS oaep{hashMechanism(request.oaepHash), mgfFor(request.oaepHash),
                                     CKZ_DATA_SPECIFIED, nullptr, 0};
        CK_MECHANISM mechanism{CKM_RSA_PKCS, nullptr, 0};
        if (request.padding == RsaDecryptPadding::Oaep) {
            mechanism = {CKM_RSA_PKCS_OAEP, &oaep, sizeof oaep};
        } else if (request.padding == RsaDecryptPadding::None) {
            mechanism = {CKM_RSA_X_509, nullptr, 0};
        }
        const CK_SESSION_HANDLE s = session();
        CK_RV rv = f_->C_DecryptInit(s, &mechanism, handle);
        // Modules without OAEP for this hash (SoftHSM 2.6 knows SHA-1 only) still do the raw
        // RSA operation: the padding is then removed here, in constant time (OpenSSL).
        bool removeOaepHere = false;
        if (request.padding == RsaDecryptPadding::Oaep &&
            (rv == CKR_ARGUMENTS_BAD || rv == CKR_MECHANISM_PARAM_INVALID ||
             rv == CKR_MECHANISM_INVALID)) {
            mechanism = {CKM_RSA_X_509, nullptr, 0};
            removeOaepHere = true;
            rv = f_->C_DecryptInit(s, &mechanism, handle);
        }
        check(rv, "C_DecryptInit");
        if (needsLogin(key) && alwaysAuthenticate(handle, data)) {
            contextLogin(request.pin);
        }
        SecureBytes buffer(keySizeBytes(algorithm));
        CK_ULONG length = buffer.size();
        Bytes ciphertext = request.ciphertext;
        check(f_->C_Decrypt(s, ciphertext.data(), ciphertext.size(), buffer.data(), &length),
              "C_Decrypt");
        if (length > buffer.size()) {
            throw MalformedData("C_Decrypt reported more bytes than the modulus");
        }
        if (removeOaepHere) {
            if (length != buffer.size()) {
                throw MalformedData("the raw RSA result is not of the modulus length");
            }
            try {
                return crypto::decodeOaep(buffer.view(), buffer.size(), request.oaepHash);
            } catch (const crypto::Error&) {
                throw DecryptFailed("OAEP padding does not check");
            }
        }
        return SecureBytes(buffer.view().first(length));
    });
}

SecureBytes Pkcs11Token::deriveSharedSecret(const DeriveRequest& request) {
    return guarded([&] {
        const std::size_t key = keyIndex(request.slot);
        const KeyData& data = keys_[key];
        const KeyAlgorithm algorithm = entries_[key].keyAlgorithm;
        if (isRsa(algorithm)) {
            throw UnsupportedAlgorithm("ECDH needs an EC key");
        }
        if (!data.publicKey.isPointOnCurve(request.peerPoint)) {
            throw InvalidInput("the peer point is not an uncompressed point on the key's curve");
        }
        LoginGuard guard(*this);
        if (needsLogin(key)) {
            loginUser(request.pin, guard);
        }
        const CK_OBJECT_HANDLE handle = privateKey(key);
        Bytes peer = request.peerPoint;
        CK_ECDH1_DERIVE_PARAMS params{CKD_NULL, 0, nullptr, static_cast<CK_ULONG>(peer.size()),
                                      peer.data()};
        CK_MECHANISM mechanism{CKM_ECDH1_DERIVE, &params, sizeof params};
        CK_OBJECT_CLASS secretClass = CKO_SECRET_KEY;
        CK_KEY_TYPE secretType = CKK_GENERIC_SECRET;
        CK_ULONG valueLength = keySizeBytes(algorithm);
        CK_BBOOL no = CK_FALSE;
        CK_BBOOL yes = CK_TRUE;
        std::array<CK_ATTRIBUTE, 6> secretTemplate{{
            {CKA_CLASS, &secretClass, sizeof secretClass},
            {CKA_KEY_TYPE, &secretType, sizeof secretType},
            {CKA_VALUE_LEN, &valueLength, sizeof valueLength},
            {CKA_TOKEN, &no, sizeof no},
            {CKA_SENSITIVE, &no, sizeof no},
            {CKA_EXTRACTABLE, &yes, sizeof yes},
        }};
        const CK_SESSION_HANDLE s = session();
        CK_OBJECT_HANDLE secret = CK_INVALID_HANDLE;
        check(f_->C_DeriveKey(s, &mechanism, handle, secretTemplate.data(), secretTemplate.size(),
                              &secret),
              "C_DeriveKey");
        // The session object goes whatever happens next.
        struct Destroy {
            Destroy(CK_FUNCTION_LIST* functions, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object)
                : f(functions), s(session), o(object) {}
            CK_FUNCTION_LIST* f;
            CK_SESSION_HANDLE s;
            CK_OBJECT_HANDLE o;
            ~Destroy() { f->C_DestroyObject(s, o); }
            Destroy(const Destroy&) = delete;
            Destroy& operator=(const Destroy&) = delete;
            Destroy(Destroy&&) = delete;
            Destroy& operator=(Destroy&&) = delete;
        } destroy(f_, s, secret);
        SecureBytes value(keySizeBytes(algorithm));
        CK_ATTRIBUTE a{CKA_VALUE, value.data(), static_cast<CK_ULONG>(value.size())};
        check(f_->C_GetAttributeValue(s, secret, &a, 1), "C_GetAttributeValue");
        if (a.ulValueLen != value.size()) {
            throw MalformedData("the derived secret has " + std::to_string(a.ulValueLen) +
                                " bytes, not the field length");
        }
        return value;
    });
}

}  // namespace tk::card::pkcs11
