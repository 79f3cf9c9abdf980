#include "service/card_manager.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "card/errors.hpp"
#include "card/pkcs11/pkcs11_token.hpp"
#include "pcsc/errors.hpp"
#include "pcsc/reader_filter.hpp"
#include "service/error_mapping.hpp"
#include "service/reasons.hpp"

namespace tk::service {

namespace asio = boost::asio;

// What belongs to one reader's strand. `access` is touched on the strand only.
struct CardManager::Worker {
    explicit Worker(asio::io_context& context, std::string readerName)
        : strand(asio::make_strand(context)), name(std::move(readerName)) {}

    asio::strand<asio::io_context::executor_type> strand;
    std::string name;
    // The insertion the reader holds now (control thread writes, strand reads).
    std::atomic<std::uint64_t> insertion{0};
    std::atomic<bool> removed{false};
    std::unique_ptr<CardAccess> access;
};

const ReaderView* CardsView::findCard(std::string_view cardId) const {
    for (const ReaderView& reader : readers) {
        if (reader.card && !reader.card->id.empty() && reader.card->id == cardId) {
            return &reader;
        }
    }
    return nullptr;
}

const ReaderView* CardsView::findReader(std::string_view name) const {
    for (const ReaderView& reader : readers) {
        if (reader.name == name) {
            return &reader;
        }
    }
    return nullptr;
}

CardManager::CardManager(CardManagerOptions options, std::unique_ptr<CardBackend> backend)
    : options_(options), backend_(std::move(backend)) {}

CardManager::~CardManager() {
    stop(std::chrono::milliseconds{0});
}

void CardManager::setEventListener(EventListener listener) {
    listener_ = std::move(listener);
}

void CardManager::start() {
    {
        std::lock_guard lock(mutex_);
        if (started_) {
            return;
        }
        started_ = true;
    }
    controlGuard_.emplace(asio::make_work_guard(control_));
    workGuard_.emplace(asio::make_work_guard(work_));
    threads_.emplace_back([this] { control_.run(); });
    for (int i = 0; i < std::max(1, options_.workerThreads); ++i) {
        threads_.emplace_back([this] { work_.run(); });
    }
    const bool dev = options_.developmentMode;
    watch_ = backend_->watch(
        [this](const pcsc::ReaderEvent& event) { onBackendEvent(event); },
        [dev](std::string_view reader) { return dev || !pcsc::isVirtualReader(reader); });
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + options_.startupWait;
    std::unique_lock lock(mutex_);
    if (!changed_.wait_until(lock, deadline, [this] { return serviceKnown_; })) {
        spdlog::warn("the PC/SC reader monitor has not reported within {} ms",
                     options_.startupWait.count());
        return;
    }
    const auto settled = [this] {
        return pendingSettle_ == 0 && Clock::now() - lastEvent_ >= options_.startupQuiet;
    };
    while (!settled() && Clock::now() < deadline) {
        changed_.wait_for(lock, options_.startupQuiet / 4);
    }
}

void CardManager::stop(std::chrono::milliseconds grace) {
    {
        std::lock_guard lock(mutex_);
        if (!started_) {
            return;
        }
        started_ = false;
    }
    watch_.reset();  // no event after this
    std::vector<std::shared_ptr<CardJob>> queued;
    {
        std::lock_guard lock(mutex_);
        for (auto& [connection, jobs] : jobsByConnection_) {
            for (auto& weak : jobs) {
                if (auto job = weak.lock()) {
                    queued.push_back(std::move(job));
                }
            }
        }
    }
    for (const auto& job : queued) {
        job->cancel();
    }
    {
        std::unique_lock lock(mutex_);
        changed_.wait_for(lock, grace, [this] { return jobsInFlight_ == 0; });
    }
    workGuard_.reset();
    controlGuard_.reset();
    work_.stop();
    control_.stop();
    for (std::thread& thread : threads_) {
        thread.join();
    }
    threads_.clear();
    // Sessions are closed here, on this thread, now that no strand runs.
    std::lock_guard lock(mutex_);
    readers_.clear();
}

CardsView CardManager::view() const {
    std::lock_guard lock(mutex_);
    CardsView view;
    view.serviceAvailable = serviceAvailable_;
    std::vector<const Reader*> ordered;
    for (const auto& [name, reader] : readers_) {
        ordered.push_back(&reader);
    }
    std::sort(ordered.begin(), ordered.end(),
              [](const Reader* a, const Reader* b) { return a->order < b->order; });
    for (const Reader* reader : ordered) {
        view.readers.push_back(
            ReaderView{reader->name, reader->pinpad, reader->card, reader->insertion});
    }
    return view;
}

int CardManager::readerCount() const {
    std::lock_guard lock(mutex_);
    return static_cast<int>(readers_.size());
}

std::size_t CardManager::jobsInFlight() const {
    std::lock_guard lock(mutex_);
    return jobsInFlight_;
}

void CardManager::settleStep(int delta) {
    {
        std::lock_guard lock(mutex_);
        pendingSettle_ += delta;
    }
    changed_.notify_all();
}

bool CardManager::waitUntilSettled(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [this] { return pendingSettle_ == 0; });
}

void CardManager::onBackendEvent(const pcsc::ReaderEvent& event) {
    {
        std::lock_guard lock(mutex_);
        lastEvent_ = std::chrono::steady_clock::now();
    }
    settleStep(+1);
    asio::post(control_, [this, event] {
        apply(event);
        settleStep(-1);
    });
}

void CardManager::emit(const nlohmann::json& event) {
    if (listener_) {
        listener_(event);
    }
}

void CardManager::apply(const pcsc::ReaderEvent& event) {
    using Type = pcsc::ReaderEvent::Type;
    std::vector<nlohmann::json> events;
    {
        std::lock_guard lock(mutex_);
        switch (event.type) {
            case Type::ServiceAvailable:
                serviceKnown_ = true;
                serviceAvailable_ = true;
                spdlog::info("PC/SC service available");
                break;
            case Type::ServiceUnavailable:
                serviceKnown_ = true;
                serviceAvailable_ = false;
                spdlog::warn("PC/SC service unavailable: {}", event.detail);
                break;
            case Type::ReaderAdded: {
                Reader reader;
                reader.name = event.reader;
                reader.worker = std::make_shared<Worker>(work_, event.reader);
                reader.order = nextOrder_++;
                readers_[event.reader] = std::move(reader);
                spdlog::info("reader added: '{}'", event.reader);
                events.push_back({{"type", "reader.added"}, {"reader", event.reader}});
                break;
            }
            case Type::ReaderRemoved: {
                const auto it = readers_.find(event.reader);
                if (it == readers_.end()) {
                    break;
                }
                const std::shared_ptr<Worker> worker = it->second.worker;
                worker->removed = true;
                worker->insertion = it->second.insertion + 1;
                readers_.erase(it);
                // The session goes on the strand, after whatever still runs there.
                asio::post(worker->strand, [worker] { worker->access.reset(); });
                spdlog::info("reader removed: '{}'", event.reader);
                events.push_back({{"type", "reader.removed"}, {"reader", event.reader}});
                break;
            }
            case Type::CardInserted: {
                const auto it = readers_.find(event.reader);
                if (it == readers_.end()) {
                    break;
                }
                Reader& reader = it->second;
                reader.cardPresent = true;
                reader.atr = event.atr;
                reader.card.reset();
                reader.announced = false;
                reader.insertion += 1;
                reader.worker->insertion = reader.insertion;
                const std::shared_ptr<Worker> worker = reader.worker;
                const std::uint64_t insertion = reader.insertion;
                ++pendingSettle_;
                asio::post(worker->strand, [this, worker, insertion, atr = event.atr] {
                    identify(worker, insertion, atr);
                });
                break;
            }
            case Type::CardRemoved: {
                const auto it = readers_.find(event.reader);
                if (it == readers_.end()) {
                    break;
                }
                Reader& reader = it->second;
                if (reader.announced) {
                    const std::string& id = reader.card ? reader.card->id : std::string();
                    spdlog::info("card removed from '{}'{}", event.reader,
                                 id.empty() ? std::string() : " (card " + id + ")");
                    events.push_back(
                        {{"type", "card.removed"},
                         {"reader", event.reader},
                         {"cardId", id.empty() ? nlohmann::json(nullptr) : nlohmann::json(id)}});
                }
                reader.cardPresent = false;
                reader.atr.clear();
                reader.card.reset();
                reader.announced = false;
                reader.insertion += 1;
                reader.worker->insertion = reader.insertion;
                const std::shared_ptr<Worker> worker = reader.worker;
                // The next operation connects afresh to whatever card comes next.
                asio::post(worker->strand, [worker] {
                    if (worker->access) {
                        worker->access->disconnect();
                    }
                });
                break;
            }
        }
    }
    changed_.notify_all();
    for (const nlohmann::json& e : events) {
        emit(e);
    }
}

void CardManager::identify(const std::shared_ptr<Worker>& worker, std::uint64_t insertion,
                           card::Bytes atr) {
    struct Done {
        explicit Done(CardManager* manager) : self(manager) {}
        ~Done() { self->settleStep(-1); }
        Done(const Done&) = delete;
        Done& operator=(const Done&) = delete;
        Done(Done&&) = delete;
        Done& operator=(Done&&) = delete;
        CardManager* self;
    } done{this};
    if (worker->insertion != insertion || worker->removed) {
        return;  // gone already
    }
    auto info = std::make_shared<CardInfo>();
    info->atr = std::move(atr);
    std::vector<card::CertificateEntry> entries;
    std::vector<card::SkippedCertificate> skipped;
    std::vector<card::AuthorityCertificate> authorities;
    try {
        if (!worker->access) {
            worker->access = backend_->open(worker->name);
        }
        worker->access->run(card::AfterReset::Rerun, [&](card::Token& token) {
            info->pinpad = token.hasPinpad();
            info->id = token.cardId();
            info->type = std::string(token.type());
            if (auto* pkcs11 = dynamic_cast<card::pkcs11::Pkcs11Token*>(&token)) {
                // The token's own label (CK_TOKEN_INFO), e.g. the card holder's name.
                info->label = pkcs11->label().empty() ? "PKCS#11 token" : pkcs11->label();
            }
            entries = token.certificates();
            skipped = token.skippedCertificates();
            authorities = token.authorityCertificates();
        });
    } catch (const card::UnsupportedCard& e) {
        info->id.clear();
        info->type = "unknown";
        spdlog::info("card in '{}' has no supported application: {}", worker->name, e.what());
    } catch (const pcsc::UnresponsiveCard& e) {
        info->id.clear();
        info->type = "unknown";
        info->atr.clear();
        spdlog::info("card in '{}' does not answer: {}", worker->name, e.what());
    } catch (const pcsc::CardRemoved&) {
        return;  // its removal event follows
    } catch (const pcsc::NoCard&) {
        return;
    } catch (const pcsc::ServiceNotRunning&) {
        return;  // the monitor reports the service gone
    } catch (const pcsc::InvalidHandle&) {
        return;
    } catch (const std::exception& e) {
        // Shown as a card the daemon cannot use; taking it out and back in tries again.
        info->id.clear();
        info->type = "unknown";
        spdlog::warn("could not identify the card in '{}': {}", worker->name, e.what());
    }
    for (const card::SkippedCertificate& s : skipped) {
        spdlog::info("card {}: certificate in slot {} left out: {}", info->id, s.slot, s.reason);
    }
    for (card::CertificateEntry& entry : entries) {
        try {
            crypto::CertificateInfo parsed = crypto::parseCertificate(entry.der);
            info->certificates.push_back(CardCertificate{std::move(entry), std::move(parsed)});
        } catch (const std::exception& e) {
            spdlog::info("card {}: certificate in slot {} left out: {}", info->id, entry.slot,
                         e.what());
        }
    }
    for (card::AuthorityCertificate& authority : authorities) {
        try {
            crypto::CertificateInfo parsed = crypto::parseCertificate(authority.der);
            info->authorityCertificates.push_back(
                CardAuthorityCertificate{std::move(authority), std::move(parsed)});
        } catch (const std::exception& e) {
            spdlog::info("card {}: CA certificate \"{}\" left out: {}", info->id, authority.label,
                         e.what());
        }
    }
    if (info->type == "piv") {
        info->label = pivCardLabel(info->certificates);
    }
    settleStep(+1);
    asio::post(control_, [this, name = worker->name, insertion,
                          card = std::shared_ptr<const CardInfo>(std::move(info))] {
        identified(name, insertion, card);
        settleStep(-1);
    });
}

void CardManager::identified(const std::string& readerName, std::uint64_t insertion,
                             const std::shared_ptr<const CardInfo>& card) {
    nlohmann::json event;
    {
        std::lock_guard lock(mutex_);
        const auto it = readers_.find(readerName);
        if (it == readers_.end() || it->second.insertion != insertion) {
            return;  // removed meanwhile
        }
        Reader& reader = it->second;
        reader.card = card;
        reader.pinpad = card->pinpad;
        reader.announced = true;
        spdlog::info("card inserted in '{}': {} card{}{}, {} certificate(s)", readerName,
                     card->type, card->id.empty() ? "" : " ", card->id, card->certificates.size());
        event = {{"type", "card.inserted"}, {"reader", readerName}, {"card", card->toJson()}};
    }
    changed_.notify_all();
    emit(event);
}

void CardManager::submit(const ReaderView& reader, const std::shared_ptr<CardJob>& job) {
    std::shared_ptr<Worker> worker;
    {
        std::lock_guard lock(mutex_);
        const auto it = readers_.find(reader.name);
        if (it != readers_.end()) {
            worker = it->second.worker;
        }
        if (worker) {
            auto& jobs = jobsByConnection_[job->spec().connectionId];
            std::erase_if(jobs, [](const std::weak_ptr<CardJob>& w) { return w.expired(); });
            jobs.push_back(job);
            ++jobsInFlight_;
        }
    }
    if (!worker) {
        job->fail(makeError(Reason::CardRemoved, "the reader is gone", {{"outcome", "none"}}));
        return;
    }
    auto timer = std::make_shared<asio::steady_timer>(control_, job->spec().deadline);
    // The timer lives as long as the job's turn on the strand (the handler below holds it).
    timer->async_wait([weak = std::weak_ptr<CardJob>(job)](const auto& ec) {
        if (!ec) {
            if (auto j = weak.lock()) {
                j->expire();
            }
        }
    });
    asio::post(worker->strand, [this, worker, job, timer] {
        run(worker, job);
        asio::post(control_, [timer] { timer->cancel(); });
        jobEnded();
    });
}

void CardManager::jobEnded() {
    {
        std::lock_guard lock(mutex_);
        --jobsInFlight_;
    }
    changed_.notify_all();
}

void CardManager::run(const std::shared_ptr<Worker>& worker, const std::shared_ptr<CardJob>& job) {
    if (!job->begin()) {
        return;
    }
    const CardJob::Spec& spec = job->spec();
    const auto runOnce = [&] {
        nlohmann::json result;
        worker->access->run(spec.afterReset, [&](card::Token& token) {
            if (!job->enterCard()) {
                throw JobAbandoned();
            }
            // The card in the reader may have changed since the request looked (a swap the
            // monitor has not reported yet): never use another card's key.
            if (token.cardId() != spec.cardId) {
                throw CardSwapped();
            }
            result = spec.work(token);
        });
        return result;
    };
    try {
        if (worker->removed || worker->insertion != spec.insertion) {
            throw CardSwapped();
        }
        if (!worker->access) {
            worker->access = backend_->open(worker->name);
        }
        nlohmann::json result = runOnce();
        if (result.is_null()) {
            // The work asked to run once more, now that the session has reset the card (a PIN
            // state it found verified and could not clear; see ApiService's pin.status).
            result = runOnce();
        }
        if (result.is_null()) {
            throw std::logic_error(spec.method + " produced no result");
        }
        job->succeed(std::move(result));
    } catch (...) {
        job->fail(errorFromException(std::current_exception(), job->reachedCard(), spec.method));
    }
}

void CardManager::cancelConnection(std::uint64_t connectionId) {
    std::vector<std::shared_ptr<CardJob>> jobs;
    {
        std::lock_guard lock(mutex_);
        const auto it = jobsByConnection_.find(connectionId);
        if (it == jobsByConnection_.end()) {
            return;
        }
        for (auto& weak : it->second) {
            if (auto job = weak.lock()) {
                jobs.push_back(std::move(job));
            }
        }
        jobsByConnection_.erase(it);
    }
    for (const auto& job : jobs) {
        job->cancel();
    }
}

}  // namespace tk::service
