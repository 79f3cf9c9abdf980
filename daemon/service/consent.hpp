#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "service/origin.hpp"
#include "service/state/state_directory.hpp"

namespace tk::service {

using SystemClock = std::chrono::system_clock;

// [consent]: whether the bridge window may ask the user to allow an origin the administrator
// did not list, which origins it never offers, and how long an "Always allow" lasts.
struct ConsentConfig {
    bool enabled = true;
    std::vector<std::string> deny;  // origins or wildcard patterns (as [[origins]] entries)
    int days = 180;
};

// One stored "Always allow": the origin and when the user gave it.
struct ConsentRecord {
    std::string origin;
    SystemClock::time_point granted;
};

// The document "consent.json" of the state directory:
// {"version": 1, "origins": {"https://a.example.tw": {"granted": "2026-12-06T21:00:00Z"}}}.
// Read afresh on every lookup, so that `tenderkey origins remove` takes effect for the next
// bridge window without a restart. Without a directory the records live in memory only.
// Thread-safe.
class ConsentRecords {
  public:
    ConsentRecords() = default;
    explicit ConsentRecords(state::StateDirectory directory);

    // Every record, in origin order. Throws state::StateError for a document that is unsafe
    // (StateDirectory::read) or not such a document.
    std::vector<ConsentRecord> list() const;
    std::optional<SystemClock::time_point> grantedAt(std::string_view origin) const;
    // Stores (or renews) the consent of `origin`. Throws state::StateError.
    void grant(std::string_view origin, SystemClock::time_point when);
    // Removes the record of `origin`; false when there was none. Throws state::StateError.
    bool remove(std::string_view origin);

  private:
    std::vector<ConsentRecord> load() const;
    void save(const std::vector<ConsentRecord>& records) const;

    std::optional<state::StateDirectory> directory_;
    mutable std::mutex mutex_;
    std::vector<ConsentRecord> memory_;  // without a directory
};

// The user's consent for an origin without an allow-list entry. An origin may be offered when
// consent is enabled, the origin is https (or http on a loopback host) and no deny entry
// matches it; a stored consent counts while it is younger than `days` and the origin may still
// be offered (a deny entry added later wins over an old "Always").
class ConsentPolicy {
  public:
    using Now = std::function<SystemClock::time_point()>;

    // Throws ConfigError for a deny entry that is not a valid origin pattern.
    ConsentPolicy(
        ConsentConfig config, std::shared_ptr<ConsentRecords> records,
        Now now = [] { return SystemClock::now(); });

    // nullopt: never offered. Otherwise the offer, with the registrable domain of the host for
    // the dialog to emphasise (none for an IP address).
    struct Offer {
        std::optional<std::string> registrableDomain;
    };
    std::optional<Offer> offer(std::string_view origin) const;

    // A stored, unexpired consent for an origin that may still be offered. A record that
    // cannot be read counts as none (logged).
    bool granted(std::string_view origin) const;

    // "Always allow": stores the consent with today's date. Throws state::StateError.
    void remember(std::string_view origin) const;

    const ConsentConfig& config() const noexcept { return config_; }

  private:
    ConsentConfig config_;
    std::vector<OriginPattern> deny_;
    std::shared_ptr<ConsentRecords> records_;
    Now now_;
};

// The policy of `config` over the records of its state directory (resolveStateDirectory).
// Throws state::StateError (directory or document unusable) or ConfigError (deny entries).
struct Config;
std::shared_ptr<const ConsentPolicy> makeConsentPolicy(const Config& config);

// RFC 3339 UTC with whole seconds ("2026-12-06T21:00:00Z"), and back (nullopt when malformed).
std::string formatUtc(SystemClock::time_point when);
std::optional<SystemClock::time_point> parseUtc(std::string_view text);

}  // namespace tk::service
