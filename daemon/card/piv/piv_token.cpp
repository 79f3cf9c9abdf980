#include "card/piv/piv_token.hpp"

#include <algorithm>

#include "card/piv/card_identity.hpp"
#include "card/piv/certificate_object.hpp"
#include "card/piv/piv_objects.hpp"
#include "card/tlv.hpp"
#include "crypto/ecdsa.hpp"
#include "crypto/errors.hpp"
#include "crypto/public_key.hpp"
#include "crypto/rsa_padding.hpp"

namespace tk::card {

using namespace piv;

struct PivToken::KeyData {
    std::uint8_t keyRef;
    crypto::PublicKey publicKey;
};

// Resets the card's security status when an operation ends (normally or by an exception) after
// it presented a PIN or found the PIN already verified.
class PivToken::SecurityStatusGuard {
  public:
    explicit SecurityStatusGuard(PivToken& token) noexcept : token_(token) {}
    ~SecurityStatusGuard() {
        if (armed_) {
            token_.logout();
        }
    }
    SecurityStatusGuard(const SecurityStatusGuard&) = delete;
    SecurityStatusGuard& operator=(const SecurityStatusGuard&) = delete;
    SecurityStatusGuard(SecurityStatusGuard&&) = delete;
    SecurityStatusGuard& operator=(SecurityStatusGuard&&) = delete;

    void arm() noexcept { armed_ = true; }
    void disarm() noexcept { armed_ = false; }

  private:
    PivToken& token_;
    bool armed_ = false;
};

namespace {

// SELECT by the 9-byte AID, Le 00.
const Bytes kSelect = [] {
    Bytes apdu(5 + kAid.size() + 1, 0x00);
    apdu[1] = 0xA4;
    apdu[2] = 0x04;
    apdu[4] = static_cast<std::uint8_t>(kAid.size());
    std::copy(kAid.begin(), kAid.end(), apdu.begin() + 5);
    return apdu;
}();

// VERIFY without data: reports the PIN state, consumes no try.
const Bytes kVerifyStatus = {0x00, kInsVerify, 0x00, kRefPin};
// VERIFY P1=FF: resets the PIN's security status (SP 800-73-4).
const Bytes kLogout = {0x00, kInsVerify, 0xFF, kRefPin};

// Answers of cards without VERIFY P1=FF: wrong P1/P2, instruction or length.
bool meansLogoutUnsupported(std::uint16_t s) {
    return s == sw::kIncorrectP1P2 || s == 0x6B00 || s == 0x6A81 || s == sw::kInsNotSupported ||
           s == sw::kReferenceNotFound || s == sw::kWrongLength;
}

void writeBlock(std::uint8_t* out, ByteView value) {
    std::fill_n(out, kReferenceDataBlock, std::uint8_t{0xFF});
    std::copy(value.begin(), value.end(), out);
}

[[noreturn]] void throwForVerification(std::uint16_t s, Credential credential,
                                       const char* command) {
    if (const auto retries = ResponseApdu::retriesFromSw(s)) {
        if (*retries == 0) {
            if (credential == Credential::Pin) {
                throw PinBlocked();
            }
            throw PukBlocked();
        }
        if (credential == Credential::Pin) {
            throw PinIncorrect(*retries);
        }
        throw PukIncorrect(*retries);
    }
    switch (s) {
        case sw::kAuthenticationBlocked:
            if (credential == Credential::Pin) {
                throw PinBlocked();
            }
            throw PukBlocked();
        case sw::kPinpadTimeout:
            throw PinpadTimeout();
        case sw::kPinpadCancelled:
            throw PinpadCancelled();
        case sw::kPinpadLengthError:
            throw PinFormat(credential);
        default:
            throw CardError(s, command);
    }
}

}  // namespace

PivToken::PivToken(pcsc::CardChannel& channel, PivTokenOptions options)
    : channel_(channel), options_(options) {}

PivToken::~PivToken() = default;

// ---------------------------------------------------------------------------------------------
// Transport

ResponseApdu PivToken::transmit(ByteView command) {
    return ResponseApdu(channel_.transmit(command));
}

ResponseApdu PivToken::transmitChained(const CommandApdu& command) {
    const std::vector<Bytes> fragments = command.encodeChained();
    for (std::size_t i = 0; i + 1 < fragments.size(); ++i) {
        ResponseApdu r = transmit(fragments[i]);
        if (!r.ok()) {
            return r;  // the card refused the chain early; the caller reads the status word
        }
    }
    return transmit(fragments.back());
}

void PivToken::selectApplication() {
    const ResponseApdu r = transmit(kSelect);
    if (r.ok()) {
        return;
    }
    switch (r.sw()) {
        case sw::kFileNotFound:
        case sw::kIncorrectP1P2:
        case 0x6A81:
        case sw::kInsNotSupported:
        case sw::kClaNotSupported:
            throw UnsupportedCard("no PIV application on the card");
        default:
            throw CardError(r.sw(), "SELECT");
    }
}

std::optional<Bytes> PivToken::getData(std::uint32_t objectTag) {
    const Bytes tagBytes = encodeTlvTag(objectTag);
    Bytes data;
    appendTlv(data, 0x5C, tagBytes);
    const CommandApdu command(0x00, kInsGetData, 0x3F, 0xFF, std::move(data),
                              CommandApdu::kMaxShortNe);
    const ResponseApdu r = transmit(command.encodeShort());
    if (r.sw() == sw::kFileNotFound) {
        return std::nullopt;
    }
    if (!r.ok()) {
        throw CardError(r.sw(), "GET DATA " + toHex(tagBytes));
    }
    const Tlv outer = parseTlv(r.data());
    if (outer.tag != 0x53 || outer.encoded.size() != r.data().size()) {
        throw MalformedData("GET DATA " + toHex(tagBytes) + ": not one 53 element");
    }
    return Bytes(outer.value.begin(), outer.value.end());
}

// ---------------------------------------------------------------------------------------------
// Identity and certificates

void PivToken::load() {
    if (loaded_) {
        return;
    }
    selectApplication();

    ChuidIdentifiers chuid;
    try {
        if (const auto contents = getData(kObjectChuid)) {
            chuid = parseChuid(*contents);
        }
    } catch (const MalformedData&) {
        // A CHUID that does not parse identifies nothing; the id falls back to the
        // certificates, deterministically for this card.
    }

    int retired = 0;
    try {
        if (const auto history = getData(kObjectKeyHistory)) {
            // C1: number of retired keys with their certificate on the card.
            if (const auto onCard = findTlv(*history, 0xC1); onCard && onCard->value.size() == 1) {
                retired = std::min<int>(onCard->value[0], kMaxRetiredKeys);
            }
        }
    } catch (const Error&) {
        // The key history is optional; a card that refuses or garbles it is read as having no
        // retired keys, which changes neither the id nor the standard slots.
        retired = 0;
    }

    std::vector<KeySlot> slots(standardSlots().begin(), standardSlots().end());
    for (int i = 0; i < retired; ++i) {
        slots.push_back(retiredSlot(i));
    }

    std::vector<CertificateEntry> entries;
    std::vector<KeyData> keys;
    std::vector<SkippedCertificate> skipped;
    std::vector<IdentityCertificate> identity;
    for (const KeySlot& slot : slots) {
        const std::string name = slotName(slot.keyRef);
        try {
            const auto contents = getData(slot.certificateObject);
            if (!contents) {
                continue;
            }
            auto der = certificateFromContainer(*contents);
            if (!der) {
                continue;
            }
            identity.push_back({slot.keyRef, *der});
            crypto::PublicKey key = crypto::PublicKey::fromCertificate(*der);
            if (!key.algorithm()) {
                skipped.push_back({name, "key type not supported"});
                continue;
            }
            entries.push_back({name, slot.label, std::move(*der), *key.algorithm(), slot.pinPolicy,
                               std::nullopt});
            keys.push_back({slot.keyRef, std::move(key)});
        } catch (const CardError& e) {
            skipped.push_back({name, e.what()});
        } catch (const MalformedData& e) {
            skipped.push_back({name, e.what()});
        } catch (const crypto::Error& e) {
            skipped.push_back({name, e.what()});
        }
    }

    cardId_ = deriveCardId(chuid, identity);
    entries_ = std::move(entries);
    keys_ = std::move(keys);
    skipped_ = std::move(skipped);
    loaded_ = true;
}

const std::string& PivToken::cardId() {
    load();
    return cardId_;
}

const std::vector<CertificateEntry>& PivToken::certificates() {
    load();
    return entries_;
}

const std::vector<SkippedCertificate>& PivToken::skippedCertificates() {
    load();
    return skipped_;
}

void PivToken::invalidateCache() {
    loaded_ = false;
    cardId_.clear();
    entries_.clear();
    keys_.clear();
    skipped_.clear();
}

std::size_t PivToken::keyIndex(std::uint8_t keyRef) {
    load();
    for (std::size_t i = 0; i < keys_.size(); ++i) {
        if (keys_[i].keyRef == keyRef) {
            return i;
        }
    }
    throw KeyNotFound("no usable certificate in slot " + slotName(keyRef));
}

// ---------------------------------------------------------------------------------------------
// PIN handling

std::optional<std::uint32_t> PivToken::featureCode(std::uint8_t feature) {
    const auto it = features_.find(feature);
    if (it != features_.end()) {
        return it->second;
    }
    const auto code = channel_.featureControlCode(feature);
    features_.emplace(feature, code);
    return code;
}

bool PivToken::hasPinpad() {
    return featureCode(pinpad::kFeatureVerifyPinDirect).has_value();
}

pinpad::EntryFormat PivToken::pinpadFormat(std::uint8_t minDigits, std::uint8_t maxDigits) const {
    pinpad::EntryFormat format;
    format.timeoutSeconds = options_.pinpadTimeoutSeconds;
    format.minDigits = minDigits;
    format.maxDigits = maxDigits;
    return format;
}

void PivToken::checkPinInput(const PinInput& pin) {
    if (pin.pin) {
        if (!isValidPin(*pin.pin)) {
            throw PinFormat(Credential::Pin);
        }
    } else if (!featureCode(pinpad::kFeatureVerifyPinDirect)) {
        throw PinRequired(Credential::Pin);
    }
}

void PivToken::checkChangeInput(const ReferenceDataChange& change, Credential current,
                                Credential replacement) {
    const auto valid = [](Credential c, const SecureBytes& v) {
        return c == Credential::Pin ? isValidPin(v) : isValidPuk(v);
    };
    if (change.current && change.replacement) {
        if (!valid(current, *change.current)) {
            throw PinFormat(current);
        }
        if (!valid(replacement, *change.replacement)) {
            throw PinFormat(replacement);
        }
        return;
    }
    if (!change.current && !change.replacement) {
        if (!featureCode(pinpad::kFeatureModifyPinDirect)) {
            throw PinRequired(current);
        }
        return;
    }
    // A pinpad takes both values or neither; half a request cannot be completed.
    throw PinRequired(change.current ? replacement : current);
}

void PivToken::checkKnownPukState(bool allowLastAttempt) const {
    if (knownPukRetries_ == 0) {
        throw PukBlocked();
    }
    if (knownPukRetries_ == 1 && !allowLastAttempt) {
        throw PinLastAttempt(Credential::Puk);
    }
}

void PivToken::notePukAnswer(std::uint16_t s) {
    if (const auto retries = ResponseApdu::retriesFromSw(s)) {
        knownPukRetries_ = *retries;
    } else if (s == sw::kAuthenticationBlocked) {
        knownPukRetries_ = 0;
    }
}

PivToken::PinReading PivToken::readPinStatus() {
    const ResponseApdu r = transmit(kVerifyStatus);
    if (r.ok()) {
        return {std::nullopt, false, true};
    }
    if (const auto retries = r.retriesLeft()) {
        return {retries, *retries == 0, false};
    }
    if (r.sw() == sw::kAuthenticationBlocked) {
        return {0, true, false};
    }
    throw CardError(r.sw(), "VERIFY (status)");
}

bool PivToken::logout() noexcept {
    if (logoutUnsupported_) {
        resetRequired_ = true;
        return false;
    }
    try {
        const ResponseApdu r = transmit(kLogout);
        if (r.ok()) {
            return true;
        }
        // A card older than SP 800-73-4 has no VERIFY P1=FF: only a reset clears its PIN state,
        // so do not ask it again.
        logoutUnsupported_ = meansLogoutUnsupported(r.sw());
    } catch (...) {
        // Whatever went wrong (card removed, reset, transport), the PIN state is unknown.
    }
    resetRequired_ = true;
    return false;
}

void PivToken::presentPin(const PinInput& pin, SecurityStatusGuard& guard) {
    const PinReading status = readPinStatus();
    if (status.verified) {
        guard.arm();  // someone left the PIN verified: clear it when done
    }
    if (status.blocked) {
        throw PinBlocked();
    }
    if (status.retriesLeft == 1 && !pin.allowLastAttempt) {
        throw PinLastAttempt(Credential::Pin);
    }
    guard.arm();
    std::uint16_t answer = 0;
    if (pin.pin) {
        SecureBytes apdu(5 + kReferenceDataBlock);
        const std::uint8_t header[] = {0x00, kInsVerify, 0x00, kRefPin, kReferenceDataBlock};
        std::copy(std::begin(header), std::end(header), apdu.data());
        writeBlock(apdu.data() + 5, *pin.pin);
        answer = transmit(apdu).sw();
    } else {
        Bytes apdu{0x00, kInsVerify, 0x00, kRefPin, kReferenceDataBlock};
        apdu.insert(apdu.end(), kReferenceDataBlock, 0xFF);
        const auto code = featureCode(pinpad::kFeatureVerifyPinDirect);
        const Bytes out = channel_.control(
            *code, pinpad::buildVerifyStructure(pinpadFormat(kMinPinLength, kMaxPinLength), apdu));
        if (out.size() != 2) {
            throw MalformedData("pinpad reader did not answer a status word");
        }
        answer = static_cast<std::uint16_t>((out[0] << 8) | out[1]);
    }
    if (answer == sw::kOk) {
        return;
    }
    if (!status.verified) {
        guard.disarm();  // a VERIFY that failed leaves nothing verified
    }
    throwForVerification(answer, Credential::Pin, "VERIFY");
}

std::uint16_t PivToken::sendReferenceData(std::uint8_t ins, std::uint8_t p2,
                                          const SecureBytes& first, const SecureBytes& second) {
    SecureBytes apdu(5 + 2 * kReferenceDataBlock);
    const std::uint8_t header[] = {0x00, ins, 0x00, p2, 2 * kReferenceDataBlock};
    std::copy(std::begin(header), std::end(header), apdu.data());
    writeBlock(apdu.data() + 5, first);
    writeBlock(apdu.data() + 5 + kReferenceDataBlock, second);
    return transmit(apdu).sw();
}

std::uint16_t PivToken::pinpadModify(std::uint8_t ins, std::uint8_t p2,
                                     const pinpad::EntryFormat& format) {
    Bytes apdu{0x00, ins, 0x00, p2, 2 * kReferenceDataBlock};
    apdu.insert(apdu.end(), 2 * kReferenceDataBlock, 0xFF);
    // Ask for the current value, then the new one twice.
    constexpr std::uint8_t kConfirmAndCurrent = 0x03;
    const auto code = featureCode(pinpad::kFeatureModifyPinDirect);
    const Bytes out = channel_.control(
        *code,
        pinpad::buildModifyStructure(format, 0, kReferenceDataBlock, kConfirmAndCurrent, apdu));
    if (out.size() != 2) {
        throw MalformedData("pinpad reader did not answer a status word");
    }
    return static_cast<std::uint16_t>((out[0] << 8) | out[1]);
}

PinStatus PivToken::pinStatus() {
    selectApplication();
    PinReading r = readPinStatus();
    if (r.verified) {
        // A verified state left on the card hides the counter and must not stay anyway.
        if (!logout()) {
            return {std::nullopt, false};
        }
        r = readPinStatus();
        if (r.verified) {
            resetRequired_ = true;
            return {std::nullopt, false};
        }
    }
    return {r.retriesLeft, r.blocked};
}

void PivToken::verifyPin(const PinInput& pin) {
    checkPinInput(pin);
    selectApplication();
    SecurityStatusGuard guard(*this);
    presentPin(pin, guard);
}

void PivToken::changePin(const ReferenceDataChange& change) {
    checkChangeInput(change, Credential::Pin, Credential::Pin);
    selectApplication();
    SecurityStatusGuard guard(*this);
    const PinReading status = readPinStatus();
    if (status.verified) {
        guard.arm();
    }
    if (status.blocked) {
        throw PinBlocked();
    }
    if (status.retriesLeft == 1 && !change.allowLastAttempt) {
        throw PinLastAttempt(Credential::Pin);
    }
    // CHANGE REFERENCE DATA checks the current PIN: treat it like a VERIFY.
    guard.arm();
    const std::uint16_t answer = change.current
                                     ? sendReferenceData(kInsChangeReferenceData, kRefPin,
                                                         *change.current, *change.replacement)
                                     : pinpadModify(kInsChangeReferenceData, kRefPin,
                                                    pinpadFormat(kMinPinLength, kMaxPinLength));
    if (answer == sw::kOk) {
        return;
    }
    if (!status.verified) {
        guard.disarm();
    }
    throwForVerification(answer, Credential::Pin, "CHANGE REFERENCE DATA");
}

void PivToken::changePuk(const ReferenceDataChange& change) {
    checkChangeInput(change, Credential::Puk, Credential::Puk);
    checkKnownPukState(change.allowLastAttempt);
    selectApplication();
    // The PUK grants no key access, so there is no security status to reset afterwards.
    const std::uint16_t answer =
        change.current
            ? sendReferenceData(kInsChangeReferenceData, kRefPuk, *change.current,
                                *change.replacement)
            : pinpadModify(kInsChangeReferenceData, kRefPuk, pinpadFormat(kPukLength, kPukLength));
    if (answer == sw::kOk) {
        knownPukRetries_.reset();
        return;
    }
    notePukAnswer(answer);
    throwForVerification(answer, Credential::Puk, "CHANGE REFERENCE DATA (PUK)");
}

void PivToken::unblockPin(const ReferenceDataChange& change) {
    checkChangeInput(change, Credential::Puk, Credential::Pin);
    checkKnownPukState(change.allowLastAttempt);
    selectApplication();
    // Some cards leave the new PIN verified after RESET RETRY COUNTER: log out on success.
    SecurityStatusGuard guard(*this);
    guard.arm();
    const std::uint16_t answer = change.current
                                     ? sendReferenceData(kInsResetRetryCounter, kRefPin,
                                                         *change.current, *change.replacement)
                                     : pinpadModify(kInsResetRetryCounter, kRefPin,
                                                    pinpadFormat(kMinPinLength, kMaxPinLength));
    if (answer == sw::kOk) {
        knownPukRetries_.reset();
        return;
    }
    guard.disarm();
    notePukAnswer(answer);
    throwForVerification(answer, Credential::Puk, "RESET RETRY COUNTER");
}

// ---------------------------------------------------------------------------------------------
// Private-key operations

SecureBytes PivToken::generalAuthenticate(std::size_t key, std::uint32_t inputTag, ByteView input) {
    Bytes inner;
    appendTlv(inner, kTagResponse, {});
    appendTlv(inner, inputTag, input);
    const CommandApdu command(0x00, kInsGeneralAuthenticate,
                              algorithmId(entries_[key].keyAlgorithm), keys_[key].keyRef,
                              encodeTlv(kTagTemplate, inner), CommandApdu::kMaxShortNe);
    ResponseApdu r = transmitChained(command);
    const WipeOnExit wipe(r.data());
    if (!r.ok()) {
        if (r.sw() == sw::kReferenceNotFound || r.sw() == sw::kIncorrectP1P2) {
            throw KeyNotFound("the card has no key of this type in slot " + entries_[key].slot);
        }
        throw CardError(r.sw(), "GENERAL AUTHENTICATE");
    }
    const Tlv outer = parseTlv(r.data());
    if (outer.tag != kTagTemplate || outer.encoded.size() != r.data().size()) {
        throw MalformedData("GENERAL AUTHENTICATE: response is not one 7C element");
    }
    const auto result = findTlv(outer.value, kTagResponse);
    if (!result || result->value.empty()) {
        throw MalformedData("GENERAL AUTHENTICATE: no 82 element in the response");
    }
    return SecureBytes(result->value);
}

PivToken::KeyUse PivToken::resolveKeyUse(const std::string& slot, const PinInput& pin) {
    const auto keyRef = parseSlot(slot);
    if (!keyRef) {
        throw KeyNotFound("no PIV slot " + slot);
    }
    const bool needsPin = pinPolicyOf(*keyRef) != PinPolicy::Never;
    if (needsPin) {
        checkPinInput(pin);
    }
    return {keyIndex(*keyRef), needsPin};
}

Bytes PivToken::sign(const SignRequest& request) {
    const auto [key, needsPin] = resolveKeyUse(request.slot, request.pin);
    const KeyAlgorithm algorithm = entries_[key].keyAlgorithm;
    const crypto::PublicKey& publicKey = keys_[key].publicKey;
    if (request.digest.size() != digestSize(request.hash)) {
        throw InvalidInput("digest length does not match " +
                           std::string(hashAlgorithmName(request.hash)));
    }
    const bool rsaScheme = request.scheme != SignatureScheme::Ecdsa;
    if (rsaScheme != isRsa(algorithm)) {
        throw UnsupportedAlgorithm(std::string(signatureSchemeName(request.scheme)) + " with a " +
                                   std::string(keyAlgorithmName(algorithm)) + " key");
    }
    Bytes input;
    try {
        switch (request.scheme) {
            case SignatureScheme::RsaPkcs1v15:
                input = crypto::encodePkcs1v15Signature(request.hash, request.digest,
                                                        keySizeBytes(algorithm));
                break;
            case SignatureScheme::RsaPss:
                input = crypto::encodePss(publicKey, request.hash, request.digest);
                break;
            case SignatureScheme::Ecdsa:
                input = crypto::ecdsaCardInput(request.digest, keySizeBytes(algorithm));
                break;
        }
    } catch (const crypto::Error& e) {
        throw UnsupportedAlgorithm(e.what());
    }

    selectApplication();
    SecurityStatusGuard guard(*this);
    if (needsPin) {
        presentPin(request.pin, guard);  // the VERIFY right before GENERAL AUTHENTICATE
    }
    const SecureBytes result = generalAuthenticate(key, kTagChallenge, input);
    Bytes signature(result.begin(), result.end());
    if (rsaScheme) {
        // Some cards drop leading zero bytes of the result.
        if (signature.size() > keySizeBytes(algorithm)) {
            throw MalformedData("RSA signature longer than the modulus");
        }
        signature.insert(signature.begin(), keySizeBytes(algorithm) - signature.size(), 0x00);
    } else {
        try {
            (void)crypto::ecdsaDerToP1363(signature, keySizeBytes(algorithm));
        } catch (const crypto::Error& e) {
            throw MalformedData(std::string("ECDSA signature from the card: ") + e.what());
        }
    }
    // A signature that does not verify means a faulty card or a certificate that does not
    // belong to the key; either way it must not leave the daemon.
    const ByteView signedDigest = rsaScheme ? ByteView(request.digest) : ByteView(input);
    if (!publicKey.verifyDigest(request.scheme, request.hash, signedDigest, signature)) {
        throw MalformedData("the card's signature does not verify with the certificate in slot " +
                            request.slot);
    }
    return signature;
}

SecureBytes PivToken::decrypt(const DecryptRequest& request) {
    const auto [key, needsPin] = resolveKeyUse(request.slot, request.pin);
    const KeyAlgorithm algorithm = entries_[key].keyAlgorithm;
    if (!isRsa(algorithm)) {
        throw UnsupportedAlgorithm("RSA decryption with a " +
                                   std::string(keyAlgorithmName(algorithm)) + " key");
    }
    const std::size_t k = keySizeBytes(algorithm);
    if (request.ciphertext.size() != k ||
        !keys_[key].publicKey.isCiphertextInRange(request.ciphertext)) {
        throw DecryptFailed("ciphertext does not fit the key");
    }

    selectApplication();
    SecurityStatusGuard guard(*this);
    if (needsPin) {
        presentPin(request.pin, guard);
    }
    SecureBytes block = generalAuthenticate(key, kTagChallenge, request.ciphertext);
    if (block.size() > k) {
        throw MalformedData("RSA result longer than the modulus");
    }
    if (block.size() < k) {
        SecureBytes padded(k);
        std::copy(block.begin(), block.end(), padded.begin() + (k - block.size()));
        block = std::move(padded);
    }
    try {
        switch (request.padding) {
            case RsaDecryptPadding::Pkcs1v15:
                return crypto::decodePkcs1v15Encryption(block, k);
            case RsaDecryptPadding::Oaep:
                return crypto::decodeOaep(block, k, request.oaepHash);
            case RsaDecryptPadding::None:
                return block;
        }
    } catch (const crypto::PaddingError&) {
        throw DecryptFailed("ciphertext does not decrypt with this key");
    }
    throw InvalidInput("unknown padding");
}

SecureBytes PivToken::deriveSharedSecret(const DeriveRequest& request) {
    const auto [key, needsPin] = resolveKeyUse(request.slot, request.pin);
    const KeyAlgorithm algorithm = entries_[key].keyAlgorithm;
    if (isRsa(algorithm)) {
        throw UnsupportedAlgorithm("ECDH with a " + std::string(keyAlgorithmName(algorithm)) +
                                   " key");
    }
    // Checked here so that a card that does not validate points is never fed one off the
    // curve (invalid-curve attacks leak the private key).
    if (!keys_[key].publicKey.isPointOnCurve(request.peerPoint)) {
        throw InvalidInput("peer public key is not a point on the key's curve");
    }

    selectApplication();
    SecurityStatusGuard guard(*this);
    if (needsPin) {
        presentPin(request.pin, guard);
    }
    SecureBytes secret = generalAuthenticate(key, kTagExponentiation, request.peerPoint);
    if (secret.size() != keySizeBytes(algorithm)) {
        throw MalformedData("ECDH result is not one field element");
    }
    return secret;
}

}  // namespace tk::card
