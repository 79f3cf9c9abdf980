#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "bytes.hpp"
#include "card_crypto.hpp"

namespace tk::vcard {

// When a key's use needs the PIN (Yubico PIN policy values in tag AA).
enum class PinPolicy : std::uint8_t { Never = 1, Once = 2, Always = 3 };

// Key references of the asymmetric slots.
namespace slot {
constexpr std::uint8_t kAuthentication = 0x9A;
constexpr std::uint8_t kManagement = 0x9B;
constexpr std::uint8_t kSignature = 0x9C;
constexpr std::uint8_t kKeyManagement = 0x9D;
constexpr std::uint8_t kCardAuthentication = 0x9E;
constexpr std::uint8_t kRetiredFirst = 0x82;
constexpr std::uint8_t kRetiredLast = 0x95;

bool is_asymmetric(std::uint8_t ref);
PinPolicy default_pin_policy(std::uint8_t ref);
// GET/PUT DATA tag of the certificate container that belongs to an asymmetric slot.
std::uint32_t certificate_object(std::uint8_t ref);
}  // namespace slot

// Data object tags (SP 800-73-4 Part 1 Table 3).
namespace object {
constexpr std::uint32_t kCardCapabilityContainer = 0x5FC107;
constexpr std::uint32_t kChuid = 0x5FC102;
constexpr std::uint32_t kCertAuthentication = 0x5FC105;
constexpr std::uint32_t kCertSignature = 0x5FC10A;
constexpr std::uint32_t kCertKeyManagement = 0x5FC10B;
constexpr std::uint32_t kCertCardAuthentication = 0x5FC101;
constexpr std::uint32_t kKeyHistory = 0x5FC10C;
constexpr std::uint32_t kRetiredCertFirst = 0x5FC10D;
constexpr std::uint32_t kDiscovery = 0x7E;
constexpr std::uint32_t kBiometricGroupTemplate = 0x7F61;
}  // namespace object

struct SlotKey {
    std::uint8_t algorithm = 0;
    Pkey key;
    PinPolicy pin_policy = PinPolicy::Once;
    std::uint8_t touch_policy = 0;  // accepted and stored, never enforced
};

// Everything a card keeps across power cycles. Saved as JSON (keys as PEM).
struct CardState {
    static constexpr std::size_t kReferenceBytes = 8;

    std::uint32_t serial = 0;
    Bytes pin;  // 8-byte reference data, FF padded
    Bytes puk;
    int pin_tries_max = 3;
    int pin_tries_left = 3;
    int puk_tries_max = 3;
    int puk_tries_left = 3;
    std::uint8_t management_algorithm = alg::k3Des;
    Bytes management_key;
    std::map<std::uint8_t, SlotKey> keys;
    std::map<std::uint32_t, Bytes> objects;  // contents without the outer 53/7E tag

    CardState() = default;
    CardState(const CardState&) = delete;
    CardState& operator=(const CardState&) = delete;
    CardState(CardState&&) noexcept = default;
    CardState& operator=(CardState&&) noexcept = default;
    ~CardState();

    nlohmann::json to_json() const;
    static CardState from_json(const nlohmann::json& j);  // throws std::runtime_error
    CardState clone() const;

    // Writes a temporary file next to `path`, fsyncs it and renames it over `path` (mode 0600).
    void save(const std::filesystem::path& path) const;
    static CardState load(const std::filesystem::path& path);
};

// "123456" -> 31 32 33 34 35 36 FF FF; throws std::invalid_argument when longer than 8 bytes.
Bytes pad_reference(std::string_view text);

// Writes `text` to `path` atomically (temporary file, fsync, rename) with the given mode.
void write_file_atomically(const std::filesystem::path& path, std::string_view text, unsigned mode);

}  // namespace tk::vcard
