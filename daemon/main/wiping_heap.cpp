// The daemon's C++ heap wipes every block it takes back.
//
// A PIN or a decrypted key passes through buffers the daemon does not own: the JSON parser's
// token buffers, the strings a response is assembled in, the reallocations of any container
// that held them. No interface reaches those, and a freed block keeps its bytes until it is
// handed out again. Replacing the global operator new/delete of tenderkeyd (the executable
// only, not the libraries the tools share) zeros each block when it is released, so what the
// C++ code frees holds no secret. Blocks that are still in use are the business of their
// owners (SecureBytes, the server's message buffers); C libraries (libwebsockets, OpenSSL)
// allocate with malloc and wipe their own secrets or are wiped by the daemon where it can reach
// them (see docs/security.md).

#include <malloc.h>

#include <cstdlib>
#include <new>

#include "card/secure_bytes.hpp"

namespace {

// As the standard's operator new: the new-handler gets its chance before bad_alloc.
void outOfMemory() {
    const std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) {
        throw std::bad_alloc();
    }
    handler();
}

void* allocate(std::size_t size) {
    while (true) {
        if (void* p = std::malloc(size == 0 ? 1 : size)) {
            return p;
        }
        outOfMemory();
    }
}

void* allocateAligned(std::size_t size, std::align_val_t alignment) {
    const auto align = static_cast<std::size_t>(alignment);
    while (true) {
        void* p = nullptr;
        if (posix_memalign(&p, align < sizeof(void*) ? sizeof(void*) : align,
                           size == 0 ? 1 : size) == 0) {
            return p;
        }
        outOfMemory();
    }
}

void release(void* p) noexcept {
    if (p != nullptr) {
        tk::card::secureWipe(p, malloc_usable_size(p));
        std::free(p);
    }
}

}  // namespace

void* operator new(std::size_t size) {
    return allocate(size);
}
void* operator new[](std::size_t size) {
    return allocate(size);
}
void* operator new(std::size_t size, const std::nothrow_t& /*tag*/) noexcept {
    try {
        return allocate(size);
    } catch (const std::bad_alloc&) {
        return nullptr;
    }
}
void* operator new[](std::size_t size, const std::nothrow_t& /*tag*/) noexcept {
    return operator new(size, std::nothrow);
}
void* operator new(std::size_t size, std::align_val_t alignment) {
    return allocateAligned(size, alignment);
}
void* operator new[](std::size_t size, std::align_val_t alignment) {
    return allocateAligned(size, alignment);
}
void* operator new(std::size_t size, std::align_val_t alignment,
                   const std::nothrow_t& /*tag*/) noexcept {
    try {
        return allocateAligned(size, alignment);
    } catch (const std::bad_alloc&) {
        return nullptr;
    }
}
void* operator new[](std::size_t size, std::align_val_t alignment,
                     const std::nothrow_t& /*tag*/) noexcept {
    return operator new(size, alignment, std::nothrow);
}

void operator delete(void* p) noexcept {
    release(p);
}
void operator delete[](void* p) noexcept {
    release(p);
}
void operator delete(void* p, std::size_t /*size*/) noexcept {
    release(p);
}
void operator delete[](void* p, std::size_t /*size*/) noexcept {
    release(p);
}
void operator delete(void* p, const std::nothrow_t& /*tag*/) noexcept {
    release(p);
}
void operator delete[](void* p, const std::nothrow_t& /*tag*/) noexcept {
    release(p);
}
void operator delete(void* p, std::align_val_t /*alignment*/) noexcept {
    release(p);
}
void operator delete[](void* p, std::align_val_t /*alignment*/) noexcept {
    release(p);
}
void operator delete(void* p, std::size_t /*size*/, std::align_val_t /*alignment*/) noexcept {
    release(p);
}
void operator delete[](void* p, std::size_t /*size*/, std::align_val_t /*alignment*/) noexcept {
    release(p);
}
void operator delete(void* p, std::align_val_t /*alignment*/,
                     const std::nothrow_t& /*tag*/) noexcept {
    release(p);
}
void operator delete[](void* p, std::align_val_t /*alignment*/,
                       const std::nothrow_t& /*tag*/) noexcept {
    release(p);
}
