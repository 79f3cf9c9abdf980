#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "card/piv/piv_token.hpp"
#include "card/session/reattachable_token.hpp"
#include "card/session/token_cache.hpp"
#include "card/token.hpp"
#include "pcsc/card_connection.hpp"
#include "pcsc/context.hpp"
#include "pcsc/errors.hpp"

namespace tk::card {

struct CardSessionOptions {
    // Use `Virtual PCD` readers (the development reader driver); see readers.hpp.
    bool devMode = false;
    // How long a failed exchange waits for pcscd to say whether the card was pulled out. pcscd
    // looks at most readers every 0.4 s.
    std::chrono::milliseconds removalCheck{1500};
    PivTokenOptions piv;
};

// What to do when the card turns out to have been reset by another application (or powered
// down) before or during an operation. Either way the session reconnects first, so the next
// operation works, and a reset seen before the operation handed a PIN or PUK to the card
// (typically at SCardBeginTransaction, when another program reset the card between two
// requests) is recovered inside the operation: reconnect, SELECT, run it again, once.
enum class AfterReset {
    // The operation presents no PIN (certificate list, PIN status, a 9E key): run it once more
    // after any reset.
    Rerun,
    // The operation presents a PIN or PUK: run it once more only while none has been handed to
    // the card; after that throw pcsc::CardReset and let the user decide. A PIN is sent once
    // per request and never again on its own.
    Report,
};

// The card in one reader, as the CLI and the service layer use it: one operation at a time,
// each inside one PC/SC transaction on a shared connection, through a PIV token that stays
// with the card so its certificate list and card id are read once.
//
// Outcomes it maps:
// - token.resetRequired() after an operation (the PIN state could not be cleared): the
//   operation ends with SCARD_RESET_CARD (SCardReconnect) before the transaction ends, then
//   cardWasReset();
// - the card pulled out before or during an operation: pcsc::CardRemoved, promptly (a cut
//   exchange is told apart from other transport failures by asking pcscd; see removal_wait.hpp);
//   the next operation connects to whatever card is in the reader then;
// - the card reset by another application: reconnect, then AfterReset decides (see there);
// - pcscd gone: pcsc::ServiceNotRunning / InvalidHandle; the next operation opens a new
//   context.
// Card-layer errors (card/errors.hpp) and the remaining PC/SC errors (NoCard, UnknownReader, ...)
// pass through unchanged.
//
// A session and its connection belong to one thread (or strand) at a time; sessions of
// different readers run in parallel, each with its own PC/SC context. The TokenCache may be
// shared between them.
class CardSession {
  public:
    // Throws ReaderNotFound for a reader hidden outside development mode. Does not connect yet.
    explicit CardSession(std::string reader, CardSessionOptions options = {},
                         std::shared_ptr<TokenCache> cache = nullptr);
    // Leaves the card as it is (other applications may be using it), after storing the token
    // in the cache.
    ~CardSession();
    CardSession(const CardSession&) = delete;
    CardSession& operator=(const CardSession&) = delete;
    CardSession(CardSession&&) = delete;
    CardSession& operator=(CardSession&&) = delete;

    const std::string& reader() const noexcept { return reader_; }

    // Runs `operation(token)` inside one PC/SC transaction and returns its result. With
    // AfterReset::Rerun the operation may run twice, so it must be repeatable. The operation
    // must not call the session itself (PC/SC transactions do not nest).
    template <class Operation>
    std::invoke_result_t<Operation&, Token&> run(AfterReset afterReset, Operation&& operation) {
        using Result = std::invoke_result_t<Operation&, Token&>;
        if constexpr (std::is_void_v<Result>) {
            runOperation(afterReset, [&operation](Token& token) { operation(token); });
        } else {
            std::optional<Result> result;
            runOperation(afterReset,
                         [&operation, &result](Token& token) { result.emplace(operation(token)); });
            return std::move(*result);
        }
    }

    // The usual operations, with the AfterReset each of them needs.
    std::string cardId();
    std::vector<CertificateEntry> certificates();
    PinStatus pinStatus();
    bool hasPinpad();
    Bytes atr();
    void verifyPin(const PinInput& pin);
    void changePin(const ReferenceDataChange& change);
    void changePuk(const ReferenceDataChange& change);
    void unblockPin(const ReferenceDataChange& change);
    // Rerun after any reset only for keys that need no PIN (PIV 9E); the others only while no
    // PIN has reached the card (AfterReset::Report).
    Bytes sign(const SignRequest& request);
    SecureBytes decrypt(const DecryptRequest& request);
    SecureBytes deriveSharedSecret(const DeriveRequest& request);

    // Whether using `slot` presents a PIN, i.e. whether an operation with it must not rerun.
    static bool slotNeedsPin(const std::string& slot) noexcept;

    // Lets go of the card now (leaving it as it is); the next operation connects again.
    void disconnect() noexcept;

  private:
    void runOperation(AfterReset afterReset, const std::function<void(Token&)>& operation);
    void connect();
    void bindToken();
    std::optional<std::string> peekCardId();
    // The operation inside the transaction, ended with SCARD_RESET_CARD when the token asks.
    void runInTransaction(const std::function<void(Token&)>& operation);
    void resetIfRequired() noexcept;
    void recoverFromReset();
    // The CardRemoved pcscd reports for this connection, after waiting for it to notice.
    std::optional<pcsc::CardRemoved> removal();
    // Connection and token go; the token is kept in the cache when its card id is known.
    void dropCard() noexcept;
    void dropContext() noexcept;

    std::string reader_;
    CardSessionOptions options_;
    std::shared_ptr<TokenCache> cache_;

    std::shared_ptr<pcsc::Context> context_;
    std::unique_ptr<pcsc::CardConnection> connection_;
    std::shared_ptr<ReattachableToken> token_;
};

}  // namespace tk::card
