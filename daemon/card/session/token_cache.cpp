#include "card/session/token_cache.hpp"

#include <algorithm>

namespace tk::card {

void TokenCache::store(const std::string& reader, std::shared_ptr<ReattachableToken> token) {
    if (!token || !token->knownCardId() || capacity_ == 0) {
        return;
    }
    token->detach();
    const std::string cardId = *token->knownCardId();
    std::lock_guard lock(mutex_);
    std::erase_if(entries_,
                  [&](const Entry& e) { return e.reader == reader && e.cardId == cardId; });
    entries_.push_front({reader, cardId, std::move(token)});
    while (entries_.size() > capacity_) {
        entries_.pop_back();
    }
}

std::shared_ptr<ReattachableToken> TokenCache::take(const std::string& reader,
                                                    const std::string& cardId) {
    std::lock_guard lock(mutex_);
    const auto found = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) {
        return e.reader == reader && e.cardId == cardId;
    });
    if (found == entries_.end()) {
        return nullptr;
    }
    std::shared_ptr<ReattachableToken> token = std::move(found->token);
    entries_.erase(found);
    return token;
}

bool TokenCache::holdsCardsFrom(const std::string& reader) const {
    std::lock_guard lock(mutex_);
    return std::any_of(entries_.begin(), entries_.end(),
                       [&](const Entry& e) { return e.reader == reader; });
}

std::size_t TokenCache::size() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
}

void TokenCache::clear() {
    std::lock_guard lock(mutex_);
    entries_.clear();
}

}  // namespace tk::card
