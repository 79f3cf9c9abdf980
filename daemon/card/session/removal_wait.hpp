#pragma once

#include <chrono>
#include <string>

namespace tk::card {

// Waits until pcscd reports the card in `reader` gone, for at most `timeout`; true when it did.
//
// A card pulled out in the middle of an APDU does not always surface as SCARD_W_REMOVED_CARD:
// the exchange that was cut usually fails with a transport error (SCARD_E_COMM_DATA_LOST, ...),
// and pcscd notices the empty reader only at its next look (every 0.4 s for vpcd and most
// USB readers without interrupt notification). This blocks in SCardGetStatusChange through a
// ReaderMonitor of its own (no polling) and returns as soon as the removal is reported.
bool waitForCardRemoval(const std::string& reader, std::chrono::milliseconds timeout);

}  // namespace tk::card
