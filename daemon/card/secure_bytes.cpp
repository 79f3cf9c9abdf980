#include "card/secure_bytes.hpp"

#include <cstring>
#include <new>

#if defined(_WIN32)
#include <windows.h>
#else
#include <sys/mman.h>
#include <unistd.h>
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

// Not inlined, so that its array sits below the caller's frame; secureWipe is opaque to the
// optimiser, so the writes are not dropped.
#if defined(__GNUC__)
[[gnu::noinline]]
#endif
void wipeStackBelow() noexcept {
    std::uint8_t area[kStackWipeBytes];
    secureWipe(area, sizeof area);
}

#if defined(_WIN32)

void* allocateSecretPages(std::size_t size) {
    void* data =
        VirtualAlloc(nullptr, size == 0 ? 1 : size, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    if (data == nullptr) {
        throw std::bad_alloc();
    }
    return data;
}

void releaseSecretPages(void* data, std::size_t size) noexcept {
    if (data != nullptr) {
        secureWipe(data, size);
        VirtualFree(data, 0, MEM_RELEASE);
    }
}

#else

namespace {

std::size_t pageRounded(std::size_t size) {
    static const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    return (size == 0 ? 1 : (size + page - 1) / page) * page;
}

}  // namespace

void* allocateSecretPages(std::size_t size) {
    const std::size_t length = pageRounded(size);
    void* data = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (data == MAP_FAILED) {
        throw std::bad_alloc();
    }
#if defined(MADV_DONTDUMP)
    // Advice only: a kernel without it still gets a wiped buffer, and the daemon is not
    // dumpable at all (PR_SET_DUMPABLE 0, LimitCORE=0).
    madvise(data, length, MADV_DONTDUMP);
#endif
    return data;
}

void releaseSecretPages(void* data, std::size_t size) noexcept {
    if (data != nullptr) {
        secureWipe(data, size);
        munmap(data, pageRounded(size));
    }
}

#endif

}  // namespace tk::card
