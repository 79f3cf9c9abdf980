#include "cli/secret_input.hpp"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string>

#include "cli/exit_status.hpp"
#include "cli/files.hpp"

namespace tk::cli {
namespace {

struct SecretNames {
    const char* what;
    const char* option;
    const char* variable;
    const char* prompt;
    const char* again;
};

SecretNames namesOf(Secret secret) {
    switch (secret) {
        case Secret::Pin:
            return {"PIN", "pin-file", "TENDERKEY_PIN", "PIN: ", nullptr};
        case Secret::NewPin:
            return {"new PIN", "new-pin-file", "TENDERKEY_NEW_PIN", "New PIN: ", "New PIN again: "};
        case Secret::Puk:
            return {"PUK", "puk-file", "TENDERKEY_PUK", "PUK: ", nullptr};
        case Secret::NewPuk:
            return {"new PUK", "new-puk-file", "TENDERKEY_NEW_PUK", "New PUK: ", "New PUK again: "};
    }
    return {"PIN", "pin-file", "TENDERKEY_PIN", "PIN: ", nullptr};
}

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

class Terminal {
  public:
    Terminal() : fd_(::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC)) {}
    ~Terminal() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    Terminal(const Terminal&) = delete;
    Terminal& operator=(const Terminal&) = delete;
    Terminal(Terminal&&) = delete;
    Terminal& operator=(Terminal&&) = delete;

    bool open() const noexcept { return fd_ >= 0; }

    card::SecureBytes ask(const char* prompt) {
        (void)!::write(fd_, prompt, std::strlen(prompt));
        const EchoOff quiet(fd_);
        constexpr std::size_t kMaxLine = 64;
        card::SecureBytes line(kMaxLine);
        std::size_t length = 0;
        while (true) {
            std::uint8_t c = 0;
            const ssize_t n = ::read(fd_, &c, 1);
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
        // Longer than any PIN: keep it too long so the card layer refuses it as a format error.
        return card::SecureBytes(line.view().first(std::min(length, kMaxLine)));
    }

  private:
    int fd_;
};

bool sameBytes(const card::SecureBytes& a, const card::SecureBytes& b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

}  // namespace

std::optional<card::SecureBytes> secretFromFileOrEnvironment(const CommandLine& line,
                                                             Secret secret) {
    const SecretNames names = namesOf(secret);
    if (const auto file = line.value(names.option)) {
        return readSecretFile(*file);
    }
    char* value = std::getenv(names.variable);
    if (value == nullptr) {
        return std::nullopt;
    }
    const std::size_t length = std::strlen(value);
    card::SecureBytes out(std::span(reinterpret_cast<const std::uint8_t*>(value), length));
    card::secureWipe(value, length);
    ::unsetenv(names.variable);
    return out;
}

card::SecureBytes secretFromTerminal(Secret secret) {
    const SecretNames names = namesOf(secret);
    Terminal terminal;
    if (!terminal.open()) {
        throw NoSecretSource(std::string("a ") + names.what + " is needed: give --" + names.option +
                             " or " + names.variable + " (no terminal to ask on, no pinpad)");
    }
    card::SecureBytes first = terminal.ask(names.prompt);
    if (names.again != nullptr) {
        const card::SecureBytes second = terminal.ask(names.again);
        if (!sameBytes(first, second)) {
            throw SecretMismatch("the two entries differ; nothing was changed");
        }
    }
    return first;
}

}  // namespace tk::cli
