#pragma once

#include <chrono>

#include "server/listeners.hpp"

namespace tk::daemon {

// Whether the network thread still serves: GET /health on `endpoint` is answered 200 within
// `timeout`. For a TLS-only endpoint it is whether the socket accepts a connection (the kernel
// does that without the network thread, so it is the weaker check).
bool probeHealth(const server::Endpoint& endpoint, std::chrono::milliseconds timeout);

// Whether the card side makes progress: the manager becomes settled (no event waiting for
// the control thread, no identification under way) at least once every `tolerance`. Longer
// than that unsettled means a worker or the control thread is stuck.
class CardProgress {
  public:
    explicit CardProgress(std::chrono::steady_clock::duration tolerance);
    // `settledNow`: what CardManager::waitUntilSettled(0) just answered.
    bool check(bool settledNow);

  private:
    std::chrono::steady_clock::duration tolerance_;
    std::chrono::steady_clock::time_point lastSettled_;
};

}  // namespace tk::daemon
