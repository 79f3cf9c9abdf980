#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>
#include <nlohmann/json.hpp>

#include "pcsc/reader_event.hpp"
#include "service/card_backend.hpp"
#include "service/card_info.hpp"
#include "service/card_job.hpp"

namespace tk::service {

struct CardManagerOptions {
    bool developmentMode = false;  // Virtual PCD readers are watched and used
    int workerThreads = 2;         // threads that run card work (one card each at a time)
    // start() waits this long at most for the backend's first report and the identification
    // of the cards found, so that the first requests see them. The monitor does not say when
    // its first look is complete, so start-up counts as done once no event has come for
    // `startupQuiet` (its first look reports within milliseconds).
    std::chrono::milliseconds startupWait{5000};
    std::chrono::milliseconds startupQuiet{300};
};

// A reader as the service sees it at one moment.
struct ReaderView {
    std::string name;
    bool pinpad = false;                   // as learnt from the last card in it
    std::shared_ptr<const CardInfo> card;  // identified card, or null (empty or still reading)
    std::uint64_t insertion = 0;           // changes with every insertion and removal
};

struct CardsView {
    bool serviceAvailable = false;
    std::vector<ReaderView> readers;  // in the order the readers appeared

    // The readers holding a card `cardId`, in reader order: usually one or none, two or more
    // when cloned (or test) cards share an id.
    std::vector<const ReaderView*> readersHolding(std::string_view cardId) const;
    const ReaderView* findReader(std::string_view name) const;
};

// Which cards are where, and the threads that use them.
//
// - Reader and card events come from the backend's watch (pcsc::ReaderMonitor: blocking
//   SCardGetStatusChange, no polling) and are applied in order on the manager's control thread,
//   which also runs the job deadlines, so a timeout is answered even while every worker is
//   blocked in a card.
// - Card work runs on a Boost.Asio io_context with `workerThreads` threads and one strand per
//   reader: the operations on one card are serialised (one PC/SC transaction each), different
//   cards run in parallel.
// - A card is identified (card id, certificates, pinpad) on its strand as soon as it is
//   inserted; only then does it appear in the view and is `card.inserted` sent. The view keeps
//   each identified card's parsed certificates (the certificate cache, keyed by the card id of
//   the cards present; the card layer's token cache keeps what was read of cards that left, so
//   putting a card back costs no certificate reads).
// - Events go to the listener as {type, reader, ...} params of the `event` notification.
class CardManager {
  public:
    using EventListener = std::function<void(const nlohmann::json& eventParams)>;

    CardManager(CardManagerOptions options, std::unique_ptr<CardBackend> backend);
    // stop().
    ~CardManager();
    CardManager(const CardManager&) = delete;
    CardManager& operator=(const CardManager&) = delete;
    CardManager(CardManager&&) = delete;
    CardManager& operator=(CardManager&&) = delete;

    // Set before start(); called on the control thread, one event at a time, in order.
    void setEventListener(EventListener listener);

    // Starts the threads and the backend's watch; returns once the backend reported whether
    // the PC/SC service is there (at most options.startupWait).
    void start();

    // Answers every queued job (TIMEOUT, outcome "none"), waits up to `grace` for running ones,
    // then stops the watch and the threads. A thread blocked in a card call is joined when that
    // call returns.
    void stop(std::chrono::milliseconds grace = std::chrono::milliseconds{5000});

    CardsView view() const;
    int readerCount() const;
    // The backend's card backends, for system.info ("piv", "pkcs11").
    std::vector<std::string> backends() const { return backend_->backends(); }

    // Queues `job` on the strand of `reader` (as taken from view()). The job's deadline timer
    // starts now; a deadline already passed answers TIMEOUT at once.
    void submit(const ReaderView& reader, const std::shared_ptr<CardJob>& job);

    // Answers the queued jobs of a connection that closed; its running job finishes.
    void cancelConnection(std::uint64_t connectionId);

    // Jobs queued or running (for shutdown and tests).
    std::size_t jobsInFlight() const;

    // Waits until no card is being identified and the control thread has applied every event
    // it has received (for tests and start-up); false on timeout.
    bool waitUntilSettled(std::chrono::milliseconds timeout);

  private:
    struct Worker;
    struct Reader {
        std::string name;
        std::shared_ptr<Worker> worker;
        bool pinpad = false;
        bool cardPresent = false;  // physically, as the watch reports
        card::Bytes atr;
        std::uint64_t insertion = 0;
        std::shared_ptr<const CardInfo> card;
        bool announced = false;  // card.inserted was sent for the current card
        std::uint64_t order = 0;
    };

    void onBackendEvent(const pcsc::ReaderEvent& event);  // backend thread
    void apply(const pcsc::ReaderEvent& event);           // control thread
    void identify(const std::shared_ptr<Worker>& worker, std::uint64_t insertion,
                  card::Bytes atr);  // reader's strand
    void identified(const std::string& reader, std::uint64_t insertion,
                    const std::shared_ptr<const CardInfo>& card);  // control thread
    void run(const std::shared_ptr<Worker>& worker, const std::shared_ptr<CardJob>& job);
    void emit(const nlohmann::json& event);
    void jobEnded();
    void settleStep(int delta);

    CardManagerOptions options_;
    std::unique_ptr<CardBackend> backend_;
    EventListener listener_;

    boost::asio::io_context control_;
    boost::asio::io_context work_;
    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>
        controlGuard_;
    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>
        workGuard_;
    std::vector<std::thread> threads_;
    std::unique_ptr<ReaderWatch> watch_;

    mutable std::mutex mutex_;
    std::condition_variable changed_;
    bool serviceKnown_ = false;
    bool serviceAvailable_ = false;
    std::map<std::string, Reader> readers_;
    std::uint64_t nextOrder_ = 0;
    std::map<std::uint64_t, std::vector<std::weak_ptr<CardJob>>> jobsByConnection_;
    std::size_t jobsInFlight_ = 0;
    int pendingSettle_ = 0;  // events posted to control + identifications under way
    std::chrono::steady_clock::time_point lastEvent_;
    bool started_ = false;
};

}  // namespace tk::service
