#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "card/piv/piv_token.hpp"
#include "service/card_backend.hpp"
#include "support/fake_piv_card.hpp"

namespace tk::test {

// A card backend in memory for the service tests: readers and cards appear when the test says
// so (events go straight to the manager's handler), and each card is a FakePivCard behind a
// real PivToken, so everything above the APDUs is the production code. It exists to produce
// what the real stack cannot on demand: an operation held in the middle, a card that vanishes
// at a chosen APDU, a PC/SC failure of a chosen kind.
class FakeCardBackend final : public service::CardBackend {
  public:
    struct Slot {
        std::unique_ptr<StandardCard> card;  // null: reader empty
        std::unique_ptr<card::PivToken> token;
        // Runs inside the transaction before the operation (may block or throw).
        std::function<void()> beforeOperation;
        int transactions = 0;  // run() calls that reached the card
    };

    FakeCardBackend() = default;

    // ---- what the monitor would report
    void serviceAvailable();
    void serviceUnavailable();
    void addReader(const std::string& reader);
    void removeReader(const std::string& reader);
    // Puts `card` into `reader` (the reader must exist) and reports it.
    void insert(const std::string& reader, std::unique_ptr<StandardCard> card);
    void remove(const std::string& reader);
    // Puts another card into `reader` without any event: what a session sees when it reconnects
    // to a card swapped faster than the monitor reported.
    void swapWithoutEvent(const std::string& reader, std::unique_ptr<StandardCard> card);

    // The card now in `reader` (to inspect its log, PIN counters, ...). Only while no operation
    // runs on it.
    StandardCard& card(const std::string& reader);
    void setBeforeOperation(const std::string& reader, std::function<void()> hook);
    int transactions(const std::string& reader);
    // Highest number of operations that ran at the same time on one reader (must stay 1), and
    // on all readers together.
    int maxConcurrentPerReader() const { return maxPerReader_; }
    int maxConcurrentOverall() const { return maxOverall_; }

    // ---- CardBackend
    std::unique_ptr<service::CardAccess> open(const std::string& reader) override;
    std::unique_ptr<service::ReaderWatch> watch(pcsc::ReaderMonitor::EventHandler handler,
                                                pcsc::ReaderMonitor::ReaderFilter filter) override;

    // Used by the access objects.
    void run(const std::string& reader, const std::function<void(card::Token&)>& operation);

  private:
    void emit(const pcsc::ReaderEvent& event);

    std::mutex mutex_;
    std::map<std::string, std::shared_ptr<Slot>> slots_;
    std::map<std::string, std::shared_ptr<std::mutex>> transactions_;
    pcsc::ReaderMonitor::EventHandler handler_;
    pcsc::ReaderMonitor::ReaderFilter filter_;
    std::atomic<int> running_{0};
    std::map<std::string, int> runningPerReader_;
    std::atomic<int> maxPerReader_{0};
    std::atomic<int> maxOverall_{0};
};

}  // namespace tk::test
