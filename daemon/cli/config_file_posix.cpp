// The configuration file's edit lock and atomic replacement on POSIX systems (config_file.hpp;
// config_file_windows.cpp is the Windows side): flock on the open file, a temporary file with the
// original's mode and owner, fsync, rename, fsync of the directory.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cli/config_file.hpp"
#include "cli/exit_status.hpp"

namespace tk::cli {
namespace {

namespace fs = std::filesystem;

class FileDescriptor {
  public:
    explicit FileDescriptor(int fd = -1) : fd_(fd) {}
    ~FileDescriptor() { reset(); }
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    int get() const { return fd_; }
    void reset(int fd = -1) {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = fd;
    }

  private:
    int fd_;
};

std::string readAll(int fd, const std::string& path) {
    std::string text;
    char buffer[8192];
    while (true) {
        const ssize_t n = ::read(fd, buffer, sizeof(buffer));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            throw FileError("cannot read " + path + ": " + std::strerror(errno));
        }
        if (n == 0) {
            return text;
        }
        text.append(buffer, static_cast<std::size_t>(n));
    }
}

void writeAll(int fd, const std::string& text, const std::string& path) {
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            throw FileError("cannot write " + path + ": " + std::strerror(errno));
        }
        done += static_cast<std::size_t>(n);
    }
}

// The temporary file of an edit: removed unless it was renamed into place.
class TemporaryFile {
  public:
    explicit TemporaryFile(const fs::path& target) {
        std::string pattern =
            (target.parent_path() / ("." + target.filename().string() + ".XXXXXX")).string();
        const int fd = ::mkostemp(pattern.data(), O_CLOEXEC);
        if (fd < 0) {
            throw FileError("cannot create a temporary file in " + target.parent_path().string() +
                            ": " + std::strerror(errno));
        }
        fd_.reset(fd);
        path_ = pattern;
    }
    ~TemporaryFile() {
        if (!committed_) {
            ::unlink(path_.c_str());
        }
    }
    TemporaryFile(const TemporaryFile&) = delete;
    TemporaryFile& operator=(const TemporaryFile&) = delete;
    int fd() const { return fd_.get(); }
    const std::string& path() const { return path_; }
    void commit() { committed_ = true; }

  private:
    FileDescriptor fd_;
    std::string path_;
    bool committed_ = false;
};

}  // namespace

struct LockedConfigFile::State {
    fs::path path;
    FileDescriptor fd;
    struct stat st {};
    std::string text;
};

LockedConfigFile::LockedConfigFile(const fs::path& path) : state_(std::make_unique<State>()) {
    state_->path = path;
    for (int attempt = 0;; ++attempt) {
        state_->fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (state_->fd.get() < 0) {
            throw FileError("cannot open " + path.string() + ": " + std::strerror(errno));
        }
        if (::flock(state_->fd.get(), LOCK_EX | LOCK_NB) != 0) {
            if (errno == EWOULDBLOCK) {
                throw ConfigBusy(path.string() +
                                 " is being edited by another process; try again when it is done");
            }
            throw FileError("cannot lock " + path.string() + ": " + std::strerror(errno));
        }
        // A concurrent edit may have replaced the file between open and flock.
        struct stat now {};
        if (::fstat(state_->fd.get(), &state_->st) != 0 || ::stat(path.c_str(), &now) != 0) {
            throw FileError("cannot stat " + path.string() + ": " + std::strerror(errno));
        }
        if (state_->st.st_ino == now.st_ino && state_->st.st_dev == now.st_dev) {
            break;
        }
        if (attempt == 5) {
            throw ConfigBusy(path.string() + " keeps changing; try again");
        }
    }
    state_->text = readAll(state_->fd.get(), path.string());
}

LockedConfigFile::~LockedConfigFile() = default;

const std::string& LockedConfigFile::text() const noexcept {
    return state_->text;
}

void LockedConfigFile::replace(const std::string& text,
                               const std::function<void(const std::string&)>& check) {
    const fs::path& path = state_->path;
    const struct stat& st = state_->st;
    TemporaryFile temporary(path);
    writeAll(temporary.fd(), text, temporary.path());
    if (::fchmod(temporary.fd(), st.st_mode & 07777) != 0) {
        throw FileError("cannot set the mode of " + temporary.path() + ": " + std::strerror(errno));
    }
    if (::fchown(temporary.fd(), st.st_uid, st.st_gid) != 0) {
        throw FileError("cannot give " + temporary.path() + " the owner of " + path.string() +
                        ": " + std::strerror(errno) + " (run as root)");
    }
    if (::fsync(temporary.fd()) != 0) {
        throw FileError("cannot write " + temporary.path() + ": " + std::strerror(errno));
    }
    check(temporary.path());
    if (::rename(temporary.path().c_str(), path.c_str()) != 0) {
        throw FileError("cannot replace " + path.string() + ": " + std::strerror(errno));
    }
    temporary.commit();
    FileDescriptor directory(
        ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (directory.get() >= 0) {
        ::fsync(directory.get());
    }
}

}  // namespace tk::cli
