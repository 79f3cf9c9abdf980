#include "card/secure_bytes.hpp"

#include <cstring>

#if defined(_WIN32)
#include <windows.h>
#endif

namespace tk::card {

void secureWipe(void* data, std::size_t size) noexcept {
    if (data == nullptr || size == 0) {
        return;
    }
#if defined(_WIN32)
    SecureZeroMemory(data, size);
#elif defined(__GLIBC__)
    explicit_bzero(data, size);
#else
    // Writes through a volatile pointer are observable behaviour and cannot be elided.
    volatile auto* p = static_cast<volatile std::uint8_t*>(data);
    for (std::size_t i = 0; i < size; ++i) {
        p[i] = 0;
    }
#endif
}

}  // namespace tk::card
