#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "service/state/state_directory.hpp"

namespace tk::service::state {

// What the daemon remembers about one card between runs.
struct CardState {
    // The PUK tries left as the card last reported them (a PIV card cannot be asked); nullopt:
    // not known, which the PUK methods treat as one try left.
    std::optional<int> pukRetriesLeft;
    // A lower bound of the PUK's retry limit: one more than the highest count the card ever
    // reported after a wrong PUK. A successful PUK use sets the counter back to the limit,
    // so afterwards at least this many tries are left.
    std::optional<int> pukRetryLimitAtLeast;

    bool operator==(const CardState&) const = default;
};

// The per-card state document "cards.json" of the state directory:
// {"version": 1, "cards": {"<cardId>": {"pukRetriesLeft": 2, "pukRetryLimitAtLeast": 3}}}.
// Without a directory (tests, or a service built without one) the state lives in memory only.
// Thread-safe: card work of several cards updates it from their own threads.
class CardStates {
  public:
    CardStates() = default;
    // Reads the document (none yet: empty). Throws StateError when the document cannot be
    // used: unsafe permissions (StateDirectory::read) or text that is not such a document.
    explicit CardStates(StateDirectory directory);

    CardState get(std::string_view cardId) const;

    // What the card answered to a PUK: accepted (the counter is back at its limit), wrong with
    // `retriesLeft` tries left, or blocked (0). Written to the directory at once.
    void pukAccepted(std::string_view cardId);
    void pukRejected(std::string_view cardId, int retriesLeft);

  private:
    void save() const;

    std::optional<StateDirectory> directory_;
    mutable std::mutex mutex_;
    std::map<std::string, CardState, std::less<>> cards_;
};

}  // namespace tk::service::state
