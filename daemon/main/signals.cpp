#include "main/signals.hpp"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace tk::daemon {

SignalWaiter::SignalWaiter() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    if (pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) {
        throw std::runtime_error("cannot block signals");
    }
    fd_ = signalfd(-1, &set, SFD_CLOEXEC);
    if (fd_ < 0) {
        throw std::runtime_error(std::string("signalfd: ") + std::strerror(errno));
    }
}

SignalWaiter::~SignalWaiter() {
    close(fd_);
}

int SignalWaiter::wait() {
    while (true) {
        signalfd_siginfo info{};
        const ssize_t n = read(fd_, &info, sizeof(info));
        if (n == static_cast<ssize_t>(sizeof(info))) {
            return static_cast<int>(info.ssi_signo);
        }
        if (n < 0 && errno != EINTR) {
            throw std::runtime_error(std::string("reading signals: ") + std::strerror(errno));
        }
    }
}

}  // namespace tk::daemon
