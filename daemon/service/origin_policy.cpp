#include "service/origin_policy.hpp"

#include <variant>

namespace tk::service {

OriginPolicy::OriginPolicy(const std::vector<OriginEntry>& entries) {
    entries_.reserve(entries.size());
    for (const OriginEntry& entry : entries) {
        auto parsed = parseOriginPattern(entry.pattern);
        if (auto* problem = std::get_if<std::string>(&parsed)) {
            throw ConfigError(*problem);
        }
        entries_.emplace_back(std::get<OriginPattern>(std::move(parsed)), entry.capabilities);
    }
}

std::optional<Capabilities> OriginPolicy::match(std::string_view origin) const {
    const std::optional<Origin> parsed = parseOrigin(origin);
    if (!parsed) {
        return std::nullopt;
    }
    const std::pair<OriginPattern, Capabilities>* best = nullptr;
    for (const auto& entry : entries_) {
        const OriginPattern& pattern = entry.first;
        if (!pattern.matches(*parsed)) {
            continue;
        }
        if (!pattern.wildcard) {
            return entry.second;
        }
        if (best == nullptr || pattern.origin.host.size() > best->first.origin.host.size()) {
            best = &entry;
        }
    }
    if (best == nullptr) {
        return std::nullopt;
    }
    return best->second;
}

SharedOriginPolicy::SharedOriginPolicy(std::shared_ptr<const OriginPolicy> initial)
    : policy_(std::move(initial)) {}

std::shared_ptr<const OriginPolicy> SharedOriginPolicy::current() const {
    std::lock_guard lock(mutex_);
    return policy_;
}

std::optional<Capabilities> SharedOriginPolicy::match(std::string_view origin) const {
    const auto policy = current();
    if (!policy) {
        return std::nullopt;
    }
    return policy->match(origin);
}

std::vector<std::uint64_t> SharedOriginPolicy::replace(
    std::shared_ptr<const OriginPolicy> next,
    std::span<const std::pair<std::uint64_t, std::string>> connections) {
    std::vector<std::uint64_t> lost =
        next ? connectionsWithoutEntry(*next, connections) : std::vector<std::uint64_t>{};
    if (!next) {
        for (const auto& connection : connections) {
            lost.push_back(connection.first);
        }
    }
    std::lock_guard lock(mutex_);
    policy_ = std::move(next);
    return lost;
}

std::vector<std::uint64_t> connectionsWithoutEntry(
    const OriginPolicy& policy,
    std::span<const std::pair<std::uint64_t, std::string>> connections) {
    std::vector<std::uint64_t> lost;
    for (const auto& [id, origin] : connections) {
        if (!policy.match(origin)) {
            lost.push_back(id);
        }
    }
    return lost;
}

}  // namespace tk::service
