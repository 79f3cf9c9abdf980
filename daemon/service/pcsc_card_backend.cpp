#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "card/errors.hpp"
#include "card/pkcs11/module.hpp"
#include "card/pkcs11/pkcs11_token.hpp"
#include "card/session/token_cache.hpp"
#include "pcsc/context.hpp"
#include "pcsc/errors.hpp"
#include "service/card_backend.hpp"

namespace tk::service {
namespace {

using card::pkcs11::Module;
using card::pkcs11::Pkcs11Token;

// One token of one module.
struct SlotRef {
    std::shared_ptr<Module> module;
    CK_SLOT_ID slot = 0;
};

// A slot description names a PC/SC reader when it is the reader's name, or its first 64
// characters (the size of the field) for longer names.
bool slotNamesReader(const std::string& description, const std::string& reader) {
    if (description.empty()) {
        return false;
    }
    return description == reader || (description.size() >= 63 && reader.rfind(description, 0) == 0);
}

bool tokenUsable(const Module& module, CK_SLOT_ID slot) {
    try {
        return (module.token(slot).flags & CKF_TOKEN_INITIALIZED) != 0;
    } catch (const std::exception&) {
        return false;  // gone meanwhile, or the module cannot say
    }
}

// The first slot of the modules, in configuration order, with a usable token in `reader`.
std::optional<SlotRef> slotForReader(const std::vector<std::shared_ptr<Module>>& modules,
                                     const std::string& reader) {
    for (const auto& module : modules) {
        try {
            for (const auto& slot : module->slots(true)) {
                if (slotNamesReader(slot.description, reader) && tokenUsable(*module, slot.id)) {
                    return SlotRef{module, slot.id};
                }
            }
        } catch (const std::exception& e) {
            spdlog::debug("PKCS#11 module {}: no slot list: {}", module->path(), e.what());
        }
    }
    return std::nullopt;
}

// Runs operations on the token of one module slot. A removal (pcsc::CardRemoved from the
// token) drops the token; the next operation makes a new one.
class TokenRunner {
  public:
    void run(const SlotRef& ref, const std::function<void(card::Token&)>& operation) {
        if (!token_) {
            token_ = std::make_unique<Pkcs11Token>(ref.module, ref.slot);
        }
        try {
            operation(*token_);
        } catch (const pcsc::CardRemoved&) {
            token_.reset();
            throw;
        }
    }
    void reset() noexcept { token_.reset(); }

  private:
    std::unique_ptr<Pkcs11Token> token_;
};

// The card in a PC/SC reader: PIV through a CardSession, or the token a module shows for the
// reader. The choice is made for each card (on the first operation after a disconnect).
class SessionAccess final : public CardAccess {
  public:
    SessionAccess(const std::string& reader, const card::CardSessionOptions& options,
                  std::shared_ptr<card::TokenCache> cache,
                  std::vector<std::shared_ptr<Module>> modules, bool preferPkcs11)
        : reader_(reader),
          session_(reader, options, std::move(cache)),
          modules_(std::move(modules)),
          preferPkcs11_(preferPkcs11) {}

    void run(card::AfterReset afterReset,
             const std::function<void(card::Token&)>& operation) override {
        if (!modules_.empty() && !decided_) {
            if (preferPkcs11_) {
                slot_ = slotForReader(modules_, reader_);
            }
            decided_ = true;
        }
        if (!slot_) {
            try {
                session_.run(afterReset, operation);
                return;
            } catch (const card::UnsupportedCard&) {
                // No PIV application: a module may know the card.
                slot_ = modules_.empty() ? std::nullopt : slotForReader(modules_, reader_);
                if (!slot_) {
                    throw;
                }
                session_.disconnect();
                spdlog::info("card in '{}' is used through PKCS#11 module {}", reader_,
                             slot_->module->path());
            }
        }
        try {
            runner_.run(*slot_, operation);
        } catch (const pcsc::CardRemoved&) {
            slot_.reset();
            decided_ = false;
            throw;
        }
    }

    void disconnect() noexcept override {
        session_.disconnect();
        runner_.reset();
        slot_.reset();
        decided_ = false;
    }

  private:
    std::string reader_;
    card::CardSession session_;
    std::vector<std::shared_ptr<Module>> modules_;
    bool preferPkcs11_;
    bool decided_ = false;
    std::optional<SlotRef> slot_;
    TokenRunner runner_;
};

// A token without a PC/SC reader, shown as a reader of its own.
class SlotAccess final : public CardAccess {
  public:
    explicit SlotAccess(SlotRef ref) : ref_(std::move(ref)) {}

    void run(card::AfterReset /*afterReset*/,
             const std::function<void(card::Token&)>& operation) override {
        runner_.run(ref_, operation);
    }
    void disconnect() noexcept override { runner_.reset(); }

  private:
    SlotRef ref_;
    TokenRunner runner_;
};

// The readerless slots found so far, by the reader name they are shown under.
struct ReaderlessSlots {
    std::mutex mutex;
    std::map<std::string, SlotRef> byName;
};

// Looks at the modules' slot lists once a second and reports readerless tokens as
// ReaderAdded + CardInserted (with an empty ATR) and CardRemoved + ReaderRemoved. Polling, not
// C_WaitForSlotEvent: a blocking C_WaitForSlotEvent returns only at the next event or at
// C_Finalize, and the modules are finalised only after the card manager let go of every token;
// SoftHSM does not implement it at all.
class SlotPoller {
  public:
    SlotPoller(std::vector<std::shared_ptr<Module>> modules, std::shared_ptr<ReaderlessSlots> slots,
               pcsc::ReaderMonitor::EventHandler handler)
        : modules_(std::move(modules)), slots_(std::move(slots)), handler_(std::move(handler)) {
        thread_ = std::thread([this] { loop(); });
    }
    ~SlotPoller() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_all();
        thread_.join();
        std::map<std::string, SlotRef> left;
        {
            std::lock_guard lock(slots_->mutex);
            left.swap(slots_->byName);
        }
    }
    SlotPoller(const SlotPoller&) = delete;
    SlotPoller& operator=(const SlotPoller&) = delete;
    SlotPoller(SlotPoller&&) = delete;
    SlotPoller& operator=(SlotPoller&&) = delete;

  private:
    static constexpr std::chrono::milliseconds kInterval{1000};

    std::vector<std::string> pcscReaders() {
        try {
            if (!context_) {
                context_ = std::make_unique<pcsc::Context>();
            }
            return context_->listReaders();
        } catch (const pcsc::NoReaders&) {
            return {};
        } catch (const std::exception&) {
            context_.reset();
            return {};
        }
    }

    void scan() {
        const std::vector<std::string> readers = pcscReaders();
        std::map<std::string, SlotRef> found;
        for (const auto& module : modules_) {
            try {
                for (const auto& slot : module->slots(true)) {
                    const bool backed = std::any_of(
                        readers.begin(), readers.end(),
                        [&](const std::string& r) { return slotNamesReader(slot.description, r); });
                    if (backed || !tokenUsable(*module, slot.id)) {
                        continue;
                    }
                    std::string name = slot.description.empty()
                                           ? "PKCS#11 slot " + std::to_string(slot.id)
                                           : slot.description;
                    while (found.contains(name)) {
                        name += " (" + std::to_string(slot.id) + ")";
                    }
                    found.emplace(name, SlotRef{module, slot.id});
                }
            } catch (const std::exception& e) {
                spdlog::debug("PKCS#11 module {}: no slot list: {}", module->path(), e.what());
            }
        }
        for (const auto& [name, ref] : known_) {
            if (!found.contains(name)) {
                handler_({pcsc::ReaderEvent::Type::CardRemoved, name, {}, {}});
                handler_({pcsc::ReaderEvent::Type::ReaderRemoved, name, {}, {}});
            }
        }
        {
            std::lock_guard lock(slots_->mutex);
            slots_->byName = found;
        }
        for (const auto& [name, ref] : found) {
            if (!known_.contains(name)) {
                handler_({pcsc::ReaderEvent::Type::ReaderAdded, name, {}, {}});
                handler_({pcsc::ReaderEvent::Type::CardInserted, name, {}, {}});
            }
        }
        known_ = std::move(found);
    }

    void loop() {
        std::unique_lock lock(mutex_);
        while (!stopping_) {
            lock.unlock();
            scan();
            lock.lock();
            wake_.wait_for(lock, kInterval, [this] { return stopping_; });
        }
    }

    std::vector<std::shared_ptr<Module>> modules_;
    std::shared_ptr<ReaderlessSlots> slots_;
    pcsc::ReaderMonitor::EventHandler handler_;
    std::unique_ptr<pcsc::Context> context_;
    std::map<std::string, SlotRef> known_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

class MonitorWatch final : public ReaderWatch {
  public:
    MonitorWatch(pcsc::ReaderMonitor::EventHandler handler,
                 pcsc::ReaderMonitor::ReaderFilter filter,
                 std::vector<std::shared_ptr<Module>> modules,
                 std::shared_ptr<ReaderlessSlots> slots)
        : monitor_(handler, std::move(filter)) {
        monitor_.start();
        if (!modules.empty()) {
            poller_.emplace(std::move(modules), std::move(slots), std::move(handler));
        }
    }
    ~MonitorWatch() override {
        poller_.reset();
        monitor_.stop();
    }
    MonitorWatch(const MonitorWatch&) = delete;
    MonitorWatch& operator=(const MonitorWatch&) = delete;
    MonitorWatch(MonitorWatch&&) = delete;
    MonitorWatch& operator=(MonitorWatch&&) = delete;

  private:
    pcsc::ReaderMonitor monitor_;
    std::optional<SlotPoller> poller_;
};

class PcscCardBackend final : public CardBackend {
  public:
    explicit PcscCardBackend(PcscBackendOptions options)
        : cache_(std::make_shared<card::TokenCache>()),
          readerless_(std::make_shared<ReaderlessSlots>()),
          preferPkcs11_(options.preferPkcs11) {
        sessionOptions_.devMode = options.developmentMode;
        sessionOptions_.piv = options.piv;
        for (const std::string& path : options.pkcs11Modules) {
            try {
                modules_.push_back(Module::load(path));
                spdlog::info("PKCS#11 module {} loaded: {}", path,
                             modules_.back()->libraryDescription());
            } catch (const std::exception& e) {
                spdlog::error("PKCS#11 module left out: {}", e.what());
            }
        }
    }

    std::unique_ptr<CardAccess> open(const std::string& reader) override {
        {
            std::lock_guard lock(readerless_->mutex);
            if (const auto it = readerless_->byName.find(reader); it != readerless_->byName.end()) {
                return std::make_unique<SlotAccess>(it->second);
            }
        }
        return std::make_unique<SessionAccess>(reader, sessionOptions_, cache_, modules_,
                                               preferPkcs11_);
    }

    std::unique_ptr<ReaderWatch> watch(pcsc::ReaderMonitor::EventHandler handler,
                                       pcsc::ReaderMonitor::ReaderFilter filter) override {
        return std::make_unique<MonitorWatch>(std::move(handler), std::move(filter), modules_,
                                              readerless_);
    }

    std::vector<std::string> backends() const override {
        if (modules_.empty()) {
            return {"piv"};
        }
        return {"piv", "pkcs11"};
    }

  private:
    card::CardSessionOptions sessionOptions_;
    std::shared_ptr<card::TokenCache> cache_;
    std::vector<std::shared_ptr<Module>> modules_;
    std::shared_ptr<ReaderlessSlots> readerless_;
    bool preferPkcs11_;
};

}  // namespace

std::unique_ptr<CardBackend> pcscCardBackend(PcscBackendOptions options) {
    return std::make_unique<PcscCardBackend>(options);
}

}  // namespace tk::service
