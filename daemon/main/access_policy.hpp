#pragma once

// Who may change tenderkeyd's configuration and state on Windows: the decision on one file's
// or folder's owner and access list (its DACL, as SID strings and access masks), apart from
// the Win32 calls that read them (main/windows_paths.cpp), so it is tested on every platform.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tk::daemon {

inline constexpr const char* kSidSystem = "S-1-5-18";
inline constexpr const char* kSidAdministrators = "S-1-5-32-544";
inline constexpr const char* kSidLocalService = "S-1-5-19";
// The service's name in the Service Control Manager.
inline constexpr const char* kServiceName = "TenderKey";
inline constexpr const char* kSidTrustedInstaller =
    "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464";

// The rights that change a file or a folder's contents, its access list or its owner:
// FILE_WRITE_DATA (= FILE_ADD_FILE), FILE_APPEND_DATA (= FILE_ADD_SUBDIRECTORY),
// FILE_WRITE_EA, FILE_DELETE_CHILD, FILE_WRITE_ATTRIBUTES, DELETE, WRITE_DAC, WRITE_OWNER,
// GENERIC_WRITE, GENERIC_ALL.
inline constexpr std::uint32_t kWriteRights =
    0x2 | 0x4 | 0x10 | 0x40 | 0x100 | 0x10000 | 0x40000 | 0x80000 | 0x40000000 | 0x10000000;

struct AccessEntry {
    std::string sid;
    bool allow = true;  // ACCESS_ALLOWED_ACE; false: ACCESS_DENIED_ACE (ignored: deny never
                        // makes a grant elsewhere safe to overlook)
    std::uint32_t mask = 0;
};

struct SecurityInfo {
    std::string ownerSid;
    bool hasDacl = true;  // false: a NULL DACL, which grants everyone everything
    std::vector<AccessEntry> dacl;
};

// The SID Windows gives the service `name` ("NT SERVICE\name"): S-1-5-80- and the SHA-1 of
// the upper-case name in UTF-16LE as five little-endian 32-bit numbers. The service runs as
// LocalService with a restricted service SID (SERVICE_SID_TYPE_RESTRICTED), so it may write
// only where this SID may: the access lists of state\ and logs\ name it. ASCII names only.
std::string serviceSid(const std::string& name);

// Nothing when only SYSTEM, Administrators, TrustedInstaller and — when `serviceWrites` — the
// service (serviceSid(kServiceName)) own and may write it; otherwise what is wrong, e.g.
// "S-1-5-32-545 may write it". Inherit-only entries count too: they decide who may write the
// files created in a folder later (this is how %ProgramData%'s default CREATOR OWNER entry
// lets any user own what they create).
std::optional<std::string> untrustedWriter(const SecurityInfo& info, bool serviceWrites);

}  // namespace tk::daemon
