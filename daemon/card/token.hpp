#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "card/algorithms.hpp"
#include "card/bytes.hpp"
#include "card/secure_bytes.hpp"

namespace tk::card {

// When the card wants the PIN before it uses a key.
enum class PinPolicy {
    Never,   // e.g. PIV 9E: a PIN given for it is ignored and never sent
    Once,    // once per session (the daemon logs out after every operation anyway)
    Always,  // e.g. PIV 9C: VERIFY immediately before every use
};

// What a key object itself allows, where the backend can read it (PKCS#11: CKA_SIGN;
// CKA_DECRYPT, CKA_UNWRAP or CKA_DERIVE).
struct KeyPermissions {
    bool sign = true;
    bool decrypt = true;

    bool operator==(const KeyPermissions&) const = default;
};

// One key on the card together with its certificate.
struct CertificateEntry {
    std::string slot;   // backend key reference, lowercase hex: PIV "9a", "82"; PKCS#11 CKA_ID
    std::string label;  // the slot's name on the card, e.g. "Digital Signature"
    Bytes der;          // the X.509 certificate
    KeyAlgorithm keyAlgorithm;
    PinPolicy pinPolicy;
    // nullopt: the backend does not say (PIV; a PKCS#11 key hidden until login); the
    // certificate alone decides what the key is for.
    std::optional<KeyPermissions> permissions;
};

// A certificate the card carries without a key of its own behind it (a CA certificate kept on
// a PKCS#11 token for chain building). Never used for an operation.
struct AuthorityCertificate {
    std::string label;
    Bytes der;
};

// A certificate object that exists on the card but cannot be offered (unreadable, malformed,
// a key type outside KeyAlgorithm). Kept so the owner can log it.
struct SkippedCertificate {
    std::string slot;
    std::string reason;
};

struct PinStatus {
    // Tries left; nullopt only when the card reports the PIN verified and the verified state
    // could not be cleared to read the counter (then resetRequired() is set).
    std::optional<int> retriesLeft;
    bool blocked = false;
};

// A PIN for one request. No value means "enter it on the reader's pinpad".
struct PinInput {
    std::optional<SecureBytes> pin;
    // The request said lastAttempt: true. Without it, a card that counts one try left is not
    // sent the PIN (PinLastAttempt).
    bool allowLastAttempt = false;
};

// PIN change (current PIN, new PIN), PUK change (current PUK, new PUK) or unblock (PUK, new
// PIN). Both values absent means both are entered on the pinpad.
struct ReferenceDataChange {
    std::optional<SecureBytes> current;
    std::optional<SecureBytes> replacement;
    bool allowLastAttempt = false;
};

struct SignRequest {
    std::string slot;
    SignatureScheme scheme = SignatureScheme::RsaPkcs1v15;
    HashAlgorithm hash = HashAlgorithm::Sha256;
    Bytes digest;  // the hash of the content, digestSize(hash) bytes
    PinInput pin;
};

struct DecryptRequest {
    std::string slot;
    RsaDecryptPadding padding = RsaDecryptPadding::Pkcs1v15;
    HashAlgorithm oaepHash = HashAlgorithm::Sha256;
    Bytes ciphertext;  // exactly the modulus length
    PinInput pin;
};

// ECDH with the card's EC key.
struct DeriveRequest {
    std::string slot;
    Bytes peerPoint;  // uncompressed point 04 || X || Y on the key's curve
    PinInput pin;
};

// What the service layer uses for any card backend (PIV today, PKCS#11 later). A token belongs
// to one card in one reader; its owner runs one operation at a time on it, inside one PC/SC
// transaction, and maps the card::Error classes (errors.hpp) to protocol reasons. PC/SC errors
// (card removed, reset, ...) pass through unchanged.
class Token {
  public:
    Token() = default;
    virtual ~Token() = default;
    Token(const Token&) = delete;
    Token& operator=(const Token&) = delete;
    Token(Token&&) = delete;
    Token& operator=(Token&&) = delete;

    // "piv", later "pkcs11".
    virtual std::string_view type() const = 0;

    // Stable identity of the physical card (PROTOCOL.md cardId). Reads the card the first
    // time; UnsupportedCard when the card has no application this backend speaks.
    virtual const std::string& cardId() = 0;

    // The keys with usable certificates, read once and then served from memory.
    virtual const std::vector<CertificateEntry>& certificates() = 0;
    virtual const std::vector<SkippedCertificate>& skippedCertificates() = 0;
    // Certificates without a key (see AuthorityCertificate); none unless the backend has them.
    virtual const std::vector<AuthorityCertificate>& authorityCertificates() {
        static const std::vector<AuthorityCertificate> none;
        return none;
    }
    // Forget what was read, so the next call reads the card again.
    virtual void invalidateCache() = 0;

    // The reader can take the PIN on its own keypad.
    virtual bool hasPinpad() = 0;

    // Retry counter of the PIN, without consuming a try.
    virtual PinStatus pinStatus() = 0;

    virtual void verifyPin(const PinInput& pin) = 0;
    virtual void changePin(const ReferenceDataChange& change) = 0;
    virtual void changePuk(const ReferenceDataChange& change) = 0;
    // PUK in `current`, new PIN in `replacement`.
    virtual void unblockPin(const ReferenceDataChange& change) = 0;

    // A signature over request.digest: RSA signatures are modulus-length big-endian; ECDSA
    // signatures are DER Ecdsa-Sig-Value.
    virtual Bytes sign(const SignRequest& request) = 0;
    virtual SecureBytes decrypt(const DecryptRequest& request) = 0;
    // The ECDH shared secret (the x coordinate, field length).
    virtual SecureBytes deriveSharedSecret(const DeriveRequest& request) = 0;

    // True when a PIN-verified state may be left on the card: the security-status reset after
    // an operation failed, was interrupted, or the card does not support it. The owner must
    // then end its use of the card with SCARD_RESET_CARD (disconnect or reconnect) and call
    // cardWasReset().
    virtual bool resetRequired() const = 0;
    virtual void cardWasReset() = 0;
};

}  // namespace tk::card
