#pragma once

// Private to daemon/pcsc: the only header of this layer that sees winscard.h, and the one
// place where SCard* return codes are looked at.

#include <winscard.h>

#include <cstdint>
#include <utility>

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

inline SCARDCONTEXT toContext(std::uintptr_t handle) noexcept {
    return static_cast<SCARDCONTEXT>(handle);
}

inline std::uintptr_t fromContext(SCARDCONTEXT context) noexcept {
    return static_cast<std::uintptr_t>(context);
}

}  // namespace tk::pcsc::detail
