#include "pcsc/transaction.hpp"

#include "pcsc/detail/scard.hpp"

namespace tk::pcsc {

Transaction::Transaction(CardConnection& card, Disposition onEnd) : card_(card), onEnd_(onEnd) {
    detail::call("SCardBeginTransaction", SCardBeginTransaction,
                 static_cast<SCARDHANDLE>(card_.handle()));
}

Transaction::~Transaction() noexcept {
    if (active_) {
        // A failure means the card or the service is gone, and pcscd drops the lock with the
        // handle; the next call on the connection reports it as a typed error.
        (void)detail::succeeds(SCardEndTransaction, static_cast<SCARDHANDLE>(card_.handle()),
                               detail::toNative(onEnd_));
    }
}

void Transaction::end() {
    active_ = false;
    detail::call("SCardEndTransaction", SCardEndTransaction,
                 static_cast<SCARDHANDLE>(card_.handle()), detail::toNative(onEnd_));
}

}  // namespace tk::pcsc
