#pragma once

// The HiPKI dialect's popup page as the daemon tests play it: a WebSocket to the daemon's HiPKI
// listener from the listener's own origin, attached to a portal, sending hipki.call.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>

#include "support/ws_client.hpp"

namespace tk::test {

// A free port other than `taken` (the HiPKI listener's, beside the daemon's main port).
std::uint16_t freePortBesides(std::uint16_t taken);

// The popup's WebSocket to the HiPKI listener on `hipkiPort`, from http://localhost:<port>, with
// `onMessage` set before anything is sent, attached to `portal`; nullptr when the handshake or
// the attach fails.
std::unique_ptr<WsClient> openHipkiPopup(std::uint16_t hipkiPort, const std::string& portal,
                                         decltype(WsClient::onMessage) onMessage = {});

// hipki.call of `package` on the popup: its result, or an empty object (and a test failure)
// when the daemon answers an error.
nlohmann::json hipkiCall(WsClient& popup, const nlohmann::json& package);

}  // namespace tk::test
