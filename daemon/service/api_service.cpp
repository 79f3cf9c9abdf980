#include "service/api_service.hpp"

#include <spdlog/spdlog.h>

#include <ctime>
#include <utility>

#include "card/algorithms.hpp"
#include "card/errors.hpp"
#include "card/piv/piv_objects.hpp"
#include "crypto/cms.hpp"
#include "crypto/digest.hpp"
#include "crypto/ecdsa.hpp"
#include "service/api_failure.hpp"
#include "service/base64.hpp"
#include "service/client_text.hpp"
#include "service/error_mapping.hpp"
#include "service/params.hpp"
#include "service/registration.hpp"

namespace tk::service {
namespace {

std::optional<std::string> optionalHash(const ParamReader& params) {
    return params.optionalEnum("hash", {"SHA-256", "SHA-384", "SHA-512"});
}

// A card the request names, as the manager's view shows it now.
struct CardTarget {
    ReaderView reader;
    std::shared_ptr<const CardInfo> card;
};

struct KeyTarget {
    CardTarget target;
    const CardCertificate* certificate = nullptr;  // inside target.card
    KeyUses uses;
};

CardsView availableView(const CardManager& cards) {
    CardsView view = cards.view();
    if (!view.serviceAvailable) {
        throw ApiFailure(Reason::ServiceUnavailable, {});
    }
    return view;
}

// The one reader holding `cardId`, or nullptr. Cloned (or test) cards can share an id; the
// request then names no card unambiguously and is refused with AMBIGUOUS_CARD naming every
// reader involved, rather than sent to whichever reader came first: a PIN meant for one card
// must not be tried on another, and a signature must come from the card the user means.
const ReaderView* uniqueReaderHolding(const CardsView& view, std::string_view cardId) {
    const std::vector<const ReaderView*> holding = view.readersHolding(cardId);
    if (holding.size() > 1) {
        nlohmann::json readers = nlohmann::json::array();
        for (const ReaderView* reader : holding) {
            readers.push_back(reader->name);
        }
        throw ApiFailure(Reason::AmbiguousCard, "remove all but one of them",
                         {{"readers", std::move(readers)}});
    }
    return holding.empty() ? nullptr : holding.front();
}

// NO_READER when the system has no reader at all (so the user is told to connect one), before
// AMBIGUOUS_CARD and NO_CARD.
CardTarget requireCard(const CardManager& cards, std::string_view cardId) {
    const CardsView view = availableView(cards);
    if (view.readers.empty()) {
        throw ApiFailure(Reason::NoReader, "no reader is connected");
    }
    const ReaderView* reader = uniqueReaderHolding(view, cardId);
    if (reader == nullptr) {
        throw ApiFailure(Reason::NoCard, "no card with this id is present");
    }
    return CardTarget{*reader, reader->card};
}

KeyTarget requireKey(const CardManager& cards, const std::string& certificateId,
                     bool allowNoPinKeys) {
    const CardsView view = availableView(cards);
    if (view.readers.empty()) {
        throw ApiFailure(Reason::NoReader, "no reader is connected");
    }
    const std::size_t colon = certificateId.rfind(':');
    const ReaderView* reader = colon == std::string::npos
                                   ? nullptr
                                   : uniqueReaderHolding(view, certificateId.substr(0, colon));
    const CardCertificate* certificate =
        reader == nullptr ? nullptr : reader->card->findSlot(certificateId.substr(colon + 1));
    if (certificate == nullptr) {
        throw ApiFailure(Reason::CertificateNotFound, {});
    }
    KeyTarget key{CardTarget{*reader, reader->card}, certificate, {}};
    key.uses = keyUses(*reader->card, *certificate, allowNoPinKeys);
    return key;
}

bool needsPin(const CardCertificate& certificate) {
    return certificate.entry.pinPolicy != card::PinPolicy::Never;
}

// PIN_FORMAT before the card is touched. The rules are the card application's (PIV: PIN 6-8
// digits, PUK 8 digits); an empty string breaks them too.
void checkFormat(const CardInfo& card, const std::optional<card::SecureBytes>& value,
                 card::Credential credential, std::string_view field) {
    if (!value || card.type != "piv") {
        return;
    }
    const bool valid = credential == card::Credential::Pin ? card::piv::isValidPin(*value)
                                                           : card::piv::isValidPuk(*value);
    if (!valid) {
        throw ApiFailure(Reason::PinFormat, std::string(field) + " does not meet the card's rules",
                         {{"field", field}});
    }
}

// An omitted PIN means the pinpad; without one that is PIN_REQUIRED, decided here from what
// the card's identification learnt about the reader (the card layer checks again).
bool pinMissing(const CardInfo& card, bool given) {
    return !given && !card.pinpad;
}

// The answer to a request that needs a PIN and has none: PIN_REQUIRED with the tries left, read
// from the card in the same card job, so that whoever asks the user for the PIN can say how many
// tries remain without a second request. A blocked PIN answers PIN_BLOCKED instead: asking for
// a PIN that cannot be used would only mislead.
nlohmann::json answerPinRequired(card::Token& token) {
    const card::PinStatus status = token.pinStatus();
    if (status.blocked) {
        throw ApiFailure(Reason::PinBlocked, {}, {{"retriesLeft", 0}});
    }
    if (!status.retriesLeft) {
        return nullptr;  // found verified and not clearable: asked again after the card's reset
    }
    throw ApiFailure(Reason::PinRequired, {}, {{"retriesLeft", *status.retriesLeft}});
}

std::optional<card::SecureBytes> take(std::optional<card::SecureBytes>& secret) {
    return std::exchange(secret, std::nullopt);
}

// The PIN input of a key operation: the request's PIN when the key needs one (none given: the
// pinpad), nothing when it does not.
card::PinInput keyPinInput(bool needed, std::optional<card::SecureBytes>& secret,
                           bool lastAttempt) {
    card::PinInput input;
    if (needed) {
        input.pin = take(secret);
        input.allowLastAttempt = lastAttempt;
    }
    return input;
}

// lastAttempt spends the card's last try, which blocks it: the decision of the card holder,
// made through an origin trusted with PIN management or confirmed by the user in the bridge
// window, never of any page that may sign.
bool honouredLastAttempt(const ParamReader& params, const CallContext& context) {
    return params.optionalBool("lastAttempt").value_or(false) &&
           (context.capabilities.has(Capability::Manage) || context.viaBridge);
}

// The PUK of a PIV card: the card cannot say how many tries are left, so the daemon goes by the
// last count it saw (state::CardStates); an unknown count may be the last try.
void checkKnownPukCounter(const state::CardState& known, bool lastAttempt) {
    if (lastAttempt) {
        return;
    }
    if (known.pukRetriesLeft == 0) {
        throw ApiFailure(Reason::PukBlocked, {}, {{"retriesLeft", 0}});
    }
    if (!known.pukRetriesLeft) {
        throw ApiFailure(Reason::PinLastAttempt,
                         "the PUK's retry counter is not known (the card cannot report it), so "
                         "this may be its last try; repeat with lastAttempt to send it",
                         {{"retriesLeft", 1}});
    }
    if (*known.pukRetriesLeft == 1) {
        throw ApiFailure(Reason::PinLastAttempt, "one PUK try left", {{"retriesLeft", 1}});
    }
}

card::HashAlgorithm hashFromName(const std::optional<std::string>& name) {
    return name ? *card::hashAlgorithmFromName(*name) : card::HashAlgorithm::Sha256;
}

// sign's hash: SHA-1 only for a call whose adapter allowed it (CallExtensions).
card::HashAlgorithm signingHash(const ParamReader& params, const CallExtensions& extensions) {
    if (extensions.allowSha1Signature && params.optionalString("hash") == "SHA-1") {
        return card::HashAlgorithm::Sha1;
    }
    return hashFromName(optionalHash(params));
}

}  // namespace

struct ApiService::Request {
    const CallContext& context;
    std::string_view method;
    const nlohmann::json& params;
    Secrets secrets;
    Completion done;

    // Queues `work` on the card's strand. The deadline counts from the request's arrival:
    // limits.pinpadTimeout when the PIN is to be entered on the pinpad, else
    // limits.operationTimeout.
    void submit(ApiService& service, const CardTarget& target, card::AfterReset afterReset,
                bool pinpadEntry, CardJob::Work work) {
        const Limits& limits = service.options_.limits;
        const auto received = context.received == std::chrono::steady_clock::time_point{}
                                  ? std::chrono::steady_clock::now()
                                  : context.received;
        CardJob::Spec spec;
        spec.connectionId = context.connectionId;
        spec.method = std::string(method);
        spec.cardId = target.card->id;
        spec.insertion = target.reader.insertion;
        spec.deadline = received + (pinpadEntry ? limits.pinpadTimeout : limits.operationTimeout);
        spec.afterReset = afterReset;
        spec.work = std::move(work);
        spec.done = std::exchange(done, nullptr);
        service.cards_->submit(target.reader, std::make_shared<CardJob>(std::move(spec)));
    }

    // A request that needs the card's PIN and has none, on a reader without a pinpad: answered
    // PIN_REQUIRED with the tries left (answerPinRequired); true when so answered.
    bool answeredPinRequired(ApiService& service, const CardTarget& target, bool given) {
        if (!pinMissing(*target.card, given)) {
            return false;
        }
        submit(service, target, card::AfterReset::Rerun, false, answerPinRequired);
        return true;
    }
};

ApiService::ApiService(ServiceOptions options, std::unique_ptr<CardManager> cards)
    : options_(std::move(options)), cards_(std::move(cards)) {
    if (!options_.cardStates) {
        options_.cardStates = std::make_shared<state::CardStates>();
    }
    cards_->setEventListener([this](const nlohmann::json& event) { publish(event); });
}

ApiService::~ApiService() {
    stop(std::chrono::milliseconds{0});
}

void ApiService::start() {
    cards_->start();
}

void ApiService::stop(std::chrono::milliseconds grace) {
    cards_->stop(grace);
}

void ApiService::call(const CallContext& context, std::string_view method,
                      const nlohmann::json& params, Completion done) {
    // Secrets leave the JSON first, whatever the answer turns out to be.
    Request request{context, method, params, takeSecrets(params), std::move(done)};
    try {
        if (auto result = dispatch(request)) {
            request.done(std::move(*result), std::nullopt);
        }
    } catch (...) {
        ApiError error = errorFromException(std::current_exception(), false, method);
        if (request.done) {
            request.done(std::nullopt, std::move(error));
        } else {
            spdlog::error("{}: failure after the request was queued: {}", clientText(method),
                          error.message);
        }
    }
}

std::optional<nlohmann::json> ApiService::dispatch(Request& request) {
    const MethodInfo* method = findMethod(request.method);
    if (method == nullptr) {
        throw ApiFailure(Reason::MethodNotFound, request.method);
    }
    if (!admits(request.context.capabilities, *method)) {
        throw ApiFailure(Reason::NotPermitted, {},
                         {{"capability", capabilityName(method->capability)}});
    }
    const std::string_view name = method->name;
    if (name == "system.info") {
        return systemInfo(request);
    }
    if (name == "readers.list") {
        return readersList(request);
    }
    if (name == "events.subscribe") {
        return eventsSubscribe(request);
    }
    if (name == "certificates.list") {
        return certificatesList(request);
    }
    if (name == "pin.status") {
        pinStatus(request);
    } else if (name == "pin.verify") {
        pinVerify(request);
    } else if (name == "pin.change" || name == "pin.unblock" || name == "puk.change") {
        referenceDataChange(request);
    } else if (name == "sign") {
        sign(request);
    } else if (name == "decrypt") {
        decrypt(request);
    } else {
        registerKey(request);
    }
    return std::nullopt;
}

nlohmann::json ApiService::systemInfo(Request& request) {
    ParamReader params(request.params, {});
    return {{"name", "TenderKey"},
            {"version", options_.version},
            {"protocol", 1},
            {"backends", cards_->backends()},
            {"origin", request.context.origin}};
}

nlohmann::json ApiService::readersList(Request& request) {
    ParamReader params(request.params, {});
    const CardsView view = availableView(*cards_);
    nlohmann::json readers = nlohmann::json::array();
    for (const ReaderView& reader : view.readers) {
        readers.push_back({{"name", reader.name},
                           {"cardPresent", reader.card != nullptr},
                           {"pinpad", reader.pinpad},
                           {"card", reader.card ? reader.card->toJson() : nlohmann::json()}});
    }
    return {{"readers", std::move(readers)}};
}

nlohmann::json ApiService::eventsSubscribe(Request& request) {
    ParamReader params(request.params, {});
    std::lock_guard lock(mutex_);
    const auto it = connections_.find(request.context.connectionId);
    if (it == connections_.end()) {
        throw std::logic_error("events.subscribe on a connection the server never opened");
    }
    it->second.subscribed = true;
    return {{"subscribed", true}};
}

nlohmann::json ApiService::certificatesList(Request& request) {
    ParamReader params(request.params, {"reader"});
    const std::optional<std::string> readerName = params.optionalString("reader");
    if (readerName && (readerName->empty() || readerName->size() > 256)) {
        throw invalidParams("reader", "reader must be 1-256 characters");
    }
    const CardsView view = availableView(*cards_);
    const std::time_t now = std::time(nullptr);
    nlohmann::json list = nlohmann::json::array();
    nlohmann::json authorities = nlohmann::json::array();
    const auto add = [&](const ReaderView& reader) {
        if (!reader.card || reader.card->type == "unknown") {
            return;
        }
        for (const CardCertificate& certificate : reader.card->certificates) {
            list.push_back(certificateJson(*reader.card, certificate, reader.name,
                                           options_.allowNoPinKeys, now));
        }
        for (const CardAuthorityCertificate& certificate : reader.card->authorityCertificates) {
            authorities.push_back(authorityCertificateJson(*reader.card, certificate, reader.name));
        }
    };
    if (readerName) {
        const ReaderView* reader = view.findReader(*readerName);
        if (reader == nullptr) {
            throw ApiFailure(Reason::NoReader, {});
        }
        if (!reader->card) {
            throw ApiFailure(Reason::NoCard, {});
        }
        if (reader->card->type == "unknown") {
            throw ApiFailure(Reason::UnsupportedCard, {});
        }
        add(*reader);
    } else {
        for (const ReaderView& reader : view.readers) {
            add(reader);
        }
    }
    return {{"certificates", std::move(list)}, {"caCertificates", std::move(authorities)}};
}

void ApiService::pinStatus(Request& request) {
    ParamReader params(request.params, {"cardId"});
    const std::string cardId = params.requiredCardId("cardId");
    const CardTarget target = requireCard(*cards_, cardId);
    const bool pinpad = target.card->pinpad;
    request.submit(
        *this, target, card::AfterReset::Rerun, false,
        [pinpad](card::Token& token) -> nlohmann::json {
            const card::PinStatus status = token.pinStatus();
            if (!status.retriesLeft && !status.blocked) {
                // The PIN was found verified and could not be cleared: the session
                // resets the card after this run; ask again then.
                return nullptr;
            }
            const int retries = status.blocked ? 0 : *status.retriesLeft;
            return {{"retriesLeft", retries}, {"blocked", retries == 0}, {"pinpad", pinpad}};
        });
}

void ApiService::pinVerify(Request& request) {
    ParamReader params(request.params, {"cardId", "pin", "lastAttempt"});
    const std::string cardId = params.requiredCardId("cardId");
    params.checkSecret("pin");
    const bool lastAttempt = honouredLastAttempt(params, request.context);
    const CardTarget target = requireCard(*cards_, cardId);
    checkFormat(*target.card, request.secrets.pin, card::Credential::Pin, "pin");
    if (request.answeredPinRequired(*this, target, request.secrets.pin.has_value())) {
        return;
    }
    auto input = std::make_shared<card::PinInput>();
    input->pin = take(request.secrets.pin);
    input->allowLastAttempt = lastAttempt;
    const bool pinpadEntry = !input->pin;
    request.submit(*this, target, card::AfterReset::Report, pinpadEntry,
                   [input](card::Token& token) -> nlohmann::json {
                       token.verifyPin(*input);
                       return {{"verified", true}};
                   });
}

void ApiService::referenceDataChange(Request& request) {
    // pin.change: pin + newPin; pin.unblock: puk + newPin; puk.change: puk + newPuk.
    const std::string_view method = request.method;
    const bool pinChange = method == "pin.change";
    const bool unblock = method == "pin.unblock";
    const std::string_view current = pinChange ? "pin" : "puk";
    const std::string_view replacement = method == "puk.change" ? "newPuk" : "newPin";
    const card::Credential currentKind = pinChange ? card::Credential::Pin : card::Credential::Puk;
    const card::Credential replacementKind =
        method == "puk.change" ? card::Credential::Puk : card::Credential::Pin;

    ParamReader params(request.params, {"cardId", current, replacement, "lastAttempt"});
    const std::string cardId = params.requiredCardId("cardId");
    params.checkSecret(current);
    params.checkSecret(replacement);
    const bool lastAttempt = honouredLastAttempt(params, request.context);
    std::optional<card::SecureBytes>& currentValue = *request.secrets.find(current);
    std::optional<card::SecureBytes>& replacementValue = *request.secrets.find(replacement);
    // Both or neither (neither: both on the pinpad); the field named is the missing one.
    if (currentValue && !replacementValue) {
        throw invalidParams(replacement, std::string(replacement) + " is missing");
    }
    if (!currentValue && replacementValue) {
        throw invalidParams(current, std::string(current) + " is missing");
    }
    const CardTarget target = requireCard(*cards_, cardId);
    checkFormat(*target.card, currentValue, currentKind, current);
    checkFormat(*target.card, replacementValue, replacementKind, replacement);
    if (pinChange && request.answeredPinRequired(*this, target, currentValue.has_value())) {
        return;
    }
    if (pinMissing(*target.card, currentValue.has_value())) {
        // A PUK: a PIV card cannot report its tries, so PIN_REQUIRED carries none.
        throw ApiFailure(Reason::PinRequired, {});
    }
    // The PUK counter of a PIV card is the daemon's to remember (the card cannot report it).
    std::shared_ptr<state::CardStates> pukCounters;
    if (!pinChange && target.card->type == "piv") {
        pukCounters = options_.cardStates;
        checkKnownPukCounter(pukCounters->get(cardId), lastAttempt);
    }

    auto change = std::make_shared<card::ReferenceDataChange>();
    change->current = take(currentValue);
    change->replacement = take(replacementValue);
    change->allowLastAttempt = lastAttempt;
    const bool pinpadEntry = !change->current;
    CardJob::Work work;
    if (pinChange) {
        work = [change](card::Token& token) -> nlohmann::json {
            token.changePin(*change);
            return {{"changed", true}};
        };
    } else {
        work = [change, unblock, pukCounters, cardId](card::Token& token) -> nlohmann::json {
            try {
                if (unblock) {
                    token.unblockPin(*change);
                } else {
                    token.changePuk(*change);
                }
            } catch (const card::PukIncorrect& e) {
                if (pukCounters) {
                    pukCounters->pukRejected(cardId, e.retriesLeft());
                }
                throw;
            } catch (const card::PukBlocked&) {
                if (pukCounters) {
                    pukCounters->pukRejected(cardId, 0);
                }
                throw;
            }
            if (pukCounters) {
                pukCounters->pukAccepted(cardId);
            }
            return {{unblock ? "unblocked" : "changed", true}};
        };
    }
    request.submit(*this, target, card::AfterReset::Report, pinpadEntry, std::move(work));
}

void ApiService::sign(Request& request) {
    ParamReader params(request.params, {"certificateId", "pin", "lastAttempt", "hash", "digest",
                                        "data", "algorithm", "format", "cms", "signatureEncoding"});
    const std::string certificateId = params.requiredCertificateId("certificateId");
    params.checkSecret("pin");
    const bool lastAttempt = honouredLastAttempt(params, request.context);
    const card::HashAlgorithm hash = signingHash(params, request.context.extensions);
    std::optional<card::Bytes> digest = params.optionalBase64("digest", false, 0);
    const std::optional<card::Bytes> data =
        params.optionalBase64("data", true, options_.limits.maxParameterBytes);
    if (digest && data) {
        throw invalidParams("data", "give either digest or data, not both");
    }
    if (!digest && !data) {
        throw invalidParams("digest", "digest or data is required");
    }
    if (digest && digest->size() != card::digestSize(hash)) {
        throw invalidParams("digest", "digest does not match hash");
    }
    const std::optional<std::string> algorithm =
        params.optionalEnum("algorithm", {"RSASSA-PKCS1-v1_5", "RSA-PSS", "ECDSA"});
    const bool cmsFormat = params.optionalEnum("format", {"raw", "cms"}).value_or("raw") == "cms";
    bool detached = true;
    bool signingTime = true;
    if (const auto cms = params.optionalObject("cms", {"detached", "signingTime"})) {
        detached = cms->optionalBool("detached").value_or(true);
        signingTime = cms->optionalBool("signingTime").value_or(true);
        if (!cmsFormat) {
            throw invalidParams("cms", "cms options need format \"cms\"");
        }
        if (!detached && digest) {
            throw invalidParams("cms.detached", "an attached signature needs data, not digest");
        }
    }
    const std::optional<std::string> encoding =
        params.optionalEnum("signatureEncoding", {"der", "p1363"});
    if (encoding && (cmsFormat || (algorithm && *algorithm != "ECDSA"))) {
        throw invalidParams("signatureEncoding", "signatureEncoding is for raw ECDSA only");
    }

    // sign-cms (a user's consent) covers CMS SignedData only.
    if (!cmsFormat && !request.context.capabilities.has(Capability::Sign)) {
        throw ApiFailure(Reason::NotPermitted, "this origin may sign only in CMS format",
                         {{"capability", capabilityName(Capability::Sign)}});
    }
    const KeyTarget key = requireKey(*cards_, certificateId, options_.allowNoPinKeys);
    if (!key.uses.sign) {
        throw ApiFailure(Reason::KeyUsage, {});
    }
    // A raw signature by a key that also registers could be another origin's registration
    // token; CMS signs its own signed attributes and cannot be one.
    if (!cmsFormat && key.uses.dualSignAndRegister() &&
        !request.context.capabilities.has(Capability::SignRaw)) {
        throw ApiFailure(Reason::NotPermitted,
                         "a raw signature with a key that also registers needs sign-raw",
                         {{"capability", capabilityName(Capability::SignRaw)}});
    }
    const card::KeyAlgorithm keyAlgorithm = key.certificate->entry.keyAlgorithm;
    const bool rsaKey = card::isRsa(keyAlgorithm);
    if (encoding && rsaKey) {
        throw invalidParams("signatureEncoding", "signatureEncoding is for raw ECDSA only");
    }
    card::SignatureScheme scheme =
        rsaKey ? card::SignatureScheme::RsaPkcs1v15 : card::SignatureScheme::Ecdsa;
    if (algorithm == "RSA-PSS") {
        scheme = card::SignatureScheme::RsaPss;
    } else if (algorithm == "ECDSA") {
        scheme = card::SignatureScheme::Ecdsa;
    } else if (algorithm == "RSASSA-PKCS1-v1_5") {
        scheme = card::SignatureScheme::RsaPkcs1v15;
    }
    if ((scheme == card::SignatureScheme::Ecdsa) == rsaKey) {
        throw ApiFailure(Reason::UnsupportedAlgorithm,
                         std::string(card::signatureSchemeName(scheme)) + " with a " +
                             std::string(card::keyAlgorithmName(keyAlgorithm)) + " key",
                         {{"field", "algorithm"}});
    }
    const bool pin = needsPin(*key.certificate);
    if (pin) {
        checkFormat(*key.target.card, request.secrets.pin, card::Credential::Pin, "pin");
        if (request.answeredPinRequired(*this, key.target, request.secrets.pin.has_value())) {
            return;
        }
    }

    if (cmsFormat) {
        // SignedData made by OpenSSL's CMS code; the card signs the signed attributes in the
        // one card operation of this request (docs/cms.md).
        auto cmsRequest = std::make_shared<crypto::CmsSignRequest>();
        cmsRequest->scheme = scheme;
        cmsRequest->hash = hash;
        cmsRequest->digest = digest ? std::move(*digest) : crypto::digest(hash, *data);
        if (!detached) {
            cmsRequest->content = *data;
        }
        cmsRequest->signingTime = signingTime;
        const CallExtensions& extensions = request.context.extensions;
        if (extensions.cmsRandomNonce) {
            cmsRequest->randomNonce =
                card::Bytes(extensions.cmsRandomNonce->begin(), extensions.cmsRandomNonce->end());
        }
        cmsRequest->cardSerialNumber = extensions.cmsCardSerialNumber;
        auto pinInput =
            std::make_shared<card::PinInput>(keyPinInput(pin, request.secrets.pin, lastAttempt));
        const bool cmsPinpadEntry = pin && !pinInput->pin;
        request.submit(*this, key.target, pin ? card::AfterReset::Report : card::AfterReset::Rerun,
                       cmsPinpadEntry,
                       [cmsRequest, pinInput, slot = key.certificate->entry.slot,
                        der = key.certificate->entry.der](card::Token& token) -> nlohmann::json {
                           crypto::TokenKeyOperations operations(token, slot, std::move(*pinInput));
                           const card::Bytes cms = crypto::cmsSign(operations, der, *cmsRequest);
                           return {{"cms", encodeBase64(cms)}, {"certificate", encodeBase64(der)}};
                       });
        return;
    }

    auto signRequest = std::make_shared<card::SignRequest>();
    signRequest->slot = key.certificate->entry.slot;
    signRequest->scheme = scheme;
    signRequest->hash = hash;
    signRequest->digest = digest ? std::move(*digest) : crypto::digest(hash, *data);
    signRequest->pin = keyPinInput(pin, request.secrets.pin, lastAttempt);
    const bool pinpadEntry = pin && !signRequest->pin.pin;
    const bool p1363 = encoding == "p1363";
    const std::string certificate = encodeBase64(key.certificate->entry.der);
    request.submit(
        *this, key.target, pin ? card::AfterReset::Report : card::AfterReset::Rerun, pinpadEntry,
        [signRequest, p1363, certificate, keyAlgorithm](card::Token& token) -> nlohmann::json {
            card::Bytes signature = token.sign(*signRequest);
            if (p1363) {
                signature = crypto::ecdsaDerToP1363(signature, card::keySizeBytes(keyAlgorithm));
            }
            return {{"signature", encodeBase64(signature)},
                    {"certificate", certificate},
                    {"algorithm", card::signatureSchemeName(signRequest->scheme)},
                    {"hash", card::hashAlgorithmName(signRequest->hash)}};
        });
}

void ApiService::decrypt(Request& request) {
    ParamReader params(request.params, {"certificateId", "pin", "lastAttempt", "cms", "algorithm",
                                        "hash", "ciphertext"});
    const std::string certificateId = params.requiredCertificateId("certificateId");
    params.checkSecret("pin");
    const bool lastAttempt = honouredLastAttempt(params, request.context);
    const std::size_t limit = options_.limits.maxParameterBytes;
    const bool cmsForm = params.has("cms");
    std::optional<std::string> algorithm;
    card::HashAlgorithm hash = card::HashAlgorithm::Sha256;
    std::optional<card::Bytes> ciphertext;
    std::optional<card::Bytes> cmsDer;
    if (cmsForm) {
        for (const std::string_view other : {"algorithm", "hash", "ciphertext"}) {
            if (params.has(other)) {
                throw invalidParams(other, std::string(other) + " does not go with cms");
            }
        }
        cmsDer = params.optionalBase64("cms", false, limit);
    } else {
        algorithm = params.optionalEnum("algorithm", {"RSA-OAEP", "RSAES-PKCS1-v1_5"});
        if (!algorithm) {
            throw invalidParams("algorithm", "algorithm is missing (or give cms)");
        }
        const std::optional<std::string> hashName = optionalHash(params);
        if (hashName && *algorithm != "RSA-OAEP") {
            throw invalidParams("hash", "hash is only for RSA-OAEP");
        }
        hash = hashFromName(hashName);
        ciphertext = params.optionalBase64("ciphertext", false, limit);
        if (!ciphertext) {
            throw invalidParams("ciphertext", "ciphertext is missing");
        }
    }

    const KeyTarget key = requireKey(*cards_, certificateId, options_.allowNoPinKeys);
    if (!key.uses.decrypt) {
        throw ApiFailure(Reason::KeyUsage, {});
    }
    // The reasons of docs/cms.md; a failed decryption says nothing more than DECRYPT_FAILED.
    const auto cmsFailure = [](const crypto::CmsError& e) {
        switch (e.kind()) {
            case crypto::CmsError::Kind::Malformed:
                return invalidParams("cms", e.what());
            case crypto::CmsError::Kind::Unsupported:
                return ApiFailure(Reason::UnsupportedAlgorithm, e.what(), {{"field", "cms"}});
            case crypto::CmsError::Kind::DecryptFailed:
                break;
        }
        return ApiFailure(Reason::DecryptFailed, {});
    };
    crypto::CmsDecryptOptions cmsOptions;
    cmsOptions.allowDesEde3 = request.context.extensions.allowDesEde3Envelope;
    if (cmsForm) {
        // Type, recipient and algorithms are checked before the card is touched.
        try {
            crypto::checkEnvelope(key.certificate->entry.der, *cmsDer, cmsOptions);
        } catch (const crypto::CmsError& e) {
            throw cmsFailure(e);
        }
    } else if (!card::isRsa(key.certificate->entry.keyAlgorithm)) {
        throw ApiFailure(Reason::UnsupportedAlgorithm, "raw decryption needs an RSA key",
                         {{"field", "algorithm"}});
    }
    const bool pin = needsPin(*key.certificate);
    if (pin) {
        checkFormat(*key.target.card, request.secrets.pin, card::Credential::Pin, "pin");
        if (request.answeredPinRequired(*this, key.target, request.secrets.pin.has_value())) {
            return;
        }
    }
    if (cmsForm) {
        auto cms = std::make_shared<card::Bytes>(std::move(*cmsDer));
        auto pinInput =
            std::make_shared<card::PinInput>(keyPinInput(pin, request.secrets.pin, lastAttempt));
        const bool cmsPinpadEntry = pin && !pinInput->pin;
        request.submit(*this, key.target, pin ? card::AfterReset::Report : card::AfterReset::Rerun,
                       cmsPinpadEntry,
                       [cms, pinInput, cmsFailure, cmsOptions, slot = key.certificate->entry.slot,
                        der = key.certificate->entry.der](card::Token& token) -> nlohmann::json {
                           crypto::TokenKeyOperations operations(token, slot, std::move(*pinInput));
                           try {
                               const card::SecureBytes plaintext =
                                   crypto::cmsDecrypt(operations, der, *cms, cmsOptions);
                               return {{"data", encodeBase64(plaintext)}};
                           } catch (const crypto::CmsError& e) {
                               throw cmsFailure(e);
                           }
                       });
        return;
    }
    auto decryptRequest = std::make_shared<card::DecryptRequest>();
    decryptRequest->slot = key.certificate->entry.slot;
    decryptRequest->padding = *algorithm == "RSA-OAEP" ? card::RsaDecryptPadding::Oaep
                                                       : card::RsaDecryptPadding::Pkcs1v15;
    decryptRequest->oaepHash = hash;
    decryptRequest->ciphertext = std::move(*ciphertext);
    decryptRequest->pin = keyPinInput(pin, request.secrets.pin, lastAttempt);
    const bool pinpadEntry = pin && !decryptRequest->pin.pin;
    request.submit(*this, key.target, pin ? card::AfterReset::Report : card::AfterReset::Rerun,
                   pinpadEntry, [decryptRequest](card::Token& token) -> nlohmann::json {
                       const card::SecureBytes plaintext = token.decrypt(*decryptRequest);
                       return {{"data", encodeBase64(plaintext)}};
                   });
}

void ApiService::registerKey(Request& request) {
    ParamReader params(request.params, {"certificateId", "pin", "lastAttempt", "challenge"});
    const std::string certificateId = params.requiredCertificateId("certificateId");
    params.checkSecret("pin");
    const std::string challenge = params.requiredString("challenge");
    if (challenge.size() < 44 || challenge.size() > 128 ||
        !std::all_of(challenge.begin(), challenge.end(),
                     [](char c) { return c >= 0x21 && c <= 0x7e; })) {
        throw invalidParams("challenge",
                            "challenge must be 44-128 printable ASCII characters without spaces");
    }
    const bool lastAttempt = honouredLastAttempt(params, request.context);
    const KeyTarget key = requireKey(*cards_, certificateId, options_.allowNoPinKeys);
    if (!key.uses.registration) {
        throw ApiFailure(Reason::KeyUsage, {});
    }
    const bool pin = needsPin(*key.certificate);
    if (pin) {
        checkFormat(*key.target.card, request.secrets.pin, card::Credential::Pin, "pin");
        if (request.answeredPinRequired(*this, key.target, request.secrets.pin.has_value())) {
            return;
        }
    }
    // The origin is the handshake's (CallContext), never a page value.
    const card::KeyAlgorithm keyAlgorithm = key.certificate->entry.keyAlgorithm;
    const RegistrationAlgorithm algorithm = registrationAlgorithm(keyAlgorithm);
    auto signRequest = std::make_shared<card::SignRequest>();
    signRequest->slot = key.certificate->entry.slot;
    signRequest->scheme = algorithm.scheme;
    signRequest->hash = algorithm.hash;
    signRequest->digest = registrationDigest(algorithm.hash, request.context.origin, challenge);
    signRequest->pin = keyPinInput(pin, request.secrets.pin, lastAttempt);
    const bool pinpadEntry = pin && !signRequest->pin.pin;
    request.submit(
        *this, key.target, pin ? card::AfterReset::Report : card::AfterReset::Rerun, pinpadEntry,
        [signRequest, keyAlgorithm, card = key.target.card, certificate = key.certificate,
         version = options_.version](card::Token& token) -> nlohmann::json {
            const card::Bytes signature = token.sign(*signRequest);
            RegistrationToken result{.key = keyAlgorithm,
                                     .signature = signature,
                                     .certificate = certificate->entry.der,
                                     .certificates = {},
                                     .version = version,
                                     .chain = {}};
            for (const CardCertificate& each : card->certificates) {
                result.certificates.emplace_back(each.entry.der);
            }
            for (const CardAuthorityCertificate& each : card->authorityCertificates) {
                result.chain.emplace_back(each.entry.der);
            }
            return registrationResult(result);
        });
}

void ApiService::connectionOpened(std::uint64_t connectionId, EventSink sink) {
    std::lock_guard lock(mutex_);
    connections_[connectionId] = Connection{std::move(sink), false};
}

void ApiService::connectionClosed(std::uint64_t connectionId) {
    {
        std::lock_guard lock(mutex_);
        connections_.erase(connectionId);
    }
    cards_->cancelConnection(connectionId);
}

int ApiService::readerCount() const {
    return cards_->readerCount();
}

void ApiService::publish(const nlohmann::json& event) {
    std::vector<EventSink> sinks;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [id, connection] : connections_) {
            if (connection.subscribed && connection.sink) {
                sinks.push_back(connection.sink);
            }
        }
    }
    for (const EventSink& sink : sinks) {
        sink(event);
    }
}

std::unique_ptr<ApiService> makeService(const Config& config, std::string version) {
    PcscBackendOptions backend;
    backend.developmentMode = config.developmentMode;
    // The reader's own PIN entry timer ends before the request's deadline, so that the
    // answer is PINPAD_TIMEOUT rather than TIMEOUT; bTimerOut is one byte of seconds.
    const auto pinpadSeconds =
        std::clamp<long long>(config.limits.pinpadTimeout.count() - 10, 5, 255);
    backend.piv.pinpadTimeoutSeconds = static_cast<std::uint8_t>(pinpadSeconds);
    backend.pkcs11Modules = config.pkcs11Modules;
    backend.preferPkcs11 = config.preferPkcs11;
    CardManagerOptions manager;
    manager.developmentMode = config.developmentMode;
    ServiceOptions options;
    options.version = std::move(version);
    options.limits = config.limits;
    options.allowNoPinKeys = config.allowNoPinKeys;
    options.cardStates = std::make_shared<state::CardStates>(
        state::StateDirectory::open(state::resolveStateDirectory(config.stateDirectory)));
    return std::make_unique<ApiService>(
        std::move(options), std::make_unique<CardManager>(manager, pcscCardBackend(backend)));
}

}  // namespace tk::service
