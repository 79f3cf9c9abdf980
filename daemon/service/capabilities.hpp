#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace tk::service {

enum class Capability : std::uint8_t {
    Read = 1,      // system.info, readers.list, certificates.list, events.subscribe, pin.status
    Sign = 2,      // sign
    Decrypt = 4,   // decrypt
    Register = 8,  // register
    Manage = 16,   // pin.verify, pin.change, pin.unblock, puk.change; lastAttempt honoured
    // A raw signature (sign, format "raw") with a key that both signs and registers: such a
    // signature could be another origin's registration token. Never a default; only an
    // administrator's configuration grants it. Checked by the sign method once its parameters
    // are read (the one check outside the method table's order).
    SignRaw = 32,
    // `sign` with format "cms" only: what a user's consent grants to an origin the
    // administrator did not list (a CMS signature signs its own signed attributes and cannot
    // pass for a registration token or a signature over a page's chosen digest of something
    // else). Checked by the server for `sign` without `sign`, and by the sign method once it
    // knows the format.
    SignCms = 64,
};

// A set of capabilities, as granted to one origin.
class Capabilities {
  public:
    constexpr Capabilities() = default;
    constexpr explicit Capabilities(std::uint8_t bits) : bits_(bits) {}

    // read, sign, decrypt, register: what an allow-list entry gets without an explicit set.
    static constexpr Capabilities defaults() { return Capabilities(1 | 2 | 4 | 8); }
    static constexpr Capabilities all() { return Capabilities(127); }
    // What a user's consent in the bridge window grants: read, register, sign-cms.
    static constexpr Capabilities consented() { return Capabilities(1 | 8 | 64); }

    constexpr bool has(Capability c) const { return (bits_ & static_cast<std::uint8_t>(c)) != 0; }
    constexpr void add(Capability c) { bits_ |= static_cast<std::uint8_t>(c); }
    constexpr std::uint8_t bits() const { return bits_; }
    constexpr bool operator==(const Capabilities&) const = default;

  private:
    std::uint8_t bits_ = 0;
};

// "read" -> Capability::Read, ...; nullopt for an unknown name.
std::optional<Capability> capabilityFromName(std::string_view name);
std::string_view capabilityName(Capability c);

// An API method and the capability an origin needs to call it. The one table of methods: the
// server reads it to answer METHOD_NOT_FOUND / NOT_PERMITTED before a request queues, the
// service to dispatch.
struct MethodInfo {
    std::string_view name;
    Capability capability;
};

// Whether `capabilities` admit a request of `method` before its parameters are read: its own
// capability, or for `sign` also sign-cms (the sign method then refuses every format but cms).
bool admits(const Capabilities& capabilities, const MethodInfo& method) noexcept;

std::span<const MethodInfo> apiMethods() noexcept;
// nullptr for a name that is not a method of the API.
const MethodInfo* findMethod(std::string_view name) noexcept;

}  // namespace tk::service
