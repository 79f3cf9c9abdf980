#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <utility>

namespace tk::card {

// Overwrites `size` bytes at `data` with zeros in a way the optimiser may not remove.
void secureWipe(void* data, std::size_t size) noexcept;

// Overwrites the kStackWipeBytes of the calling thread's stack just below the caller's frame:
// what deeper calls left there (a library's stack buffer that held a request's text) is gone.
// For a loop that hands control to code it cannot wipe, after each round.
inline constexpr std::size_t kStackWipeBytes = std::size_t{64} * 1024;
void wipeStackBelow() noexcept;

// Memory for secrets, in pages of their own: excluded from core dumps (MADV_DONTDUMP) and
// shared with nothing else, so no other buffer's overflow or reuse reaches it. Released pages
// are wiped before they go back to the system. Throws std::bad_alloc.
void* allocateSecretPages(std::size_t size);
void releaseSecretPages(void* data, std::size_t size) noexcept;

// A standard allocator over allocateSecretPages(): containers that hold secrets (a request's
// text, a PIN) wipe every buffer they give up, reallocations included.
template <class T>
struct SecretAllocator {
    using value_type = T;

    SecretAllocator() noexcept = default;
    template <class U>
    SecretAllocator(const SecretAllocator<U>& /*other*/) noexcept {}

    T* allocate(std::size_t n) { return static_cast<T*>(allocateSecretPages(n * sizeof(T))); }
    void deallocate(T* p, std::size_t n) noexcept { releaseSecretPages(p, n * sizeof(T)); }

    template <class U>
    bool operator==(const SecretAllocator<U>& /*other*/) const noexcept {
        return true;
    }
};

// A byte buffer for secrets (PIN, PUK, plaintext, shared secrets). Its storage is allocated
// once, at its final size, so no stale copy is left behind by a reallocation, and it is
// wiped before it is released. Copying is disabled; moving hands the storage over.
// The allocator parameter exists so tests can observe the bytes at deallocation.
template <class Allocator = SecretAllocator<std::uint8_t>>
class BasicSecureBytes {
    using Traits = std::allocator_traits<Allocator>;

  public:
    using allocator_type = Allocator;
    using value_type = std::uint8_t;
    using iterator = std::uint8_t*;
    using const_iterator = const std::uint8_t*;

    BasicSecureBytes() = default;
    explicit BasicSecureBytes(const Allocator& allocator) : allocator_(allocator) {}

    // `size` zero bytes.
    explicit BasicSecureBytes(std::size_t size, const Allocator& allocator = Allocator())
        : allocator_(allocator) {
        allocate(size);
        std::fill_n(data_, size_, std::uint8_t{0});
    }

    explicit BasicSecureBytes(std::span<const std::uint8_t> bytes,
                              const Allocator& allocator = Allocator())
        : allocator_(allocator) {
        allocate(bytes.size());
        std::copy(bytes.begin(), bytes.end(), data_);
    }

    // The bytes of `text` (for a PIN typed as characters). The caller wipes its own copy.
    static BasicSecureBytes fromText(std::string_view text,
                                     const Allocator& allocator = Allocator()) {
        BasicSecureBytes out(text.size(), allocator);
        std::copy(text.begin(), text.end(), out.data_);
        return out;
    }

    ~BasicSecureBytes() { release(); }

    BasicSecureBytes(const BasicSecureBytes&) = delete;
    BasicSecureBytes& operator=(const BasicSecureBytes&) = delete;

    BasicSecureBytes(BasicSecureBytes&& other) noexcept
        : allocator_(std::move(other.allocator_)),
          data_(std::exchange(other.data_, nullptr)),
          size_(std::exchange(other.size_, 0)) {}

    BasicSecureBytes& operator=(BasicSecureBytes&& other) noexcept {
        if (this != &other) {
            release();
            allocator_ = std::move(other.allocator_);
            data_ = std::exchange(other.data_, nullptr);
            size_ = std::exchange(other.size_, 0);
        }
        return *this;
    }

    std::uint8_t* data() noexcept { return data_; }
    const std::uint8_t* data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    iterator begin() noexcept { return data_; }
    iterator end() noexcept { return data_ + size_; }
    const_iterator begin() const noexcept { return data_; }
    const_iterator end() const noexcept { return data_ + size_; }
    std::uint8_t& operator[](std::size_t i) noexcept { return data_[i]; }
    const std::uint8_t& operator[](std::size_t i) const noexcept { return data_[i]; }

    std::span<const std::uint8_t> view() const noexcept { return {data_, size_}; }
    std::span<std::uint8_t> span() noexcept { return {data_, size_}; }
    operator std::span<const std::uint8_t>() const noexcept { return view(); }

    // Zeros the contents now; the size stays.
    void wipe() noexcept {
        if (data_ != nullptr) {
            secureWipe(data_, size_);
        }
    }

    const Allocator& get_allocator() const noexcept { return allocator_; }

  private:
    void allocate(std::size_t size) {
        if (size > 0) {
            data_ = Traits::allocate(allocator_, size);
            size_ = size;
        }
    }

    void release() noexcept {
        if (data_ != nullptr) {
            secureWipe(data_, size_);
            Traits::deallocate(allocator_, data_, size_);
            data_ = nullptr;
            size_ = 0;
        }
    }

    [[no_unique_address]] Allocator allocator_{};
    std::uint8_t* data_ = nullptr;
    std::size_t size_ = 0;
};

using SecureBytes = BasicSecureBytes<>;

// Wipes a plain byte vector when it goes out of scope, for buffers an interface hands back as
// std::vector (a transmit response holding a decrypted block).
class WipeOnExit {
  public:
    explicit WipeOnExit(std::span<std::uint8_t> bytes) noexcept : bytes_(bytes) {}
    ~WipeOnExit() { secureWipe(bytes_.data(), bytes_.size()); }
    WipeOnExit(const WipeOnExit&) = delete;
    WipeOnExit& operator=(const WipeOnExit&) = delete;
    WipeOnExit(WipeOnExit&&) = delete;
    WipeOnExit& operator=(WipeOnExit&&) = delete;

  private:
    std::span<std::uint8_t> bytes_;
};

}  // namespace tk::card
