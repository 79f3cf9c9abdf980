// StateDirectory on Windows. Who may write the folder is decided by its access list, which the
// service's install step sets (SYSTEM, Administrators and the service's own SID) and which
// tenderkeyd checks for the folder and every file in it at each start, refusing to run when
// anyone else could write them (main/windows_paths.cpp). So this file only keeps documents
// whole: a temporary file, flushed, then moved over the old one with write-through.
#include "service/state/state_directory.hpp"

#include <windows.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <string>
#include <system_error>

#include "service/state/state_limits.hpp"

namespace tk::service::state {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const fs::path& path, const std::string& what) {
    throw StateError("state directory: " + path.string() + ": " + what);
}

[[noreturn]] void failLastError(const fs::path& path, const std::string& what) {
    const auto error = static_cast<int>(::GetLastError());
    fail(path, what + ": " + std::system_category().message(error));
}

std::optional<std::string> environment(const char* name) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') {
        return std::nullopt;
    }
    return std::string(value);
}

// Closes a Win32 handle when it goes out of scope.
class Handle {
  public:
    explicit Handle(HANDLE handle) noexcept : handle_(handle) {}
    ~Handle() {
        if (handle_ != INVALID_HANDLE_VALUE) {
            ::CloseHandle(handle_);
        }
    }
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    Handle(Handle&&) = delete;
    Handle& operator=(Handle&&) = delete;

    HANDLE get() const noexcept { return handle_; }
    bool close() noexcept {
        const bool closed = ::CloseHandle(handle_) != 0;
        handle_ = INVALID_HANDLE_VALUE;
        return closed;
    }

  private:
    HANDLE handle_;
};

}  // namespace

fs::path resolveStateDirectory(const std::optional<std::string>& configured) {
    if (const auto fromEnvironment = environment("STATE_DIRECTORY")) {
        return fs::path(*fromEnvironment);
    }
    if (configured && !configured->empty()) {
        return fs::path(*configured);
    }
    if (const auto programData = environment("ProgramData")) {
        return fs::path(*programData) / "TenderKey" / "state";
    }
    throw StateError(
        "state directory: neither STATE_DIRECTORY, state_directory in the configuration nor "
        "%ProgramData% is set");
}

StateDirectory StateDirectory::open(const fs::path& path) {
    if (!path.is_absolute()) {
        fail(path, "must be an absolute path");
    }
    std::error_code error;
    fs::create_directories(path, error);
    if (error) {
        fail(path, "cannot create: " + error.message());
    }
    const DWORD attributes = ::GetFileAttributesW(path.c_str());
    if (attributes == INVALID_FILE_ATTRIBUTES) {
        failLastError(path, "cannot read");
    }
    if ((attributes & FILE_ATTRIBUTE_DIRECTORY) == 0 ||
        (attributes & FILE_ATTRIBUTE_REPARSE_POINT) != 0) {
        fail(path, "is not a directory");
    }
    return StateDirectory(path);
}

std::optional<std::string> StateDirectory::read(std::string_view name) const {
    checkDocumentName(name);
    const fs::path file = path_ / std::string(name);
    const DWORD attributes = ::GetFileAttributesW(file.c_str());
    if (attributes == INVALID_FILE_ATTRIBUTES) {
        const DWORD error = ::GetLastError();
        if (error == ERROR_FILE_NOT_FOUND || error == ERROR_PATH_NOT_FOUND) {
            return std::nullopt;
        }
        failLastError(file, "cannot open");
    }
    if ((attributes & (FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_REPARSE_POINT)) != 0) {
        fail(file, "is not a regular file");
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        fail(file, "cannot open");
    }
    std::string text;
    char buffer[4096];
    while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
        text.append(buffer, static_cast<std::size_t>(in.gcount()));
        if (text.size() > kMaxDocumentBytes) {
            fail(file, "is larger than " + std::to_string(kMaxDocumentBytes) + " bytes");
        }
    }
    if (in.bad()) {
        fail(file, "cannot read");
    }
    return text;
}

void StateDirectory::write(std::string_view name, std::string_view contents) const {
    checkDocumentName(name);
    if (contents.size() > kMaxDocumentBytes) {
        throw std::invalid_argument("state document \"" + std::string(name) + "\" is larger than " +
                                    std::to_string(kMaxDocumentBytes) + " bytes");
    }
    static std::atomic<unsigned long> counter{0};
    const fs::path target = path_ / std::string(name);
    const fs::path temporary =
        path_ / ("." + std::string(name) + "." + std::to_string(::GetCurrentProcessId()) + "." +
                 std::to_string(++counter) + ".tmp");
    // The new file inherits the folder's access list (set at install).
    Handle file(::CreateFileW(temporary.c_str(), GENERIC_WRITE, 0, nullptr, CREATE_NEW,
                              FILE_ATTRIBUTE_NORMAL, nullptr));
    if (file.get() == INVALID_HANDLE_VALUE) {
        failLastError(temporary, "cannot create");
    }
    const auto discard = [&temporary](const std::string& what) {
        const DWORD error = ::GetLastError();
        ::DeleteFileW(temporary.c_str());
        ::SetLastError(error);
        failLastError(temporary, what);
    };
    std::size_t written = 0;
    while (written < contents.size()) {
        DWORD put = 0;
        const auto chunk = static_cast<DWORD>(
            std::min<std::size_t>(contents.size() - written, std::size_t{1} << 20));
        if (::WriteFile(file.get(), contents.data() + written, chunk, &put, nullptr) == 0) {
            discard("cannot write");
        }
        written += put;
    }
    if (::FlushFileBuffers(file.get()) == 0) {
        discard("cannot flush");
    }
    if (!file.close()) {
        discard("cannot close");
    }
    if (::MoveFileExW(temporary.c_str(), target.c_str(),
                      MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH) == 0) {
        discard("cannot replace " + target.string());
    }
}

}  // namespace tk::service::state
