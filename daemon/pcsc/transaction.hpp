#pragma once

#include "pcsc/card_connection.hpp"
#include "pcsc/disposition.hpp"

namespace tk::pcsc {

// Exclusive use of the card across processes for a sequence of APDUs that must not be
// interleaved with another application's (VERIFY then a PIN-always signature, command
// chaining, GET RESPONSE loops).
//
// pcsc-lite waits while another handle holds a transaction, so the constructor may block.
// It throws CardReset / CardRemoved when the card changed since the last use of the handle:
// reconnect (or reconnect to the new card), re-select, and start again.
class Transaction {
  public:
    explicit Transaction(CardConnection& card, Disposition onEnd = Disposition::Leave);
    // Ends the transaction with the disposition chosen, unless end() already did.
    ~Transaction() noexcept;
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    Transaction(Transaction&&) = delete;
    Transaction& operator=(Transaction&&) = delete;

    // Reset here drops the PIN verification at the end of this transaction (for example after
    // a signature with a PIN the user typed for this one operation).
    void setEndDisposition(Disposition onEnd) noexcept { onEnd_ = onEnd; }
    Disposition endDisposition() const noexcept { return onEnd_; }

    // Ends now and reports a failure, which the destructor cannot.
    void end();

  private:
    CardConnection& card_;
    Disposition onEnd_;
    bool active_ = true;
};

}  // namespace tk::pcsc
