#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "card/session/card_session.hpp"
#include "card/token.hpp"
#include "pcsc/reader_monitor.hpp"

namespace tk::service {

// The card in one reader, as the card manager drives it: one operation at a time (the
// manager calls it from the reader's strand only), each inside one PC/SC transaction.
class CardAccess {
  public:
    CardAccess() = default;
    virtual ~CardAccess() = default;
    CardAccess(const CardAccess&) = delete;
    CardAccess& operator=(const CardAccess&) = delete;
    CardAccess(CardAccess&&) = delete;
    CardAccess& operator=(CardAccess&&) = delete;

    // Runs `operation` with the card's token inside one transaction (card::CardSession::run).
    // Throws what the card and PC/SC layers throw.
    virtual void run(card::AfterReset afterReset,
                     const std::function<void(card::Token&)>& operation) = 0;

    // Lets go of the card (leaving it as it is); the next run() connects again.
    virtual void disconnect() noexcept = 0;
};

// Stops reporting reader events when destroyed.
class ReaderWatch {
  public:
    ReaderWatch() = default;
    virtual ~ReaderWatch() = default;
    ReaderWatch(const ReaderWatch&) = delete;
    ReaderWatch& operator=(const ReaderWatch&) = delete;
    ReaderWatch(ReaderWatch&&) = delete;
    ReaderWatch& operator=(ReaderWatch&&) = delete;
};

// Where the card manager gets readers, cards and their events. The real one is PC/SC
// (pcscCardBackend below); tests put in one that produces faults the real stack cannot be made
// to produce on demand.
class CardBackend {
  public:
    CardBackend() = default;
    virtual ~CardBackend() = default;
    CardBackend(const CardBackend&) = delete;
    CardBackend& operator=(const CardBackend&) = delete;
    CardBackend(CardBackend&&) = delete;
    CardBackend& operator=(CardBackend&&) = delete;

    // Access to the card in `reader`; connects lazily.
    virtual std::unique_ptr<CardAccess> open(const std::string& reader) = 0;

    // Starts reporting reader and card events to `handler` on a thread of the backend, with the
    // contract of pcsc::ReaderMonitor (state found first, then changes, in order).
    virtual std::unique_ptr<ReaderWatch> watch(pcsc::ReaderMonitor::EventHandler handler,
                                               pcsc::ReaderMonitor::ReaderFilter filter) = 0;

    // The card backends in use, for system.info: "piv", and "pkcs11" when a module is loaded.
    virtual std::vector<std::string> backends() const { return {"piv"}; }
};

struct PcscBackendOptions {
    bool developmentMode = false;  // Virtual PCD readers are used
    card::PivTokenOptions piv;
    // PKCS#11 modules (paths of vendor .so files) for cards without the PIV application, and
    // for tokens without a PC/SC reader.
    std::vector<std::string> pkcs11Modules;
    // Use a module's token even for a card that answers the PIV AID.
    bool preferPkcs11 = false;
};

// PC/SC through pcscd: a card::CardSession per reader (each with its own context) sharing one
// token cache, and a pcsc::ReaderMonitor. With PKCS#11 modules (see docs/pkcs11.md): a card is
// used through the PIV backend when it answers the PIV AID, otherwise (or, with preferPkcs11,
// first) through the token of a module slot whose description names the reader; slots that
// name no PC/SC reader (software tokens such as SoftHSM) appear as readers of their own,
// found by looking at the modules' slot lists once a second.
std::unique_ptr<CardBackend> pcscCardBackend(PcscBackendOptions options);

}  // namespace tk::service
