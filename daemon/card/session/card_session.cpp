#include "card/session/card_session.hpp"

#include <new>
#include <utility>

#include "card/apdu.hpp"
#include "card/piv/card_identity.hpp"
#include "card/piv/piv_objects.hpp"
#include "card/session/readers.hpp"
#include "card/session/removal_wait.hpp"
#include "card/tlv.hpp"
#include "pcsc/errors.hpp"
#include "pcsc/transaction.hpp"

namespace tk::card {

CardSession::CardSession(std::string reader, CardSessionOptions options,
                         std::shared_ptr<TokenCache> cache)
    : reader_(std::move(reader)), options_(options), cache_(std::move(cache)) {
    if (!readerAllowed(reader_, options_.devMode)) {
        throw ReaderNotFound(reader_, true);
    }
}

CardSession::~CardSession() {
    disconnect();
}

bool CardSession::slotNeedsPin(const std::string& slot) noexcept {
    const auto keyRef = piv::parseSlot(slot);
    return !keyRef || piv::pinPolicyOf(*keyRef) != PinPolicy::Never;
}

// ---------------------------------------------------------------------------------------------
// One operation

void CardSession::runOperation(AfterReset afterReset,
                               const std::function<void(Token&)>& operation) {
    // Another program may reset the card between two of our requests (yubico-piv-tool and
    // Windows' own stack disconnect with SCARD_RESET_CARD). pcscd tells this handle at its next
    // call, usually SCardBeginTransaction, before anything of ours reached the card. Until a PIN
    // or PUK of this request has been handed to the card, running the operation again after a
    // reconnect (which re-selects the application) is safe: nothing secret is sent twice. Once
    // one has been, the reset is the caller's to report, and the user's to retry.
    bool credentialSent = false;
    const auto noteCredentialUse = [this, &credentialSent] {
        credentialSent = credentialSent || (token_ && token_->credentialPresented());
    };
    if (token_) {
        token_->forgetCredentialUse();
    }
    for (int attempt = 0;; ++attempt) {
        const bool firstAttempt = attempt == 0;
        const auto mayRerunAfterReset = [&] {
            return firstAttempt && (afterReset == AfterReset::Rerun || !credentialSent);
        };
        bool began = false;  // the transaction started: the card may have seen the operation
        try {
            connect();
            const pcsc::Transaction transaction(*connection_);
            began = true;
            bindToken();
            token_->forgetCredentialUse();
            runInTransaction(operation);
            return;
        } catch (const pcsc::CardReset&) {
            noteCredentialUse();
            recoverFromReset();
            if (mayRerunAfterReset()) {
                continue;
            }
            throw;
        } catch (const pcsc::CardRemoved&) {
            dropCard();
            // Gone before this operation began: whatever is in the reader now is a fresh start.
            if (firstAttempt && afterReset == AfterReset::Rerun && !began) {
                continue;
            }
            throw;
        } catch (const pcsc::ServiceNotRunning&) {
            dropContext();
            throw;
        } catch (const pcsc::InvalidHandle&) {
            dropContext();
            throw;
        } catch (const pcsc::NoCard&) {
            dropCard();
            throw;
        } catch (const pcsc::UnknownReader&) {
            dropCard();
            throw;
        } catch (const pcsc::ReaderUnavailable&) {
            dropCard();
            throw;
        } catch (const pcsc::ProtocolMismatch&) {
            // Another application reset the card (SCardDisconnect with SCARD_RESET_CARD) and
            // pcscd left its protocol undefined under this handle: every exchange would fail
            // the same way. A new connection negotiates the protocol again; the operation runs
            // on it under the same rule as after a reset.
            noteCredentialUse();
            dropCard();
            if (mayRerunAfterReset()) {
                continue;
            }
            throw;
        }
    }
}

void CardSession::runInTransaction(const std::function<void(Token&)>& operation) {
    try {
        operation(*token_);
    } catch (const pcsc::CardRemoved&) {
        throw;  // nothing left to reset
    } catch (const pcsc::CardReset&) {
        throw;  // the reset already cleared the card's state
    } catch (const pcsc::ServiceNotRunning&) {
        throw;
    } catch (const pcsc::InvalidHandle&) {
        throw;
    } catch (const pcsc::ProtocolMismatch&) {
        throw;  // the card is there; its protocol was undone by another application's reset
    } catch (const pcsc::Error&) {
        // An exchange cut short by a card pulled out usually fails with a transport error
        // before pcscd has noticed the empty reader; report it as the removal it is. This is
        // asked before any reset: resetting a card that is gone makes pcscd 1.9 mark the reader
        // empty on its own, and a card put back before its next look is then never seen.
        if (auto removed = removal()) {
            throw *removed;
        }
        resetIfRequired();
        throw;
    } catch (...) {
        resetIfRequired();
        throw;
    }
    resetIfRequired();
}

void CardSession::connect() {
    if (!context_) {
        context_ = std::make_shared<pcsc::Context>();
    }
    if (connection_ && token_ && token_->resetRequired()) {
        // The reset at the end of an earlier operation failed: let go of the card with one now.
        connection_->setDisconnectDisposition(pcsc::Disposition::Reset);
        try {
            connection_->disconnect();
        } catch (const pcsc::Error&) {
            // The card or pcscd went away meanwhile, and the card's state with it.
        }
        dropCard();
    }
    if (!connection_) {
        connection_ = std::make_unique<pcsc::CardConnection>(context_, reader_);
    }
}

void CardSession::bindToken() {
    if (token_) {
        token_->attach(*connection_);
        return;
    }
    std::shared_ptr<ReattachableToken> token;
    if (cache_ && cache_->holdsCardsFrom(reader_)) {
        if (const auto id = peekCardId()) {
            token = cache_->take(reader_, *id);
        }
        // The same card may have had its certificates replaced while it was out (renewed on
        // another computer, a key generated with another tool): what was kept is used only
        // when the card still holds exactly those objects.
        if (token) {
            token->attach(*connection_);
            if (!token->matchesCard()) {
                token.reset();
            }
        }
    }
    if (!token) {
        token = std::make_shared<ReattachableToken>(options_.piv);
    }
    token->attach(*connection_);
    token_ = std::move(token);
}

// SELECT and GET DATA CHUID: enough to recognise a card whose CHUID names it (GUID or FASC-N),
// two APDUs instead of the seven a full read takes. A card that needs its certificates to be
// identified is read in full.
std::optional<std::string> CardSession::peekCardId() {
    try {
        Bytes select{0x00, 0xA4, 0x04, 0x00, static_cast<std::uint8_t>(piv::kAid.size())};
        select.insert(select.end(), piv::kAid.begin(), piv::kAid.end());
        select.push_back(0x00);
        if (!ResponseApdu(connection_->transmit(select)).ok()) {
            return std::nullopt;
        }
        Bytes request;
        appendTlv(request, 0x5C, encodeTlvTag(piv::kObjectChuid));
        const CommandApdu getData(0x00, piv::kInsGetData, 0x3F, 0xFF, std::move(request),
                                  CommandApdu::kMaxShortNe);
        const ResponseApdu answer(connection_->transmit(getData.encodeShort()));
        if (!answer.ok()) {
            return std::nullopt;
        }
        const Tlv object = parseTlv(answer.data());
        if (object.tag != 0x53) {
            return std::nullopt;
        }
        const std::string id = piv::deriveCardId(piv::parseChuid(object.value), {});
        // Without GUID or FASC-N the id comes from the certificates, which were not read here.
        if (id == piv::deriveCardId({}, {})) {
            return std::nullopt;
        }
        return id;
    } catch (const MalformedData&) {
        return std::nullopt;
    }
}

void CardSession::resetIfRequired() noexcept {
    if (!token_ || !token_->resetRequired()) {
        return;
    }
    // Still inside the transaction, so no other application gets the card while it may be
    // PIN-verified. Reconnecting (rather than ending the transaction with a reset) leaves this
    // handle without a pending reset event of its own making.
    try {
        connection_->reconnect(pcsc::Disposition::Reset);
        token_->cardWasReset();
    } catch (const pcsc::CardRemoved&) {
        token_->cardWasReset();  // gone, and its state with it
    } catch (const pcsc::NoCard&) {
        token_->cardWasReset();
    } catch (const pcsc::Error&) {
        // pcscd is going away, or the reset failed otherwise; should the card still be there,
        // the next operation (or the end of the session) lets go of it with a reset.
        connection_->setDisconnectDisposition(pcsc::Disposition::Reset);
    }
}

void CardSession::recoverFromReset() {
    if (!connection_) {
        return;
    }
    try {
        connection_->reconnect(pcsc::Disposition::Leave);
    } catch (const pcsc::CardRemoved&) {
        dropCard();
        throw;
    } catch (const pcsc::Error&) {
        dropCard();  // the next operation connects from scratch
        return;
    }
    if (token_) {
        token_->cardWasReset();
    }
}

std::optional<pcsc::CardRemoved> CardSession::removal() {
    const auto probe = [this]() -> std::optional<pcsc::CardRemoved> {
        try {
            (void)connection_->atr();
        } catch (const pcsc::CardRemoved& e) {
            return e;
        } catch (const pcsc::Error&) {
            // Anything else says nothing about the card being there.
        }
        return std::nullopt;
    };
    if (auto removed = probe()) {
        return removed;
    }
    (void)waitForCardRemoval(reader_, options_.removalCheck);
    // Asked again even when no event came: pcscd may have noticed the removal before the
    // monitor looked, in which case the monitor saw an empty reader and had nothing to report.
    return probe();
}

void CardSession::dropCard() noexcept {
    if (token_) {
        token_->detach();
        // Every way here leaves the card without the state the token worried about: it was
        // removed, reset, or let go of with a reset.
        token_->cardWasReset();
        if (cache_) {
            try {
                cache_->store(reader_, std::move(token_));
            } catch (const std::bad_alloc&) {
                // Not keeping it only costs a fresh read next time.
            }
        }
        token_.reset();
    }
    connection_.reset();
}

void CardSession::dropContext() noexcept {
    dropCard();
    context_.reset();
}

void CardSession::disconnect() noexcept {
    if (connection_ && token_ && token_->resetRequired()) {
        connection_->setDisconnectDisposition(pcsc::Disposition::Reset);
        try {
            connection_->disconnect();
        } catch (const pcsc::Error&) {
            // Card or pcscd gone: the card lost its state with it.
        }
    }
    dropCard();
}

// ---------------------------------------------------------------------------------------------
// The usual operations

std::string CardSession::cardId() {
    return run(AfterReset::Rerun, [](Token& token) { return token.cardId(); });
}

std::vector<CertificateEntry> CardSession::certificates() {
    return run(AfterReset::Rerun, [](Token& token) { return token.certificates(); });
}

PinStatus CardSession::pinStatus() {
    return run(AfterReset::Rerun, [](Token& token) { return token.pinStatus(); });
}

bool CardSession::hasPinpad() {
    return run(AfterReset::Rerun, [](Token& token) { return token.hasPinpad(); });
}

Bytes CardSession::atr() {
    return run(AfterReset::Rerun, [this](Token&) { return connection_->atr(); });
}

void CardSession::verifyPin(const PinInput& pin) {
    run(AfterReset::Report, [&pin](Token& token) { token.verifyPin(pin); });
}

void CardSession::changePin(const ReferenceDataChange& change) {
    run(AfterReset::Report, [&change](Token& token) { token.changePin(change); });
}

void CardSession::changePuk(const ReferenceDataChange& change) {
    run(AfterReset::Report, [&change](Token& token) { token.changePuk(change); });
}

void CardSession::unblockPin(const ReferenceDataChange& change) {
    run(AfterReset::Report, [&change](Token& token) { token.unblockPin(change); });
}

Bytes CardSession::sign(const SignRequest& request) {
    return run(slotNeedsPin(request.slot) ? AfterReset::Report : AfterReset::Rerun,
               [&request](Token& token) { return token.sign(request); });
}

SecureBytes CardSession::decrypt(const DecryptRequest& request) {
    return run(slotNeedsPin(request.slot) ? AfterReset::Report : AfterReset::Rerun,
               [&request](Token& token) { return token.decrypt(request); });
}

SecureBytes CardSession::deriveSharedSecret(const DeriveRequest& request) {
    return run(slotNeedsPin(request.slot) ? AfterReset::Report : AfterReset::Rerun,
               [&request](Token& token) { return token.deriveSharedSecret(request); });
}

}  // namespace tk::card
