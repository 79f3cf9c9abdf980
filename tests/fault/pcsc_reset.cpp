// tk_fault_pcsc_reset: another PC/SC application that resets the card under the daemon's feet.
//
//   tk_fault_pcsc_reset READER reconnect|disconnect COUNT INTERVAL_MS
//
// reconnect: one shared connection, SCardReconnect(SCARD_RESET_CARD) COUNT times.
// disconnect: COUNT times SCardConnect (shared) and SCardDisconnect(SCARD_RESET_CARD).
// Prints "resets N failures M" and exits 0 when at least one reset went through.
#include <winscard.h>
#include <wintypes.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

int main(int argc, char** argv) {
    if (argc != 5) {
        std::fprintf(stderr, "usage: %s READER reconnect|disconnect COUNT INTERVAL_MS\n", argv[0]);
        return 2;
    }
    const std::string reader = argv[1];
    const std::string mode = argv[2];
    const int count = std::atoi(argv[3]);
    const auto interval = std::chrono::milliseconds(std::atoi(argv[4]));
    if (mode != "reconnect" && mode != "disconnect") {
        std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
        return 2;
    }
    SCARDCONTEXT context = 0;
    if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &context) != SCARD_S_SUCCESS) {
        std::fprintf(stderr, "no PC/SC context\n");
        return 1;
    }
    int resets = 0;
    int failures = 0;
    SCARDHANDLE card = 0;
    DWORD protocol = 0;
    bool connected = false;
    for (int i = 0; i < count; ++i) {
        if (!connected) {
            const LONG rv = SCardConnect(context, reader.c_str(), SCARD_SHARE_SHARED,
                                         SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &card, &protocol);
            if (rv != SCARD_S_SUCCESS) {
                ++failures;
                std::this_thread::sleep_for(interval);
                continue;
            }
            connected = true;
        }
        LONG rv = SCARD_S_SUCCESS;
        if (mode == "reconnect") {
            rv = SCardReconnect(card, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
                                SCARD_RESET_CARD, &protocol);
            if (rv == SCARD_W_RESET_CARD) {
                // Someone else reset it first; the handle needs one more reconnect.
                rv = SCardReconnect(card, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
                                    SCARD_LEAVE_CARD, &protocol);
            }
        } else {
            rv = SCardDisconnect(card, SCARD_RESET_CARD);
            connected = false;
        }
        if (rv == SCARD_S_SUCCESS) {
            ++resets;
        } else {
            ++failures;
            if (connected) {
                SCardDisconnect(card, SCARD_LEAVE_CARD);
                connected = false;
            }
        }
        std::this_thread::sleep_for(interval);
    }
    if (connected) {
        SCardDisconnect(card, SCARD_LEAVE_CARD);
    }
    SCardReleaseContext(context);
    std::printf("resets %d failures %d\n", resets, failures);
    return resets > 0 ? 0 : 1;
}
