#include "main/daemon.hpp"

#if defined(__linux__)
#include <sys/prctl.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#endif

int main(int argc, char** argv) {
#if defined(__linux__)
    // No core dump, no ptrace by the same user, /proc/PID/mem readable by root only: the
    // process holds PINs and decrypted keys for a moment. Set before anything is read.
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
        std::fprintf(stderr, "tenderkeyd: cannot make the process non-dumpable: %s\n",
                     std::strerror(errno));
        return 1;
    }
#endif
    return tk::daemon::run(argc, argv);
}
