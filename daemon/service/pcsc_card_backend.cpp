#include <utility>

#include "card/session/token_cache.hpp"
#include "service/card_backend.hpp"

namespace tk::service {
namespace {

class SessionAccess final : public CardAccess {
  public:
    SessionAccess(const std::string& reader, const card::CardSessionOptions& options,
                  std::shared_ptr<card::TokenCache> cache)
        : session_(reader, options, std::move(cache)) {}

    void run(card::AfterReset afterReset,
             const std::function<void(card::Token&)>& operation) override {
        session_.run(afterReset, operation);
    }

    void disconnect() noexcept override { session_.disconnect(); }

  private:
    card::CardSession session_;
};

class MonitorWatch final : public ReaderWatch {
  public:
    MonitorWatch(pcsc::ReaderMonitor::EventHandler handler,
                 pcsc::ReaderMonitor::ReaderFilter filter)
        : monitor_(std::move(handler), std::move(filter)) {
        monitor_.start();
    }
    ~MonitorWatch() override { monitor_.stop(); }
    MonitorWatch(const MonitorWatch&) = delete;
    MonitorWatch& operator=(const MonitorWatch&) = delete;
    MonitorWatch(MonitorWatch&&) = delete;
    MonitorWatch& operator=(MonitorWatch&&) = delete;

  private:
    pcsc::ReaderMonitor monitor_;
};

class PcscCardBackend final : public CardBackend {
  public:
    explicit PcscCardBackend(PcscBackendOptions options)
        : cache_(std::make_shared<card::TokenCache>()) {
        sessionOptions_.devMode = options.developmentMode;
        sessionOptions_.piv = options.piv;
    }

    std::unique_ptr<CardAccess> open(const std::string& reader) override {
        return std::make_unique<SessionAccess>(reader, sessionOptions_, cache_);
    }

    std::unique_ptr<ReaderWatch> watch(pcsc::ReaderMonitor::EventHandler handler,
                                       pcsc::ReaderMonitor::ReaderFilter filter) override {
        return std::make_unique<MonitorWatch>(std::move(handler), std::move(filter));
    }

  private:
    card::CardSessionOptions sessionOptions_;
    std::shared_ptr<card::TokenCache> cache_;
};

}  // namespace

std::unique_ptr<CardBackend> pcscCardBackend(PcscBackendOptions options) {
    return std::make_unique<PcscCardBackend>(options);
}

}  // namespace tk::service
