// The tool's file input and output on POSIX systems (files.hpp; files_windows.cpp is the
// Windows side).
#include "cli/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cli/exit_status.hpp"

namespace tk::cli {
namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path) {
    detail::throwFileError(what, path, std::strerror(errno));
}

// Closes a descriptor it opened (not standard input or output).
class Descriptor {
  public:
    Descriptor(int fd, bool owned) noexcept : fd_(fd), owned_(owned) {}
    ~Descriptor() {
        if (owned_ && fd_ >= 0) {
            ::close(fd_);
        }
    }
    Descriptor(const Descriptor&) = delete;
    Descriptor& operator=(const Descriptor&) = delete;
    Descriptor(Descriptor&&) = delete;
    Descriptor& operator=(Descriptor&&) = delete;

    int get() const noexcept { return fd_; }
    // Closes now and reports a failure (a full disk shows up only here on some file systems).
    bool close() noexcept {
        const bool ok = !owned_ || ::close(fd_) == 0;
        owned_ = false;
        return ok;
    }

  private:
    int fd_;
    bool owned_;
};

// Up to `size` bytes of `fd`; 0 at the end of the file.
std::size_t readSome(int fd, std::uint8_t* buffer, std::size_t size, const std::string& path) {
    while (true) {
        const ssize_t n = ::read(fd, buffer, size);
        if (n >= 0) {
            return static_cast<std::size_t>(n);
        }
        if (errno != EINTR) {
            fail("cannot read", path);
        }
    }
}

}  // namespace

card::Bytes readFile(const std::string& path) {
    const bool standard = path == "-";
    const Descriptor fd(standard ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC),
                        !standard);
    if (fd.get() < 0) {
        fail("cannot open", path);
    }
    return detail::readToEnd([&](std::uint8_t* buffer, std::size_t size) {
        return readSome(fd.get(), buffer, size, path);
    });
}

void writeFile(const std::string& path, card::ByteView contents, bool secret) {
    const bool standard = path == "-";
    const mode_t mode = secret ? 0600 : 0644;
    Descriptor fd(standard ? STDOUT_FILENO
                           : ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode),
                  !standard);
    if (fd.get() < 0) {
        fail("cannot create", path);
    }
    if (secret && !standard && ::fchmod(fd.get(), 0600) != 0) {
        fail("cannot restrict access to", path);
    }
    std::size_t written = 0;
    while (written < contents.size()) {
        const ssize_t n = ::write(fd.get(), contents.data() + written, contents.size() - written);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            fail("cannot write", path);
        }
        written += static_cast<std::size_t>(n);
    }
    if (!fd.close()) {
        fail("cannot write", path);
    }
}

card::SecureBytes readSecretFile(const std::string& path) {
    const Descriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC), true);
    if (fd.get() < 0) {
        fail("cannot open", path);
    }
    return detail::readFirstLine([&](std::uint8_t* buffer, std::size_t size) {
        return readSome(fd.get(), buffer, size, path);
    });
}

}  // namespace tk::cli
