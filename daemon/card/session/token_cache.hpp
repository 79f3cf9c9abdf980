#pragma once

#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>

#include "card/session/reattachable_token.hpp"

namespace tk::card {

// Tokens of cards that left their reader, so that the same card put back into the same reader
// is recognised from its CHUID. The session still reads the certificate objects again and keeps
// the token only when they are unchanged (PivToken::matchesCard), so a card whose certificates
// changed while it was out shows the new ones; what the cache saves is parsing, the PIN pad
// probe and the last known PUK counter. Keyed by
// reader and card id: the token also remembers reader properties (pinpad), and a card id is
// only learnt from the card itself. Bounded: the token stored longest ago goes first.
// Shared by the sessions of all readers; thread-safe.
class TokenCache {
  public:
    explicit TokenCache(std::size_t capacity = 8) : capacity_(capacity) {}

    // Keeps `token` (detached, with a known card id) for its card in `reader`. A token without a
    // known card id is dropped: nothing could ever find it.
    void store(const std::string& reader, std::shared_ptr<ReattachableToken> token);

    // Hands out (and forgets) the token kept for `cardId` in `reader`, or nullptr.
    std::shared_ptr<ReattachableToken> take(const std::string& reader, const std::string& cardId);

    // Whether any token is kept for `reader`: only then is it worth identifying a newly
    // connected card before its token reads everything.
    bool holdsCardsFrom(const std::string& reader) const;

    std::size_t size() const;
    void clear();

  private:
    struct Entry {
        std::string reader;
        std::string cardId;
        std::shared_ptr<ReattachableToken> token;
    };

    std::size_t capacity_;
    mutable std::mutex mutex_;
    std::list<Entry> entries_;  // newest first
};

}  // namespace tk::card
