// The configuration file's edit lock and atomic replacement on Windows (config_file.hpp;
// config_file_posix.cpp is the POSIX side). Editors exclude each other with a byte-range lock on
// a companion "<file>.lock" (the daemon and the loader go on reading the file itself); the new text
// goes to a temporary file in the same directory, takes the original's DACL, is flushed, and
// replaces the original with MoveFileExW (REPLACE_EXISTING | WRITE_THROUGH).
#include <windows.h>
// The security helpers need the declarations of windows.h first.
#include <aclapi.h>

#include <string>

#include "cli/config_file.hpp"
#include "cli/exit_status.hpp"
#include "cli/windows_text.hpp"

namespace tk::cli {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const std::string& what, DWORD code = ::GetLastError()) {
    throw FileError(what + ": " + describeError(code));
}

class Handle {
  public:
    explicit Handle(HANDLE handle = INVALID_HANDLE_VALUE) noexcept : handle_(handle) {}
    ~Handle() { reset(); }
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    Handle(Handle&&) = delete;
    Handle& operator=(Handle&&) = delete;

    HANDLE get() const noexcept { return handle_; }
    bool valid() const noexcept { return handle_ != INVALID_HANDLE_VALUE; }
    void reset(HANDLE handle = INVALID_HANDLE_VALUE) noexcept {
        if (valid()) {
            ::CloseHandle(handle_);
        }
        handle_ = handle;
    }

  private:
    HANDLE handle_;
};

HANDLE openShared(const fs::path& path, DWORD access) {
    return ::CreateFileW(path.wstring().c_str(), access,
                         FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                         OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
}

// The temporary file of an edit: removed unless it replaced the original.
class TemporaryFile {
  public:
    explicit TemporaryFile(const fs::path& target) {
        wchar_t name[MAX_PATH + 1] = {};
        if (::GetTempFileNameW(target.parent_path().wstring().c_str(), L"tk", 0, name) == 0) {
            fail("cannot create a temporary file in " + target.parent_path().string());
        }
        path_ = fs::path(name);
    }
    ~TemporaryFile() {
        if (!committed_) {
            ::DeleteFileW(path_.wstring().c_str());
        }
    }
    TemporaryFile(const TemporaryFile&) = delete;
    TemporaryFile& operator=(const TemporaryFile&) = delete;
    TemporaryFile(TemporaryFile&&) = delete;
    TemporaryFile& operator=(TemporaryFile&&) = delete;

    const fs::path& path() const noexcept { return path_; }
    void commit() noexcept { committed_ = true; }

  private:
    fs::path path_;
    bool committed_ = false;
};

// Gives `to` the DACL of `from`, protected or inheriting as the original is.
void copyDacl(HANDLE from, HANDLE to, const std::string& what) {
    PACL dacl = nullptr;
    PSECURITY_DESCRIPTOR descriptor = nullptr;
    DWORD result = ::GetSecurityInfo(from, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION, nullptr,
                                     nullptr, &dacl, nullptr, &descriptor);
    if (result != ERROR_SUCCESS) {
        fail("cannot read the permissions of " + what, result);
    }
    SECURITY_DESCRIPTOR_CONTROL control = 0;
    DWORD revision = 0;
    ::GetSecurityDescriptorControl(descriptor, &control, &revision);
    const SECURITY_INFORMATION flags =
        DACL_SECURITY_INFORMATION |
        ((control & SE_DACL_PROTECTED) != 0 ? PROTECTED_DACL_SECURITY_INFORMATION
                                            : UNPROTECTED_DACL_SECURITY_INFORMATION);
    result = ::SetSecurityInfo(to, SE_FILE_OBJECT, flags, nullptr, nullptr, dacl, nullptr);
    ::LocalFree(descriptor);
    if (result != ERROR_SUCCESS) {
        fail("cannot give the temporary file the permissions of " + what, result);
    }
}

}  // namespace

struct LockedConfigFile::State {
    fs::path path;
    Handle lock;
    std::string text;
};

LockedConfigFile::LockedConfigFile(const fs::path& path) : state_(std::make_unique<State>()) {
    state_->path = path;
    const std::string name = path.string();
    // A file cannot be replaced while a handle to it is open, so the lock lives in a companion
    // file that stays in place across replacements: "<name>.lock", left behind empty.
    fs::path lockPath = path;
    lockPath += ".lock";
    state_->lock.reset(::CreateFileW(lockPath.wstring().c_str(), GENERIC_READ | GENERIC_WRITE,
                                     FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                                     nullptr, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr));
    if (!state_->lock.valid()) {
        fail("cannot open " + lockPath.string());
    }
    OVERLAPPED range{};
    if (::LockFileEx(state_->lock.get(), LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY, 0, 1,
                     0, &range) == 0) {
        const DWORD code = ::GetLastError();
        if (code == ERROR_LOCK_VIOLATION || code == ERROR_IO_PENDING) {
            throw ConfigBusy(name +
                             " is being edited by another process; try again when it is done");
        }
        fail("cannot lock " + name, code);
    }
    const Handle file(openShared(path, GENERIC_READ));
    if (!file.valid()) {
        fail("cannot open " + name);
    }
    char buffer[8192];
    while (true) {
        DWORD n = 0;
        if (::ReadFile(file.get(), buffer, sizeof buffer, &n, nullptr) == 0) {
            fail("cannot read " + name);
        }
        if (n == 0) {
            break;
        }
        state_->text.append(buffer, n);
    }
}

LockedConfigFile::~LockedConfigFile() = default;

const std::string& LockedConfigFile::text() const noexcept {
    return state_->text;
}

void LockedConfigFile::replace(const std::string& text,
                               const std::function<void(const std::string&)>& check) {
    const std::string name = state_->path.string();
    TemporaryFile temporary(state_->path);
    const std::string temporaryName = temporary.path().string();
    {
        const Handle out(::CreateFileW(temporary.path().wstring().c_str(),
                                       GENERIC_WRITE | WRITE_DAC, 0, nullptr, TRUNCATE_EXISTING,
                                       FILE_ATTRIBUTE_NORMAL, nullptr));
        if (!out.valid()) {
            fail("cannot open " + temporaryName);
        }
        std::size_t done = 0;
        while (done < text.size()) {
            DWORD n = 0;
            if (::WriteFile(out.get(), text.data() + done, static_cast<DWORD>(text.size() - done),
                            &n, nullptr) == 0) {
                fail("cannot write " + temporaryName);
            }
            done += n;
        }
        const Handle original(openShared(state_->path, READ_CONTROL));
        if (!original.valid()) {
            fail("cannot open " + name);
        }
        copyDacl(original.get(), out.get(), name);
        if (::FlushFileBuffers(out.get()) == 0) {
            fail("cannot write " + temporaryName);
        }
    }
    check(temporaryName);
    if (::MoveFileExW(temporary.path().wstring().c_str(), state_->path.wstring().c_str(),
                      MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH) == 0) {
        fail("cannot replace " + name);
    }
    temporary.commit();
}

}  // namespace tk::cli
