#include "service/state/card_states.hpp"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

namespace tk::service::state {
namespace {

constexpr std::string_view kDocument = "cards.json";
constexpr int kVersion = 1;

std::optional<int> count(const nlohmann::json& card, const char* name) {
    const auto it = card.find(name);
    if (it == card.end()) {
        return std::nullopt;
    }
    if (!it->is_number_integer() || it->get<long long>() < 0 || it->get<long long>() > 255) {
        throw std::invalid_argument(std::string(name) + " must be an integer from 0 to 255");
    }
    return it->get<int>();
}

}  // namespace

CardStates::CardStates(StateDirectory directory) : directory_(std::move(directory)) {
    const std::optional<std::string> text = directory_->read(kDocument);
    if (!text) {
        return;
    }
    const std::string where = (directory_->path() / std::string(kDocument)).string();
    try {
        const nlohmann::json document = nlohmann::json::parse(*text);
        if (!document.is_object() || document.value("version", 0) != kVersion ||
            !document.contains("cards") || !document["cards"].is_object()) {
            throw std::invalid_argument("not a version 1 card state document");
        }
        for (const auto& [cardId, card] : document["cards"].items()) {
            if (!card.is_object()) {
                throw std::invalid_argument("the entry of card " + cardId + " is not an object");
            }
            cards_[cardId] =
                CardState{count(card, "pukRetriesLeft"), count(card, "pukRetryLimitAtLeast")};
        }
    } catch (const std::exception& e) {
        throw StateError("state directory: " + where + ": " + e.what() +
                         " (remove the file to start afresh: every PUK counter is then unknown)");
    }
}

CardState CardStates::get(std::string_view cardId) const {
    std::lock_guard lock(mutex_);
    const auto it = cards_.find(cardId);
    return it == cards_.end() ? CardState{} : it->second;
}

void CardStates::pukAccepted(std::string_view cardId) {
    std::lock_guard lock(mutex_);
    CardState& card = cards_[std::string(cardId)];
    card.pukRetriesLeft = card.pukRetryLimitAtLeast;
    save();
}

void CardStates::pukRejected(std::string_view cardId, int retriesLeft) {
    std::lock_guard lock(mutex_);
    CardState& card = cards_[std::string(cardId)];
    card.pukRetriesLeft = retriesLeft;
    if (retriesLeft > 0) {
        card.pukRetryLimitAtLeast =
            std::max(card.pukRetryLimitAtLeast.value_or(0), retriesLeft + 1);
    }
    save();
}

// Called with mutex_ held. A write that fails is logged: the counter then stays known only in
// memory until the daemon stops, and after a restart it is unknown, which is the safe side.
void CardStates::save() const {
    if (!directory_) {
        return;
    }
    nlohmann::json cards = nlohmann::json::object();
    for (const auto& [cardId, card] : cards_) {
        nlohmann::json entry = nlohmann::json::object();
        if (card.pukRetriesLeft) {
            entry["pukRetriesLeft"] = *card.pukRetriesLeft;
        }
        if (card.pukRetryLimitAtLeast) {
            entry["pukRetryLimitAtLeast"] = *card.pukRetryLimitAtLeast;
        }
        cards[cardId] = std::move(entry);
    }
    const nlohmann::json document = {{"version", kVersion}, {"cards", std::move(cards)}};
    try {
        directory_->write(kDocument, document.dump(2) + "\n");
    } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
    }
}

}  // namespace tk::service::state
