#include "service/consent.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <variant>

#include <nlohmann/json.hpp>

#include "service/client_text.hpp"
#include "service/config.hpp"
#include "service/public_suffix.hpp"

namespace tk::service {
namespace {

constexpr std::string_view kDocument = "consent.json";
constexpr int kVersion = 1;

}  // namespace

std::string formatUtc(SystemClock::time_point when) {
    const auto seconds = std::chrono::floor<std::chrono::seconds>(when);
    const auto days = std::chrono::floor<std::chrono::days>(seconds);
    const std::chrono::year_month_day date{days};
    const std::chrono::hh_mm_ss time{seconds - days};
    char text[32];
    std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02lld:%02lld:%02lldZ",
                  static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                  static_cast<unsigned>(date.day()), static_cast<long long>(time.hours().count()),
                  static_cast<long long>(time.minutes().count()),
                  static_cast<long long>(time.seconds().count()));
    return text;
}

std::optional<SystemClock::time_point> parseUtc(std::string_view text) {
    if (text.size() != 20) {
        return std::nullopt;
    }
    const std::string copy(text);
    int year = 0;
    unsigned month = 0;
    unsigned day = 0;
    int hour = 0;
    int minute = 0;
    int second = 0;
    char zone = 0;
    if (std::sscanf(copy.c_str(), "%4d-%2u-%2uT%2d:%2d:%2d%c", &year, &month, &day, &hour, &minute,
                    &second, &zone) != 7 ||
        zone != 'Z') {
        return std::nullopt;
    }
    const std::chrono::year_month_day date{std::chrono::year{year}, std::chrono::month{month},
                                           std::chrono::day{day}};
    if (!date.ok() || hour > 23 || minute > 59 || second > 59 || hour < 0 || minute < 0 ||
        second < 0) {
        return std::nullopt;
    }
    return std::chrono::sys_days{date} + std::chrono::hours{hour} + std::chrono::minutes{minute} +
           std::chrono::seconds{second};
}

// ---- ConsentRecords ----

ConsentRecords::ConsentRecords(state::StateDirectory directory) : directory_(std::move(directory)) {
    load();  // an unusable document is refused at start, as cards.json is
}

std::vector<ConsentRecord> ConsentRecords::load() const {
    if (!directory_) {
        return memory_;
    }
    const std::optional<std::string> text = directory_->read(kDocument);
    std::vector<ConsentRecord> records;
    if (!text) {
        return records;
    }
    const std::string where = (directory_->path() / std::string(kDocument)).string();
    try {
        const nlohmann::json document = nlohmann::json::parse(*text);
        if (!document.is_object() || document.value("version", 0) != kVersion ||
            !document.contains("origins") || !document["origins"].is_object()) {
            throw std::invalid_argument("not a version 1 consent document");
        }
        for (const auto& [origin, entry] : document["origins"].items()) {
            const auto parsed = parseOrigin(origin);
            const auto granted =
                entry.is_object() && entry.contains("granted") && entry["granted"].is_string()
                    ? parseUtc(entry["granted"].get<std::string>())
                    : std::nullopt;
            if (!parsed || serialiseOrigin(*parsed) != origin || !granted) {
                throw std::invalid_argument("the entry of " + clientText(origin) +
                                            " is not an origin with its date");
            }
            records.push_back({origin, *granted});
        }
    } catch (const std::exception& e) {
        throw state::StateError("state directory: " + where + ": " + e.what() +
                                " (remove the file to start afresh: every site then asks again)");
    }
    return records;
}

void ConsentRecords::save(const std::vector<ConsentRecord>& records) const {
    if (!directory_) {
        return;
    }
    nlohmann::json origins = nlohmann::json::object();
    for (const ConsentRecord& record : records) {
        origins[record.origin] = {{"granted", formatUtc(record.granted)}};
    }
    const nlohmann::json document = {{"version", kVersion}, {"origins", std::move(origins)}};
    directory_->write(kDocument, document.dump(2) + "\n");
}

std::vector<ConsentRecord> ConsentRecords::list() const {
    std::lock_guard lock(mutex_);
    auto records = load();
    std::sort(records.begin(), records.end(),
              [](const ConsentRecord& a, const ConsentRecord& b) { return a.origin < b.origin; });
    return records;
}

std::optional<SystemClock::time_point> ConsentRecords::grantedAt(std::string_view origin) const {
    std::lock_guard lock(mutex_);
    for (const ConsentRecord& record : load()) {
        if (record.origin == origin) {
            return record.granted;
        }
    }
    return std::nullopt;
}

void ConsentRecords::grant(std::string_view origin, SystemClock::time_point when) {
    std::lock_guard lock(mutex_);
    std::vector<ConsentRecord> records = load();
    std::erase_if(records, [&](const ConsentRecord& r) { return r.origin == origin; });
    records.push_back({std::string(origin), when});
    save(records);
    if (!directory_) {
        memory_ = std::move(records);
    }
}

bool ConsentRecords::remove(std::string_view origin) {
    std::lock_guard lock(mutex_);
    std::vector<ConsentRecord> records = load();
    if (std::erase_if(records, [&](const ConsentRecord& r) { return r.origin == origin; }) == 0) {
        return false;
    }
    save(records);
    if (!directory_) {
        memory_ = std::move(records);
    }
    return true;
}

// ---- ConsentPolicy ----

ConsentPolicy::ConsentPolicy(ConsentConfig config, std::shared_ptr<ConsentRecords> records, Now now)
    : config_(std::move(config)), records_(std::move(records)), now_(std::move(now)) {
    for (const std::string& entry : config_.deny) {
        auto parsed = parseOriginPattern(entry);
        if (const auto* problem = std::get_if<std::string>(&parsed)) {
            throw ConfigError("consent.deny: \"" + entry + "\": " + *problem);
        }
        deny_.push_back(std::get<OriginPattern>(std::move(parsed)));
    }
}

std::optional<ConsentPolicy::Offer> ConsentPolicy::offer(std::string_view origin) const {
    if (!config_.enabled) {
        return std::nullopt;
    }
    // The allow-list's own rule decides what may be approved at all: https, or http on a
    // loopback host; an exact origin, not a pattern.
    auto parsed = parseOriginPattern(origin);
    const auto* pattern = std::get_if<OriginPattern>(&parsed);
    if (pattern == nullptr || pattern->wildcard || pattern->text != origin) {
        return std::nullopt;
    }
    if (std::any_of(deny_.begin(), deny_.end(),
                    [&](const OriginPattern& deny) { return deny.matches(pattern->origin); })) {
        return std::nullopt;
    }
    return Offer{registrableDomain(pattern->origin.host)};
}

bool ConsentPolicy::granted(std::string_view origin) const {
    if (!offer(origin)) {
        return false;
    }
    std::optional<SystemClock::time_point> when;
    try {
        when = records_->grantedAt(origin);
    } catch (const state::StateError& e) {
        spdlog::error("consent records unusable, no stored consent counts: {}", e.what());
        return false;
    }
    return when && now_() - *when < std::chrono::days{config_.days};
}

void ConsentPolicy::remember(std::string_view origin) const {
    records_->grant(origin, now_());
}

std::shared_ptr<const ConsentPolicy> makeConsentPolicy(const Config& config) {
    auto records = std::make_shared<ConsentRecords>(
        state::StateDirectory::open(state::resolveStateDirectory(config.stateDirectory)));
    return std::make_shared<const ConsentPolicy>(
        ConsentConfig{config.consentEnabled, config.consentDeny, config.consentDays},
        std::move(records));
}

}  // namespace tk::service
