#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tk::cli {

// Who holds a TCP port: the platform seam of port_holder_posix.cpp (/proc) and
// port_holder_windows.cpp (GetExtendedTcpTable), chosen by CMake.

// A program listening on a TCP port: its process id, name (/proc/PID/comm; on Windows the
// executable's file name) and executable.
struct PortHolder {
    std::int64_t pid = 0;
    std::string name;
    std::string executable;  // empty when this user may not read it
};

// Who listens on TCP `port` (any address, IPv4 or IPv6). Linux: the kernel's socket tables
// (/proc/net/tcp, tcp6) say whether anything does; the processes are found by their socket
// descriptors (/proc/PID/fd), as far as this user may look (root sees every one). Windows: the
// TCP table with each listening socket's process (GetExtendedTcpTable); when that table
// cannot be read, `listening` is true and `holders` empty (connecting decides).
struct PortListeners {
    bool listening = false;
    std::vector<PortHolder> holders;
};
PortListeners portListeners(std::uint16_t port);

// "HiPKILocalSignS (pid 812, /opt/HiPKILocalSignServer/HiPKILocalSignServer)", several joined
// by "; ", or, when the processes cannot be seen, a sentence saying how to find them.
std::string describeHolders(const PortListeners& listeners, std::uint16_t port);

}  // namespace tk::cli
