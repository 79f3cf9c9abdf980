#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "service/capabilities.hpp"
#include "service/config.hpp"
#include "service/origin.hpp"

namespace tk::service {

// The origin allow-list: which origins may open a connection, and with which capabilities.
// Immutable once built; a configuration reload builds a new one (SharedOriginPolicy).
//
// Matching (PROTOCOL.md §1) is on the ASCII serialisation of the handshake's Origin: scheme,
// host and port exactly, scheme and host case-insensitive, an explicit default port equal to
// none (browsers never send one). When several entries match, an exact entry wins over
// wildcards, and among wildcards the longest suffix (the most specific) wins.
class OriginPolicy {
  public:
    // Throws ConfigError when an entry is not a valid pattern (see parseOriginPattern).
    explicit OriginPolicy(const std::vector<OriginEntry>& entries);

    // The capabilities of `origin`, or nullopt when no entry admits it (also for a malformed
    // origin or "null").
    std::optional<Capabilities> match(std::string_view origin) const;

    std::size_t size() const noexcept { return entries_.size(); }

  private:
    std::vector<std::pair<OriginPattern, Capabilities>> entries_;
};

// The policy in force, swapped as a whole on reload (SIGHUP) while other threads read it.
class SharedOriginPolicy {
  public:
    explicit SharedOriginPolicy(std::shared_ptr<const OriginPolicy> initial);

    std::shared_ptr<const OriginPolicy> current() const;
    std::optional<Capabilities> match(std::string_view origin) const;

    // Installs `next`. Of the given connections (id, handshake origin), returns the ids of
    // those whose origin no longer matches any entry: the server closes them (1008). A
    // connection whose entry only changed keeps going; its next request gets the new
    // capabilities.
    std::vector<std::uint64_t> replace(
        std::shared_ptr<const OriginPolicy> next,
        std::span<const std::pair<std::uint64_t, std::string>> connections);

  private:
    mutable std::mutex mutex_;
    std::shared_ptr<const OriginPolicy> policy_;
};

// The ids of `connections` whose origin `policy` does not admit.
std::vector<std::uint64_t> connectionsWithoutEntry(
    const OriginPolicy& policy, std::span<const std::pair<std::uint64_t, std::string>> connections);

}  // namespace tk::service
