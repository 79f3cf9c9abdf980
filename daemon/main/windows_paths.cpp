// Windows only (daemon/main/CMakeLists.txt): the data folders and their access lists.
#include "main/windows_paths.hpp"

// clang-format off
#include <windows.h>
#include <aclapi.h>
#include <sddl.h>
#include <shlobj.h>
// clang-format on

#include <filesystem>
#include <memory>
#include <vector>

#include "main/access_policy.hpp"

namespace tk::daemon {

namespace {

std::string utf8(const std::wstring& text) {
    if (text.empty()) {
        return {};
    }
    const int length = static_cast<int>(text.size());
    const int size =
        WideCharToMultiByte(CP_UTF8, 0, text.data(), length, nullptr, 0, nullptr, nullptr);
    std::string out(static_cast<std::size_t>(size > 0 ? size : 0), '\0');
    WideCharToMultiByte(CP_UTF8, 0, text.data(), length, out.data(), size, nullptr, nullptr);
    return out;
}

std::wstring wide(const std::string& text) {
    return std::filesystem::u8path(text).wstring();
}

std::string sidString(PSID sid) {
    LPWSTR text = nullptr;
    if (sid == nullptr || !ConvertSidToStringSidW(sid, &text)) {
        return "an unknown account";
    }
    std::string out = utf8(text);
    LocalFree(text);
    return out;
}

std::string lastError(const std::string& what, DWORD error) {
    return what + ": Windows error " + std::to_string(error);
}

// Owner Administrators; the access list protected (nothing inherited from %ProgramData%):
// SYSTEM and Administrators full control, Users read. state\ and logs\: the service's SID
// may modify (0x1301bf: read, write, delete; not WRITE_DAC or WRITE_OWNER) instead of Users
// reading. Files made inside inherit the folder's list.
const std::wstring kConfigSddl = L"O:BAG:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FRFX;;;BU)";

std::wstring serviceSddl() {
    return L"O:BAG:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1301bf;;;" +
           wide(serviceSid(kServiceName)) + L")";
}

void applySddl(const std::string& path, const std::wstring& sddl) {
    PSECURITY_DESCRIPTOR descriptor = nullptr;
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl.c_str(), SDDL_REVISION_1,
                                                              &descriptor, nullptr)) {
        throw AccessError(lastError("cannot build the access list for " + path, GetLastError()));
    }
    const std::unique_ptr<void, decltype(&LocalFree)> owned(descriptor, &LocalFree);
    BOOL present = FALSE;
    BOOL defaulted = FALSE;
    PACL dacl = nullptr;
    PSID owner = nullptr;
    GetSecurityDescriptorDacl(descriptor, &present, &dacl, &defaulted);
    GetSecurityDescriptorOwner(descriptor, &owner, &defaulted);
    std::wstring name = wide(path);
    const DWORD error =
        SetNamedSecurityInfoW(name.data(), SE_FILE_OBJECT,
                              OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION |
                                  PROTECTED_DACL_SECURITY_INFORMATION,
                              owner, nullptr, dacl, nullptr);
    if (error != ERROR_SUCCESS) {
        throw AccessError(lastError("cannot set the access list of " + path, error));
    }
}

SecurityInfo readSecurity(const std::string& path) {
    PSID owner = nullptr;
    PACL dacl = nullptr;
    PSECURITY_DESCRIPTOR descriptor = nullptr;
    std::wstring name = wide(path);
    const DWORD error = GetNamedSecurityInfoW(
        name.data(), SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, &owner,
        nullptr, &dacl, nullptr, &descriptor);
    if (error != ERROR_SUCCESS) {
        throw AccessError(lastError("cannot read the access list of " + path, error));
    }
    const std::unique_ptr<void, decltype(&LocalFree)> owned(descriptor, &LocalFree);
    SecurityInfo info;
    info.ownerSid = sidString(owner);
    info.hasDacl = dacl != nullptr;
    if (dacl != nullptr) {
        for (DWORD i = 0; i < dacl->AceCount; ++i) {
            void* ace = nullptr;
            if (!GetAce(dacl, i, &ace)) {
                continue;
            }
            const auto* header = static_cast<const ACE_HEADER*>(ace);
            if (header->AceType == ACCESS_ALLOWED_ACE_TYPE) {
                auto* allowed = static_cast<ACCESS_ALLOWED_ACE*>(ace);
                info.dacl.push_back({sidString(&allowed->SidStart), true, allowed->Mask});
            } else if (header->AceType == ACCESS_DENIED_ACE_TYPE) {
                auto* denied = static_cast<ACCESS_DENIED_ACE*>(ace);
                info.dacl.push_back({sidString(&denied->SidStart), false, denied->Mask});
            }
        }
    }
    return info;
}

void check(const std::string& path, bool serviceWrites) {
    std::error_code missing;
    if (!std::filesystem::exists(std::filesystem::u8path(path), missing)) {
        return;
    }
    if (const auto problem = untrustedWriter(readSecurity(path), serviceWrites)) {
        throw AccessError(
            path + " is refused: " + *problem + "; only SYSTEM" +
            (serviceWrites ? ", Administrators and the TenderKey service" : " and Administrators") +
            " may write it (run \"tenderkeyd-service install\" as an "
            "administrator to set the access lists again)");
    }
}

}  // namespace

std::string configDirectory() {
    PWSTR folder = nullptr;
    std::string base = "C:\\ProgramData";
    if (SHGetKnownFolderPath(FOLDERID_ProgramData, 0, nullptr, &folder) == S_OK) {
        base = utf8(folder);
    }
    CoTaskMemFree(folder);
    return base + "\\TenderKey";
}

std::string stateDirectory() {
    return configDirectory() + "\\state";
}

std::string logDirectory() {
    return configDirectory() + "\\logs";
}

void secureDataDirectories() {
    for (const std::string& dir : {configDirectory(), stateDirectory(), logDirectory()}) {
        std::error_code error;
        std::filesystem::create_directories(std::filesystem::u8path(dir), error);
        if (error) {
            throw AccessError("cannot create " + dir + ": " + error.message());
        }
    }
    applySddl(configDirectory(), kConfigSddl);
    applySddl(stateDirectory(), serviceSddl());
    applySddl(logDirectory(), serviceSddl());
}

void checkDataAccess(const std::string& configPath) {
    check(configDirectory(), false);
    check(configPath, false);
    for (const std::string& dir : {stateDirectory(), logDirectory()}) {
        check(dir, true);
        std::error_code error;
        for (const auto& entry :
             std::filesystem::directory_iterator(std::filesystem::u8path(dir), error)) {
            check(utf8(entry.path().wstring()), true);
        }
    }
}

}  // namespace tk::daemon
