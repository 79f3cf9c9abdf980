#include "fakes/fake_card_backend.hpp"

#include <algorithm>
#include <stdexcept>

#include "pcsc/errors.hpp"

namespace tk::test {
namespace {

// SCARD_W_REMOVED_CARD and SCARD_E_NO_SMARTCARD as pcsc-lite defines them.
constexpr std::uint32_t kRemovedCard = 0x80100069;

class FakeAccess final : public service::CardAccess {
  public:
    FakeAccess(FakeCardBackend& backend, std::string reader)
        : backend_(backend), reader_(std::move(reader)) {}

    void run(card::AfterReset, const std::function<void(card::Token&)>& operation) override {
        backend_.run(reader_, operation);
    }
    void disconnect() noexcept override {}

  private:
    FakeCardBackend& backend_;
    std::string reader_;
};

class FakeWatch final : public service::ReaderWatch {};

}  // namespace

void FakeCardBackend::emit(const pcsc::ReaderEvent& event) {
    if (!event.reader.empty() && filter_ && !filter_(event.reader)) {
        return;
    }
    if (handler_) {
        handler_(event);
    }
}

void FakeCardBackend::serviceAvailable() {
    emit({pcsc::ReaderEvent::Type::ServiceAvailable, {}, {}, {}});
}

void FakeCardBackend::serviceUnavailable() {
    std::vector<std::string> readers;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [name, slot] : slots_) {
            readers.push_back(name);
        }
    }
    for (const std::string& name : readers) {
        removeReader(name);
    }
    emit({pcsc::ReaderEvent::Type::ServiceUnavailable, {}, {}, "pcscd stopped (test)"});
}

void FakeCardBackend::addReader(const std::string& reader) {
    {
        std::lock_guard lock(mutex_);
        slots_[reader] = std::make_shared<Slot>();
        transactions_.emplace(reader, std::make_shared<std::mutex>());
    }
    emit({pcsc::ReaderEvent::Type::ReaderAdded, reader, {}, {}});
}

void FakeCardBackend::removeReader(const std::string& reader) {
    bool hadCard = false;
    {
        std::lock_guard lock(mutex_);
        const auto it = slots_.find(reader);
        if (it == slots_.end()) {
            return;
        }
        hadCard = it->second->card != nullptr;
        slots_.erase(it);
    }
    if (hadCard) {
        emit({pcsc::ReaderEvent::Type::CardRemoved, reader, {}, {}});
    }
    emit({pcsc::ReaderEvent::Type::ReaderRemoved, reader, {}, {}});
}

void FakeCardBackend::insert(const std::string& reader, std::unique_ptr<StandardCard> card) {
    Bytes atr;
    {
        std::lock_guard lock(mutex_);
        auto slot = std::make_shared<Slot>();
        slot->card = std::move(card);
        slot->token = std::make_unique<card::PivToken>(slot->card->card);
        atr = slot->card->card.atr();
        slots_.at(reader) = std::move(slot);
    }
    emit({pcsc::ReaderEvent::Type::CardInserted, reader, atr, {}});
}

void FakeCardBackend::remove(const std::string& reader) {
    {
        std::lock_guard lock(mutex_);
        slots_.at(reader) = std::make_shared<Slot>();
    }
    emit({pcsc::ReaderEvent::Type::CardRemoved, reader, {}, {}});
}

void FakeCardBackend::swapWithoutEvent(const std::string& reader,
                                       std::unique_ptr<StandardCard> card) {
    std::lock_guard lock(mutex_);
    auto slot = std::make_shared<Slot>();
    slot->card = std::move(card);
    slot->token = std::make_unique<card::PivToken>(slot->card->card);
    slots_.at(reader) = std::move(slot);
}

StandardCard& FakeCardBackend::card(const std::string& reader) {
    std::lock_guard lock(mutex_);
    return *slots_.at(reader)->card;
}

void FakeCardBackend::setBeforeOperation(const std::string& reader, std::function<void()> hook) {
    std::lock_guard lock(mutex_);
    slots_.at(reader)->beforeOperation = std::move(hook);
}

int FakeCardBackend::transactions(const std::string& reader) {
    std::lock_guard lock(mutex_);
    return slots_.at(reader)->transactions;
}

std::unique_ptr<service::CardAccess> FakeCardBackend::open(const std::string& reader) {
    return std::make_unique<FakeAccess>(*this, reader);
}

std::unique_ptr<service::ReaderWatch> FakeCardBackend::watch(
    pcsc::ReaderMonitor::EventHandler handler, pcsc::ReaderMonitor::ReaderFilter filter) {
    handler_ = std::move(handler);
    filter_ = std::move(filter);
    return std::make_unique<FakeWatch>();
}

void FakeCardBackend::run(const std::string& reader,
                          const std::function<void(card::Token&)>& operation) {
    std::shared_ptr<Slot> slot;
    std::shared_ptr<std::mutex> transaction;
    {
        std::lock_guard lock(mutex_);
        const auto it = slots_.find(reader);
        if (it == slots_.end() || !it->second->card) {
            throw pcsc::CardRemoved(kRemovedCard, "SCardBeginTransaction");
        }
        slot = it->second;
        transaction = transactions_.at(reader);
    }
    std::lock_guard inTransaction(*transaction);
    {
        std::lock_guard lock(mutex_);
        ++slot->transactions;
        const int here = ++runningPerReader_[reader];
        maxPerReader_ = std::max(maxPerReader_.load(), here);
    }
    const int overall = ++running_;
    maxOverall_ = std::max(maxOverall_.load(), overall);
    struct Leave {
        Leave(FakeCardBackend& backend, const std::string& name) : self(backend), reader(name) {}
        Leave(const Leave&) = delete;
        Leave& operator=(const Leave&) = delete;
        Leave(Leave&&) = delete;
        Leave& operator=(Leave&&) = delete;
        FakeCardBackend& self;
        const std::string& reader;
        ~Leave() {
            --self.running_;
            std::lock_guard lock(self.mutex_);
            --self.runningPerReader_[reader];
        }
    } leave{*this, reader};
    if (slot->beforeOperation) {
        slot->beforeOperation();
    }
    operation(*slot->token);
}

}  // namespace tk::test
