#pragma once

#include <optional>
#include <string>

#include "card/algorithms.hpp"
#include "card/bytes.hpp"
#include "card/secure_bytes.hpp"
#include "crypto/card_key.hpp"
#include "crypto/errors.hpp"

namespace tk::crypto {

// Why a CMS operation was refused, in the terms of the API's reasons (docs/cms.md).
class CmsError : public Error {
  public:
    enum class Kind {
        Malformed,      // not a DER ContentInfo of the expected type (INVALID_PARAMS "cms")
        Unsupported,    // an algorithm outside the supported list (UNSUPPORTED_ALGORITHM)
        DecryptFailed,  // no recipient for this key, or it does not decrypt (DECRYPT_FAILED)
    };
    CmsError(Kind kind, const std::string& what) : Error(what), kind_(kind) {}
    Kind kind() const noexcept { return kind_; }

  private:
    Kind kind_;
};

struct CmsSignRequest {
    card::SignatureScheme scheme = card::SignatureScheme::RsaPkcs1v15;
    card::HashAlgorithm hash = card::HashAlgorithm::Sha256;
    card::Bytes digest;                  // the hash of the content (message-digest attribute)
    std::optional<card::Bytes> content;  // set: an attached signature carrying it
    bool signingTime = true;
    // Extra signed attributes some portals ask for (docs/hipki.md): randomNonce
    // (1.2.840.113549.1.9.25.3, an OCTET STRING of these bytes) and the card serial number
    // (2.16.886.1.100.2.204, a UTF8String).
    std::optional<card::Bytes> randomNonce;
    std::optional<std::string> cardSerialNumber;
};

// What an envelope may use beyond the supported list. DES-EDE3-CBC content encryption is
// accepted only for a caller that asks for it per call (the HiPKI endpoint, whose portals seal
// with it); the API refuses it.
struct CmsDecryptOptions {
    bool allowDesEde3 = false;
};

// A DER ContentInfo of SignedData (CAdES-BES): signed attributes content-type, message-digest,
// signing-time (when asked) and ESS signing-certificate-v2, the signer certificate included.
// The signature is made by `operations` (one card operation). Card errors pass through
// unchanged; other failures are crypto::Error.
card::Bytes cmsSign(CardKeyOperations& operations, card::ByteView certificateDer,
                    const CmsSignRequest& request);

// Checks, without the card, that `cms` is a DER ContentInfo of EnvelopedData with a recipient
// for the certificate's key whose algorithms are supported. Throws CmsError.
void checkEnvelope(card::ByteView certificateDer, card::ByteView cms,
                   const CmsDecryptOptions& options = {});

// Decrypts EnvelopedData for the certificate's key (checkEnvelope first); the card does the
// private-key step (one operation). Card errors pass through unchanged; CmsError otherwise.
card::SecureBytes cmsDecrypt(CardKeyOperations& operations, card::ByteView certificateDer,
                             card::ByteView cms, const CmsDecryptOptions& options = {});

}  // namespace tk::crypto
