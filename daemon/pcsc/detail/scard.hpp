#pragma once

// Private to daemon/pcsc: the only header of this layer that sees winscard.h (through
// detail/winscard.hpp), and the one place where SCard* return codes are looked at.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "pcsc/detail/winscard.hpp"

#include "pcsc/disposition.hpp"
#include "pcsc/errors.hpp"

namespace tk::pcsc::detail {

// Calls an SCard* function and turns a failure into the matching typed exception.
template <typename Function, typename... Args>
void call(const char* name, Function function, Args&&... args) {
    const LONG rv = function(std::forward<Args>(args)...);
    if (rv != SCARD_S_SUCCESS) {
        throwError(static_cast<std::uint32_t>(rv), name);
    }
}

// For release paths in destructors, which must not throw. A failed release means the card or the
// service is already gone, which the next call on a live object reports as a typed error.
template <typename Function, typename... Args>
bool succeeds(Function function, Args&&... args) noexcept {
    return function(std::forward<Args>(args)...) == SCARD_S_SUCCESS;
}

inline DWORD toNative(Disposition disposition) noexcept {
    switch (disposition) {
        case Disposition::Reset:
            return SCARD_RESET_CARD;
        case Disposition::Unpower:
            return SCARD_UNPOWER_CARD;
        case Disposition::Eject:
            return SCARD_EJECT_CARD;
        case Disposition::Leave:
            break;
    }
    return SCARD_LEAVE_CARD;
}

inline constexpr std::uint32_t kProtocols = SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1;

// Parses the NUL-separated, double-NUL-terminated list SCardListReaders returns (`length`
// characters), each name through `toUtf8`.
template <typename Char, typename Convert>
std::vector<std::string> splitMultiString(const Char* list, std::size_t length, Convert toUtf8) {
    std::vector<std::string> names;
    std::size_t pos = 0;
    while (pos < length && list[pos] != Char{0}) {
        std::size_t end = pos;
        while (end < length && list[end] != Char{0}) {
            ++end;
        }
        const std::basic_string<Char> name(list + pos, list + end);
        names.push_back(toUtf8(name.c_str()));
        pos = end + 1;
    }
    return names;
}

inline SCARDCONTEXT toContext(std::uintptr_t handle) noexcept {
    return static_cast<SCARDCONTEXT>(handle);
}

inline std::uintptr_t fromContext(SCARDCONTEXT context) noexcept {
    return static_cast<std::uintptr_t>(context);
}

}  // namespace tk::pcsc::detail
