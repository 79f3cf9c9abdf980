#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>

#include "cli/console.hpp"

namespace tk::cli {
namespace {

// The terminal whose echo is off while a secret is typed, so a signal can turn it back on.
int gTerminal = -1;
termios gSaved{};

void restoreTerminalAndReraise(int signal) {
    if (gTerminal >= 0) {
        ::tcsetattr(gTerminal, TCSAFLUSH, &gSaved);
    }
    std::signal(signal, SIG_DFL);
    std::raise(signal);
}

// Echo off for the life of the object; back on (and the signal handlers back) afterwards.
class EchoOff {
  public:
    explicit EchoOff(int fd) {
        if (::tcgetattr(fd, &gSaved) != 0) {
            return;
        }
        gTerminal = fd;
        for (const int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP}) {
            std::signal(s, restoreTerminalAndReraise);
        }
        termios quiet = gSaved;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        quiet.c_lflag |= ECHONL;
        ::tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    ~EchoOff() {
        if (gTerminal >= 0) {
            ::tcsetattr(gTerminal, TCSAFLUSH, &gSaved);
            gTerminal = -1;
        }
        for (const int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP}) {
            std::signal(s, SIG_DFL);
        }
    }
    EchoOff(const EchoOff&) = delete;
    EchoOff& operator=(const EchoOff&) = delete;
    EchoOff(EchoOff&&) = delete;
    EchoOff& operator=(EchoOff&&) = delete;
};

}  // namespace

struct SecretConsole::Handles {
    int fd = -1;
};

SecretConsole::SecretConsole() : handles_(std::make_unique<Handles>()) {
    handles_->fd = ::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
}

SecretConsole::~SecretConsole() {
    if (handles_->fd >= 0) {
        ::close(handles_->fd);
    }
}

bool SecretConsole::open() const noexcept {
    return handles_->fd >= 0;
}

card::SecureBytes SecretConsole::ask(const char* prompt) {
    const int fd = handles_->fd;
    (void)!::write(fd, prompt, std::strlen(prompt));
    const EchoOff quiet(fd);
    constexpr std::size_t kMaxLine = 64;
    card::SecureBytes line(kMaxLine);
    std::size_t length = 0;
    while (true) {
        std::uint8_t c = 0;
        const ssize_t n = ::read(fd, &c, 1);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0 || c == '\n' || c == '\r') {
            break;
        }
        if (length < kMaxLine) {
            line[length] = c;
        }
        ++length;
    }
    return card::SecureBytes(line.view().first(std::min(length, kMaxLine)));
}

void dropEnvironmentVariable(const char* name) {
    ::unsetenv(name);
}

}  // namespace tk::cli
