#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace tk::pcsc::detail {

// Overwrites bytes that may have held card data (decrypted keys, PIN commands) in a way the
// optimiser may not drop.
inline void secureWipe(std::span<std::uint8_t> bytes) noexcept {
    volatile std::uint8_t* p = bytes.data();
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        p[i] = 0;
    }
}

// A byte vector that is wiped when it goes out of scope.
class WipedBytes {
  public:
    WipedBytes() = default;
    explicit WipedBytes(std::vector<std::uint8_t> bytes) : bytes_(std::move(bytes)) {}
    ~WipedBytes() { secureWipe(bytes_); }
    WipedBytes(const WipedBytes&) = delete;
    WipedBytes& operator=(const WipedBytes&) = delete;
    WipedBytes(WipedBytes&&) = delete;
    WipedBytes& operator=(WipedBytes&&) = delete;

    std::vector<std::uint8_t>& get() noexcept { return bytes_; }
    const std::vector<std::uint8_t>& get() const noexcept { return bytes_; }

  private:
    std::vector<std::uint8_t> bytes_;
};

// Appends `tail` to `out` without leaving copies of `out`'s old contents in freed memory when
// the vector has to grow.
inline void appendWiping(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> tail) {
    const std::size_t needed = out.size() + tail.size();
    if (needed > out.capacity()) {
        std::vector<std::uint8_t> bigger;
        bigger.reserve(needed > 2 * out.capacity() ? needed : 2 * out.capacity());
        bigger.assign(out.begin(), out.end());
        secureWipe(out);
        out.swap(bigger);
    }
    out.insert(out.end(), tail.begin(), tail.end());
}

}  // namespace tk::pcsc::detail
