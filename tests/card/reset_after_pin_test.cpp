// A card reset after the session's own PIN reached the card, in the middle of a PIN-carrying
// operation. pcsc-lite never lets another program reset a card inside a transaction, but a card
// or reader that resets itself does, and so does Windows when a transaction outlives its
// five-second limit. The real stack cannot be made to do this on demand, so this executable puts
// its own SCardTransmit in front of pcsc-lite's: once armed, the command right after a VERIFY
// that carries a PIN is not sent; the card is really reset on the session's own handle
// (SCardReconnect with SCARD_RESET_CARD) and the call answers SCARD_W_RESET_CARD, as pcsc-lite
// answers a handle whose card was reset. Everything else goes to pcsc-lite unchanged.

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <winscard.h>

#include <atomic>

#include "card/session/card_session.hpp"
#include "pcsc/errors.hpp"
#include "support/card_helpers.hpp"
#include "support/harness.hpp"
#include "support/openssl_checks.hpp"

namespace {

std::atomic<bool> armed{false};
std::atomic<int> resets{0};
bool previousCarriedPin = false;

using TransmitFunction = LONG (*)(SCARDHANDLE, const SCARD_IO_REQUEST*, LPCBYTE, DWORD,
                                  SCARD_IO_REQUEST*, LPBYTE, LPDWORD);

TransmitFunction pcscLiteTransmit() {
    static const auto function =
        reinterpret_cast<TransmitFunction>(dlsym(RTLD_NEXT, "SCardTransmit"));
    return function;
}

}  // namespace

extern "C" LONG SCardTransmit(SCARDHANDLE card, const SCARD_IO_REQUEST* sendPci, LPCBYTE send,
                              DWORD sendLength, SCARD_IO_REQUEST* receivePci, LPBYTE receive,
                              LPDWORD receiveLength) {
    if (armed && previousCarriedPin) {
        armed = false;
        previousCarriedPin = false;
        DWORD protocol = 0;
        (void)SCardReconnect(card, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
                             SCARD_RESET_CARD, &protocol);
        ++resets;
        return SCARD_W_RESET_CARD;
    }
    previousCarriedPin = sendLength > 5 && send[1] == 0x20;
    return pcscLiteTransmit()(card, sendPci, send, sendLength, receivePci, receive, receiveLength);
}

namespace tk::test {
namespace {

using card::HashAlgorithm;
using card::SignatureScheme;

card::CardSessionOptions devOptions() {
    card::CardSessionOptions options;
    options.devMode = true;
    return options;
}

class ResetAfterPin : public ::testing::Test {
  protected:
    std::string reader_ = readerName(0);
    ApduLog log_{0};
    card::CardSession session_{reader_, devOptions()};
};

// The PIN went to the card, then the card was reset: the session reports the reset (the
// daemon's CARD_REMOVED with outcome "unknown") and never presents the PIN a second time for
// the same request. The next request works.
TEST_F(ResetAfterPin, SignatureCutByAResetAfterVerify_ReportsResetPinPresentedOnce) {
    const card::Bytes cert = entryFor(session_.certificates(), "9c").der;
    const std::size_t mark = log_.mark();
    armed = true;
    const card::Bytes message = randomBytes(40);
    EXPECT_THROW((void)session_.sign(signRequest("9c", SignatureScheme::RsaPkcs1v15,
                                                 HashAlgorithm::Sha256, message, pin(kPin))),
                 pcsc::CardReset);
    EXPECT_EQ(resets.load(), 1) << "the fault never fired\n" << log_.describeSince(mark);
    EXPECT_EQ(pinPresentations(log_.apdusSince(mark)), 1U) << log_.describeSince(mark);
    EXPECT_EQ(cardStatusField(0, "pin_verified"), "0");
    EXPECT_EQ(cardStatusField(0, "pin_tries"), "3");

    const std::size_t next = log_.mark();
    const card::Bytes signature = session_.sign(
        signRequest("9c", SignatureScheme::RsaPkcs1v15, HashAlgorithm::Sha256, message, pin(kPin)));
    EXPECT_TRUE(opensslVerifies(cert, SignatureScheme::RsaPkcs1v15, HashAlgorithm::Sha256, message,
                                signature));
    EXPECT_EQ(pinPresentations(log_.apdusSince(next)), 1U) << log_.describeSince(next);
}

}  // namespace
}  // namespace tk::test
