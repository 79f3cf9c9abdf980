#pragma once

#include <memory>

#include "card/algorithms.hpp"
#include "card/bytes.hpp"
#include "card/secure_bytes.hpp"
#include "card/token.hpp"

struct evp_pkey_st;      // OpenSSL's EVP_PKEY
struct ossl_lib_ctx_st;  // OpenSSL's OSSL_LIB_CTX

namespace tk::crypto {

// The private-key steps of one card key, as the card performs them. Implementations may throw
// anything (card::PinIncorrect, pcsc::CardRemoved, ...): the exception is carried across
// OpenSSL and rethrown to the caller of the CMS function that needed the step.
class CardKeyOperations {
  public:
    CardKeyOperations() = default;
    virtual ~CardKeyOperations() = default;
    CardKeyOperations(const CardKeyOperations&) = delete;
    CardKeyOperations& operator=(const CardKeyOperations&) = delete;
    CardKeyOperations(CardKeyOperations&&) = delete;
    CardKeyOperations& operator=(CardKeyOperations&&) = delete;

    // A signature over `digest` (a hash of `hash`): RSA modulus-length, ECDSA DER.
    virtual card::Bytes sign(card::SignatureScheme scheme, card::HashAlgorithm hash,
                             card::ByteView digest) = 0;
    // RSA decryption. `padding` None asks for the raw RSA result (modulus length), used for
    // OAEP variants outside Token::decrypt's (SHA-1, a label, MGF1 with another hash).
    virtual card::SecureBytes decrypt(card::RsaDecryptPadding padding, card::HashAlgorithm oaepHash,
                                      card::ByteView ciphertext) = 0;
    // ECDH: the x coordinate of the shared point, field length.
    virtual card::SecureBytes deriveSharedSecret(card::ByteView peerPoint) = 0;
};

// CardKeyOperations on one key of a card::Token, for one request: the first operation takes
// the request's PIN (Token presents it right before the key is used, so a PIN-always key works),
// a second operation is refused (a client request presents its PIN once).
class TokenKeyOperations final : public CardKeyOperations {
  public:
    TokenKeyOperations(card::Token& token, std::string slot, card::PinInput pin);

    card::Bytes sign(card::SignatureScheme scheme, card::HashAlgorithm hash,
                     card::ByteView digest) override;
    card::SecureBytes decrypt(card::RsaDecryptPadding padding, card::HashAlgorithm oaepHash,
                              card::ByteView ciphertext) override;
    card::SecureBytes deriveSharedSecret(card::ByteView peerPoint) override;

    int operations() const noexcept { return operations_; }

  private:
    card::PinInput takePin();

    card::Token& token_;
    std::string slot_;
    card::PinInput pin_;
    int operations_ = 0;
};

// An EVP_PKEY whose public half is the certificate's key and whose private operations
// (signature, RSA decryption, ECDH) are `operations`, through the TenderKey card provider in
// its own OpenSSL library context (see docs/cms.md). `operations` must outlive the key.
class CardKey {
  public:
    // Throws crypto::Error for a certificate whose key is neither RSA nor EC.
    CardKey(card::ByteView certificateDer, CardKeyOperations& operations);
    ~CardKey();
    CardKey(const CardKey&) = delete;
    CardKey& operator=(const CardKey&) = delete;
    CardKey(CardKey&&) = delete;
    CardKey& operator=(CardKey&&) = delete;

    evp_pkey_st* get() const noexcept { return key_; }

    // After an OpenSSL call on the key failed: rethrows what a card operation threw, if one did.
    void rethrowCardError();
    // A card operation was attempted (successfully or not).
    bool cardWasUsed() const noexcept;

    struct Binding;

  private:
    std::shared_ptr<Binding> binding_;
    evp_pkey_st* key_ = nullptr;
};

// The library context that holds the card provider next to OpenSSL's default provider. Every
// OpenSSL object that meets a CardKey must be made in it.
ossl_lib_ctx_st* cardLibraryContext();

}  // namespace tk::crypto
