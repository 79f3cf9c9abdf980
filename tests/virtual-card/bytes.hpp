#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tk::vcard {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

// Lower-case hex without separators.
std::string to_hex(ByteView data);

// Accepts upper or lower case, ignores spaces and colons; throws std::invalid_argument.
Bytes from_hex(std::string_view text);

void append(Bytes& out, ByteView in);

// Overwrites the bytes (OPENSSL_cleanse) and empties the vector.
void wipe(Bytes& data);

// Owns bytes that may hold secrets (PINs, keys, chained command data); wiped on destruction.
class SecretBytes {
  public:
    SecretBytes() = default;
    explicit SecretBytes(Bytes data) : data_(std::move(data)) {}
    SecretBytes(const SecretBytes&) = delete;
    SecretBytes& operator=(const SecretBytes&) = delete;
    SecretBytes(SecretBytes&& other) noexcept : data_(std::move(other.data_)) {}
    SecretBytes& operator=(SecretBytes&& other) noexcept;
    ~SecretBytes() { wipe(data_); }

    Bytes& get() { return data_; }
    const Bytes& get() const { return data_; }

  private:
    Bytes data_;
};

}  // namespace tk::vcard
