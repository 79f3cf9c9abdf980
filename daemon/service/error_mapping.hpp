#pragma once

#include <exception>
#include <string>
#include <string_view>

#include "service/api.hpp"

namespace tk::service {

// Raised inside a card job when the card in the reader is not the one the request named (it
// was swapped between the request and its turn). Answered CARD_REMOVED.
class CardSwapped : public std::runtime_error {
  public:
    CardSwapped() : std::runtime_error("another card is in the reader now") {}
};

// Raised inside a card job that was abandoned at its deadline, to stop before the card is used.
class JobAbandoned : public std::runtime_error {
  public:
    JobAbandoned() : std::runtime_error("the operation was abandoned at its deadline") {}
};

// A short random id (16 lowercase hex digits) tying an INTERNAL answer to its log line.
std::string newCorrelationId();

// The one mapping from the exceptions of the layers below (card::Error, pcsc::Error,
// crypto::Error, anything else) to PROTOCOL.md reasons. `reachedCard` gives data.outcome of
// CARD_REMOVED. An exception that means a defect (or a PC/SC failure no reason describes) is
// INTERNAL: it is logged here with `method` and a new correlation id, which the answer carries.
ApiError errorFromException(const std::exception_ptr& error, bool reachedCard,
                            std::string_view method);

}  // namespace tk::service
