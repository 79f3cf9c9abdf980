#pragma once

// Windows headers for the service: Windows 10 API level, no min/max macros.
#ifndef _WIN32_WINNT
#define _WIN32_WINNT 0x0A00
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <string>
#include <string_view>

namespace tk::winsvc {

inline constexpr const wchar_t* kServiceName = L"TenderKey";
inline constexpr const wchar_t* kDisplayName = L"TenderKey smart-card daemon";
inline constexpr const wchar_t* kDescription =
    L"Lets allow-listed procurement portals use the PIV smart card in a reader over a "
    L"WebSocket API on loopback (127.0.0.1 and ::1 only).";
// The event source the service logs under (Application log).
inline constexpr const wchar_t* kEventSource = L"TenderKey";

// UTF-8 <-> UTF-16 for the Win32 W functions.
inline std::wstring widen(std::string_view text) {
    if (text.empty()) {
        return {};
    }
    const int size =
        MultiByteToWideChar(CP_UTF8, 0, text.data(), static_cast<int>(text.size()), nullptr, 0);
    std::wstring wide(static_cast<std::size_t>(size), L'\0');
    MultiByteToWideChar(CP_UTF8, 0, text.data(), static_cast<int>(text.size()), wide.data(), size);
    return wide;
}

inline std::string narrow(std::wstring_view text) {
    if (text.empty()) {
        return {};
    }
    const int size = WideCharToMultiByte(CP_UTF8, 0, text.data(), static_cast<int>(text.size()),
                                         nullptr, 0, nullptr, nullptr);
    std::string bytes(static_cast<std::size_t>(size), '\0');
    WideCharToMultiByte(CP_UTF8, 0, text.data(), static_cast<int>(text.size()), bytes.data(), size,
                        nullptr, nullptr);
    return bytes;
}

// An exclusively held SRW lock for the scope.
class SrwGuard {
  public:
    explicit SrwGuard(SRWLOCK& lock) : lock_(lock) { AcquireSRWLockExclusive(&lock_); }
    ~SrwGuard() { ReleaseSRWLockExclusive(&lock_); }
    SrwGuard(const SrwGuard&) = delete;
    SrwGuard& operator=(const SrwGuard&) = delete;

  private:
    SRWLOCK& lock_;
};

// "what failed: <system message> (code)"
inline std::wstring lastErrorText(std::wstring_view what, DWORD code = GetLastError()) {
    wchar_t* buffer = nullptr;
    const DWORD length = FormatMessageW(
        FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
        nullptr, code, 0, reinterpret_cast<wchar_t*>(&buffer), 0, nullptr);
    std::wstring message(what);
    message += L": ";
    if (length > 0 && buffer != nullptr) {
        std::wstring text(buffer, length);
        while (!text.empty() && (text.back() == L'\n' || text.back() == L'\r')) {
            text.pop_back();
        }
        message += text;
    }
    if (buffer != nullptr) {
        LocalFree(buffer);
    }
    message += L" (" + std::to_wstring(code) + L")";
    return message;
}

}  // namespace tk::winsvc
