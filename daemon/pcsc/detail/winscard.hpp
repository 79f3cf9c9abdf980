#pragma once

// Private to daemon/pcsc: the PC/SC API's header on each platform, and the few constants it
// does not share. pcsc-lite: <winscard.h> and <reader.h>. Windows: WinSCard from the SDK
// (MinGW-w64), whose DWORD and LONG are 32 bits wide where pcsc-lite's are `unsigned long`
// and `long` (64 bits on Linux x86_64); code here converts with static_cast at the calls and
// keeps std::uint32_t everywhere else.

#if defined(_WIN32)
#include <windows.h>
#include <winscard.h>
#else
#include <reader.h>
#include <winscard.h>
#endif

#include <cstddef>
#include <cstdint>

namespace tk::pcsc::detail {

// The receive buffer for an extended APDU response: 64 KiB of data plus SW1 SW2 and the
// framing pcsc-lite allows for (its MAX_BUFFER_SIZE_EXTENDED; the Windows SDK has no name).
inline constexpr std::size_t kMaxBufferExtended = 4 + 3 + (1 << 16) + 3 + 2;

// The longest ATR (ISO 7816-3), MAX_ATR_SIZE in both SDKs' headers but not always exported.
inline constexpr std::size_t kMaxAtrSize = 33;

// PC/SC part 10 GET_FEATURE_REQUEST: SCARD_CTL_CODE(3400), whose encoding differs —
// pcsc-lite 0x42000000 + code, Windows CTL_CODE(FILE_DEVICE_SMARTCARD, code, ...).
#if defined(_WIN32)
inline constexpr std::uint32_t kFeatureRequestCode = SCARD_CTL_CODE(3400);
#else
inline constexpr std::uint32_t kFeatureRequestCode = CM_IOCTL_GET_FEATURE_REQUEST;
#endif

}  // namespace tk::pcsc::detail
