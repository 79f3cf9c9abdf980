#include "support/hipki_popup.hpp"

#include <gtest/gtest.h>

namespace tk::test {

std::uint16_t freePortBesides(std::uint16_t taken) {
    std::uint16_t port = 0;
    do {
        port = freePort();
    } while (port == taken);
    return port;
}

std::unique_ptr<WsClient> openHipkiPopup(std::uint16_t hipkiPort, const std::string& portal,
                                         decltype(WsClient::onMessage) onMessage) {
    const std::string host = "localhost:" + std::to_string(hipkiPort);
    auto popup = std::make_unique<WsClient>("127.0.0.1", hipkiPort);
    if (popup->handshake(Handshake(host, "http://" + host, "tenderkey.v1")).status != 101) {
        return nullptr;
    }
    popup->onMessage = std::move(onMessage);
    if (!popup->call("bridge.attach", {{"origin", portal}}).contains("result")) {
        return nullptr;
    }
    return popup;
}

nlohmann::json hipkiCall(WsClient& popup, const nlohmann::json& package) {
    const nlohmann::json r = popup.call("hipki.call", {{"package", package}});
    if (!r.contains("result")) {
        ADD_FAILURE() << r.dump();
        return nlohmann::json::object();
    }
    return r["result"];
}

}  // namespace tk::test
