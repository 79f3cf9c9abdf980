#include "main/access_policy.hpp"

#include <openssl/evp.h>

#include <array>
#include <cctype>
#include <stdexcept>

namespace tk::daemon {

namespace {

bool trusted(const std::string& sid, bool serviceWrites) {
    return sid == kSidSystem || sid == kSidAdministrators || sid == kSidTrustedInstaller ||
           (serviceWrites && sid == serviceSid(kServiceName));
}

}  // namespace

std::string serviceSid(const std::string& name) {
    std::string utf16;
    for (const char c : name) {
        utf16 += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        utf16 += '\0';
    }
    std::array<unsigned char, 20> digest{};
    unsigned int length = 0;
    if (EVP_Digest(utf16.data(), utf16.size(), digest.data(), &length, EVP_sha1(), nullptr) != 1 ||
        length != digest.size()) {
        throw std::runtime_error("SHA-1 failed");
    }
    std::string sid = "S-1-5-80";
    for (std::size_t i = 0; i < digest.size(); i += 4) {
        const std::uint32_t part = static_cast<std::uint32_t>(digest[i]) |
                                   static_cast<std::uint32_t>(digest[i + 1]) << 8 |
                                   static_cast<std::uint32_t>(digest[i + 2]) << 16 |
                                   static_cast<std::uint32_t>(digest[i + 3]) << 24;
        sid += "-" + std::to_string(part);
    }
    return sid;
}

std::optional<std::string> untrustedWriter(const SecurityInfo& info, bool serviceWrites) {
    if (!trusted(info.ownerSid, false)) {
        return "it is owned by " + info.ownerSid + ", who may change its access";
    }
    if (!info.hasDacl) {
        return std::string("it has no access list (everyone may write it)");
    }
    for (const AccessEntry& entry : info.dacl) {
        if (entry.allow && (entry.mask & kWriteRights) != 0 && !trusted(entry.sid, serviceWrites)) {
            return entry.sid + " may write it";
        }
    }
    return std::nullopt;
}

}  // namespace tk::daemon
