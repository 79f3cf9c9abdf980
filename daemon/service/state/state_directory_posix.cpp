// StateDirectory on POSIX systems: owner and mode checked on every open and read.
#include "service/state/state_directory.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "service/state/state_limits.hpp"

namespace tk::service::state {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const fs::path& path, const std::string& what) {
    throw StateError("state directory: " + path.string() + ": " + what);
}

[[noreturn]] void failErrno(const fs::path& path, const std::string& what, int error) {
    fail(path, what + ": " + std::strerror(error));
}

// Closes a file descriptor when it goes out of scope.
class FileDescriptor {
  public:
    explicit FileDescriptor(int fd) noexcept : fd_(fd) {}
    ~FileDescriptor() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    FileDescriptor(FileDescriptor&&) = delete;
    FileDescriptor& operator=(FileDescriptor&&) = delete;

    int get() const noexcept { return fd_; }
    // Closes now, reporting the error close() gives (a delayed write error shows up here).
    int close() noexcept {
        const int result = ::close(fd_);
        fd_ = -1;
        return result;
    }

  private:
    int fd_;
};

// Refuses what another local user could have written: owned by someone else, or writable by
// group or others.
void checkOwnerOnly(const fs::path& path, const struct stat& info, const char* what) {
    if (info.st_uid != ::geteuid()) {
        fail(path, std::string(what) + " belongs to user id " + std::to_string(info.st_uid) +
                       ", not to the daemon's user id " + std::to_string(::geteuid()) +
                       " (chown it to the daemon's user)");
    }
    if ((info.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.st_mode & 07777));
        fail(path, std::string(what) + " is writable by group or others (mode " + mode +
                       "); it must be owner-only (chmod " +
                       (S_ISDIR(info.st_mode) ? "0700" : "0600") + ")");
    }
}

std::optional<std::string> environment(const char* name) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') {
        return std::nullopt;
    }
    return std::string(value);
}

void fsyncDirectory(const fs::path& path) {
    FileDescriptor dir(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.get() < 0 || ::fsync(dir.get()) != 0) {
        failErrno(path, "cannot sync the directory", errno);
    }
}

}  // namespace

fs::path resolveStateDirectory(const std::optional<std::string>& configured) {
    if (const auto fromSystemd = environment("STATE_DIRECTORY")) {
        // StateDirectory= with several entries gives a colon-separated list; ours is the first.
        return fs::path(fromSystemd->substr(0, fromSystemd->find(':')));
    }
    if (configured && !configured->empty()) {
        return fs::path(*configured);
    }
    if (::geteuid() == 0) {
        return fs::path("/var/lib/tenderkey");
    }
    if (const auto xdg = environment("XDG_STATE_HOME"); xdg && xdg->front() == '/') {
        return fs::path(*xdg) / "tenderkey";
    }
    if (const auto home = environment("HOME"); home && home->front() == '/') {
        return fs::path(*home) / ".local" / "state" / "tenderkey";
    }
    throw StateError(
        "state directory: neither STATE_DIRECTORY, state_directory in the configuration, "
        "XDG_STATE_HOME nor HOME is set");
}

StateDirectory StateDirectory::open(const fs::path& path) {
    if (!path.is_absolute()) {
        fail(path, "must be an absolute path");
    }
    if (path.has_parent_path()) {
        std::error_code error;
        fs::create_directories(path.parent_path(), error);
        if (error) {
            fail(path.parent_path(), "cannot create: " + error.message());
        }
    }
    if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
        failErrno(path, "cannot create", errno);
    }
    struct stat info {};
    if (::lstat(path.c_str(), &info) != 0) {
        failErrno(path, "cannot read", errno);
    }
    if (!S_ISDIR(info.st_mode)) {
        fail(path, "is not a directory");
    }
    checkOwnerOnly(path, info, "the directory");
    return StateDirectory(path);
}

std::optional<std::string> StateDirectory::read(std::string_view name) const {
    checkDocumentName(name);
    const fs::path file = path_ / std::string(name);
    FileDescriptor fd(::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    if (fd.get() < 0) {
        if (errno == ENOENT) {
            return std::nullopt;
        }
        failErrno(file, "cannot open", errno);
    }
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0) {
        failErrno(file, "cannot read", errno);
    }
    if (!S_ISREG(info.st_mode)) {
        fail(file, "is not a regular file");
    }
    checkOwnerOnly(file, info, "the file");
    if (static_cast<std::size_t>(info.st_size) > kMaxDocumentBytes) {
        fail(file, "is larger than " + std::to_string(kMaxDocumentBytes) + " bytes");
    }
    std::string text;
    char buffer[4096];
    for (;;) {
        const ssize_t got = ::read(fd.get(), buffer, sizeof buffer);
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            failErrno(file, "cannot read", errno);
        }
        if (got == 0) {
            break;
        }
        text.append(buffer, static_cast<std::size_t>(got));
        if (text.size() > kMaxDocumentBytes) {
            fail(file, "is larger than " + std::to_string(kMaxDocumentBytes) + " bytes");
        }
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
    const fs::path temporary = path_ / ("." + std::string(name) + "." + std::to_string(::getpid()) +
                                        "." + std::to_string(++counter) + ".tmp");
    FileDescriptor fd(
        ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (fd.get() < 0) {
        failErrno(temporary, "cannot create", errno);
    }
    const auto discard = [&temporary](const std::string& what, int error) {
        ::unlink(temporary.c_str());
        failErrno(temporary, what, error);
    };
    // The umask may have taken bits away, never added any; set the mode exactly.
    if (::fchmod(fd.get(), 0600) != 0) {
        discard("cannot set mode 0600", errno);
    }
    std::size_t written = 0;
    while (written < contents.size()) {
        const ssize_t put = ::write(fd.get(), contents.data() + written, contents.size() - written);
        if (put < 0) {
            if (errno == EINTR) {
                continue;
            }
            discard("cannot write", errno);
        }
        written += static_cast<std::size_t>(put);
    }
    if (::fsync(fd.get()) != 0) {
        discard("cannot sync", errno);
    }
    if (fd.close() != 0) {
        discard("cannot close", errno);
    }
    if (::rename(temporary.c_str(), target.c_str()) != 0) {
        discard("cannot rename to " + target.string(), errno);
    }
    fsyncDirectory(path_);
}

}  // namespace tk::service::state
