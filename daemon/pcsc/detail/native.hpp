#pragma once

// Private to daemon/pcsc: the PC/SC calls that take or return reader names. Reader names are
// UTF-8 inside the daemon; pcsc-lite already uses UTF-8 (native_pcsclite.cpp), WinSCard gets
// the wide (W) functions and UTF-16 conversions (native_winscard.cpp) — never the A functions,
// whose reader names are in the ANSI code page.

#include <cstdint>
#include <string>
#include <vector>

#include "pcsc/card_channel.hpp"

namespace tk::pcsc::detail {

// SCardListReaders; an empty list when the service has no reader.
std::vector<std::string> listReaders(std::uintptr_t context);

// SCardConnect in shared mode with T=0 or T=1; `active` receives the protocol chosen.
std::uintptr_t connect(std::uintptr_t context, const std::string& reader, std::uint32_t& active);

// One entry of SCardGetStatusChange: the reader, the state the caller knows, the state seen.
struct ReaderState {
    std::string reader;
    std::uint32_t currentState = 0;
    std::uint32_t eventState = 0;
    Bytes atr;
};

// SCardGetStatusChange without a timeout (until a change, or SCardCancel).
void waitStatusChange(std::uintptr_t context, std::vector<ReaderState>& states);

}  // namespace tk::pcsc::detail
