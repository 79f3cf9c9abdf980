#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "card/pkcs11/module.hpp"
#include "card/token.hpp"

namespace tk::card::pkcs11 {

// PIN state from the flags of CK_TOKEN_INFO. PKCS#11 has no retry counter, only these flags,
// so the count is the best that can be known:
//   CKF_USER_PIN_LOCKED            -> blocked, 0 tries
//   CKF_USER_PIN_FINAL_TRY         -> 1 (the last-attempt rule applies)
//   CKF_USER_PIN_COUNT_LOW         -> 2 (at least one wrong PIN since the last good one)
//   none of them                   -> 3 (kUncountedTries: the module does not say more)
// The same mapping with the CKF_SO_PIN_* flags gives the PUK (SO PIN) state.
inline constexpr int kUncountedTries = 3;
PinStatus pinStatusFromFlags(CK_FLAGS flags);
PinStatus soPinStatusFromFlags(CK_FLAGS flags);

// PROTOCOL.md cardId of a PKCS#11 token: 20 lowercase hex characters, the first 10 bytes of
// SHA-256("pkcs11-token:" || manufacturer || 00 || model || 00 || serial number), the CK_TOKEN_INFO
// fields without their padding; a token without a serial number adds 00 || label. Stable for
// the token, and it hands no serial number to web pages.
std::string deriveTokenCardId(const TokenDescription& token);

// Token over one slot of a PKCS#11 module.
//
// Session strategy: one R/W session (read-only when the token is write-protected), opened on
// first use and kept while the token stays in the slot. Every operation that needs the PIN
// logs in (CKU_USER) at its start and logs out at its end, whatever the outcome, mirroring the
// daemon's "log out after every operation". A logout that fails closes the session, which
// ends the login state too (PKCS#11 ends it with the last session), and the next operation
// opens a new one. Keys with CKA_ALWAYS_AUTHENTICATE get the PIN once more as a
// context-specific login right after C_SignInit/C_DecryptInit.
//
// Certificates: every X.509 certificate object with a CKA_ID that a private or public key
// object of the token shares (the key may be private and hidden until login; the public key
// or the certificate's own key then names it). slot = lowercase hex of CKA_ID, label =
// CKA_LABEL, key algorithm from the certificate.
//
// PIN rules kept as the PIV token does: format (printable ASCII, the token's min/max PIN
// length for the user PIN) checked before the token is touched; a locked PIN is never sent; with
// CKF_USER_PIN_FINAL_TRY the PIN is sent only when the request allows the last attempt; a PIN is
// sent once per call.
//
// Removal (CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT, CKR_SESSION_HANDLE_INVALID, ...) is
// reported as pcsc::CardRemoved, after the session is forgotten.
class Pkcs11Token final : public Token {
  public:
    Pkcs11Token(std::shared_ptr<Module> module, CK_SLOT_ID slot);
    ~Pkcs11Token() override;
    Pkcs11Token(const Pkcs11Token&) = delete;
    Pkcs11Token& operator=(const Pkcs11Token&) = delete;
    Pkcs11Token(Pkcs11Token&&) = delete;
    Pkcs11Token& operator=(Pkcs11Token&&) = delete;

    std::string_view type() const override { return "pkcs11"; }
    const std::string& cardId() override;
    const std::vector<CertificateEntry>& certificates() override;
    const std::vector<SkippedCertificate>& skippedCertificates() override;
    const std::vector<AuthorityCertificate>& authorityCertificates() override;
    void invalidateCache() override;
    bool hasPinpad() override;
    PinStatus pinStatus() override;
    void verifyPin(const PinInput& pin) override;
    void changePin(const ReferenceDataChange& change) override;
    void changePuk(const ReferenceDataChange& change) override;
    void unblockPin(const ReferenceDataChange& change) override;
    Bytes sign(const SignRequest& request) override;
    SecureBytes decrypt(const DecryptRequest& request) override;
    SecureBytes deriveSharedSecret(const DeriveRequest& request) override;
    bool resetRequired() const override { return false; }
    void cardWasReset() override {}

    // The token's CK_TOKEN_INFO label (the card's display label).
    const std::string& label();
    CK_SLOT_ID slotId() const noexcept { return slot_; }
    const std::shared_ptr<Module>& module() const noexcept { return module_; }

  private:
    struct KeyData;
    class LoginGuard;

    template <class Operation>
    auto guarded(Operation&& operation);

    CK_SESSION_HANDLE session();
    void closeSession() noexcept;
    void load();
    TokenDescription tokenInfo();
    std::size_t keyIndex(const std::string& slot);
    CK_OBJECT_HANDLE privateKey(std::size_t key);
    std::vector<CK_OBJECT_HANDLE> findObjects(CK_ATTRIBUTE* attributes, CK_ULONG count);
    std::optional<Bytes> attribute(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type);
    // A CK_BBOOL attribute; nullopt when the object does not have it.
    std::optional<bool> flag(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type);
    KeyPermissions permissions(CK_OBJECT_HANDLE key, bool privateKey);

    // The PIN checks before anything is sent, then C_Login. Leaves the guard armed.
    void checkPinFormat(const std::optional<SecureBytes>& pin, Credential credential);
    void loginUser(const PinInput& pin, LoginGuard& guard);
    void loginSo(const std::optional<SecureBytes>& puk, bool allowLastAttempt, LoginGuard& guard);
    void contextLogin(const PinInput& pin);
    bool needsLogin(std::size_t key);
    bool alwaysAuthenticate(CK_OBJECT_HANDLE handle, const KeyData& data);

    std::shared_ptr<Module> module_;
    CK_FUNCTION_LIST* f_;
    CK_SLOT_ID slot_;
    CK_SESSION_HANDLE session_ = CK_INVALID_HANDLE;

    bool loaded_ = false;
    std::string cardId_;
    std::string label_;
    bool protectedPath_ = false;
    bool loginRequired_ = true;
    std::vector<CertificateEntry> entries_;
    std::vector<KeyData> keys_;  // parallel to entries_
    std::vector<SkippedCertificate> skipped_;
    std::vector<AuthorityCertificate> authorities_;
};

}  // namespace tk::card::pkcs11
