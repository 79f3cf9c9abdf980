// The tool's file input and output on Windows (files.hpp; files_posix.cpp is the POSIX side).
// Binary throughout: a signature or ciphertext must not meet text-mode line-end translation.
#include <windows.h>
// The security descriptor helpers need the declarations of windows.h first.
#include <aclapi.h>
#include <sddl.h>

#include <algorithm>
#include <string>

#include "cli/exit_status.hpp"
#include "cli/files.hpp"
#include "cli/windows_text.hpp"

namespace tk::cli {
namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path) {
    const DWORD code = ::GetLastError();
    detail::throwFileError(what, path, describeError(code));
}

std::wstring widen(const std::string& path) {
    if (path.empty()) {
        return {};
    }
    const int length = ::MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path.data(),
                                             static_cast<int>(path.size()), nullptr, 0);
    if (length <= 0) {
        throw FileError("not a valid UTF-8 file name: " + path);
    }
    std::wstring wide(static_cast<std::size_t>(length), L'\0');
    ::MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path.data(), static_cast<int>(path.size()),
                          wide.data(), length);
    return wide;
}

// Closes a handle it opened (not standard input or output).
class Handle {
  public:
    Handle(HANDLE handle, bool owned) noexcept : handle_(handle), owned_(owned) {}
    ~Handle() {
        if (owned_ && handle_ != INVALID_HANDLE_VALUE) {
            ::CloseHandle(handle_);
        }
    }
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    Handle(Handle&&) = delete;
    Handle& operator=(Handle&&) = delete;

    HANDLE get() const noexcept { return handle_; }
    bool valid() const noexcept { return handle_ != INVALID_HANDLE_VALUE && handle_ != nullptr; }
    // Closes now and reports a failure.
    bool close() noexcept {
        const bool ok = !owned_ || ::CloseHandle(handle_) != 0;
        owned_ = false;
        return ok;
    }

  private:
    HANDLE handle_;
    bool owned_;
};

// Shared like a POSIX open: another program writing or renaming the file does not stop the read.
HANDLE openForReading(const std::string& path) {
    return ::CreateFileW(widen(path).c_str(), GENERIC_READ,
                         FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                         OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
}

// The POSIX side's mode 0600: a protected DACL granting full access to the file's owner only
// (OW, the owner-rights principal) and to the system account; inherited entries are dropped.
void restrictToOwner(HANDLE file, const std::string& path) {
    PSECURITY_DESCRIPTOR descriptor = nullptr;
    if (::ConvertStringSecurityDescriptorToSecurityDescriptorW(
            L"D:P(A;;FA;;;OW)(A;;FA;;;SY)", SDDL_REVISION_1, &descriptor, nullptr) == 0) {
        fail("cannot restrict access to", path);
    }
    BOOL present = FALSE;
    BOOL defaulted = FALSE;
    PACL dacl = nullptr;
    ::GetSecurityDescriptorDacl(descriptor, &present, &dacl, &defaulted);
    const DWORD result = ::SetSecurityInfo(
        file, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
        nullptr, nullptr, dacl, nullptr);
    ::LocalFree(descriptor);
    if (result != ERROR_SUCCESS) {
        ::SetLastError(result);
        fail("cannot restrict access to", path);
    }
}

// Up to `size` bytes of `file`; 0 at the end. The writing end of a pipe closing ends the input
// where `pipeEndsInput`.
std::size_t readSome(HANDLE file, std::uint8_t* buffer, std::size_t size, const std::string& path,
                     bool pipeEndsInput) {
    DWORD n = 0;
    if (::ReadFile(file, buffer, static_cast<DWORD>(size), &n, nullptr) == 0) {
        if (pipeEndsInput && ::GetLastError() == ERROR_BROKEN_PIPE) {
            return 0;
        }
        fail("cannot read", path);
    }
    return n;
}

}  // namespace

card::Bytes readFile(const std::string& path) {
    const bool standard = path == "-";
    const Handle file(standard ? ::GetStdHandle(STD_INPUT_HANDLE) : openForReading(path),
                      !standard);
    if (!file.valid()) {
        fail("cannot open", path);
    }
    return detail::readToEnd([&](std::uint8_t* buffer, std::size_t size) {
        return readSome(file.get(), buffer, size, path, true);
    });
}

void writeFile(const std::string& path, card::ByteView contents, bool secret) {
    const bool standard = path == "-";
    const DWORD access = GENERIC_WRITE | (secret ? WRITE_DAC : 0);
    Handle file(standard ? ::GetStdHandle(STD_OUTPUT_HANDLE)
                         : ::CreateFileW(widen(path).c_str(), access, 0, nullptr, CREATE_ALWAYS,
                                         FILE_ATTRIBUTE_NORMAL, nullptr),
                !standard);
    if (!file.valid()) {
        fail("cannot create", path);
    }
    if (secret && !standard) {
        restrictToOwner(file.get(), path);
    }
    std::size_t written = 0;
    while (written < contents.size()) {
        const DWORD chunk =
            static_cast<DWORD>(std::min<std::size_t>(contents.size() - written, 1U << 20));
        DWORD n = 0;
        if (::WriteFile(file.get(), contents.data() + written, chunk, &n, nullptr) == 0) {
            fail("cannot write", path);
        }
        written += n;
    }
    if (!file.close()) {
        fail("cannot write", path);
    }
}

card::SecureBytes readSecretFile(const std::string& path) {
    const Handle file(openForReading(path), true);
    if (!file.valid()) {
        fail("cannot open", path);
    }
    return detail::readFirstLine([&](std::uint8_t* buffer, std::size_t size) {
        return readSome(file.get(), buffer, size, path, false);
    });
}

}  // namespace tk::cli
