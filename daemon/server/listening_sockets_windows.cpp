// verifyOnlyLoopbackListening on Windows: the TCP listeners the system attributes to this
// process (GetExtendedTcpTable, IPv4 and IPv6), each bound to 127.0.0.0/8 or ::1
// (daemon/server/CMakeLists.txt; listening_sockets_linux.cpp on Linux).
// clang-format off
#include <winsock2.h>
#include <ws2tcpip.h>
#include <iphlpapi.h>
// clang-format on

#include <cstring>
#include <string>
#include <vector>

#include "server/listeners.hpp"

namespace tk::server {

namespace {

// The table GetExtendedTcpTable fills for `family`, grown until it fits.
std::vector<unsigned char> listenerTable(ULONG family) {
    std::vector<unsigned char> table(16 * 1024);
    for (int attempt = 0; attempt < 8; ++attempt) {
        auto size = static_cast<DWORD>(table.size());
        const DWORD result = GetExtendedTcpTable(table.data(), &size, FALSE, family,
                                                 TCP_TABLE_OWNER_PID_LISTENER, 0);
        if (result == NO_ERROR) {
            return table;
        }
        if (result != ERROR_INSUFFICIENT_BUFFER) {
            throw ServerError("cannot list the listening sockets (GetExtendedTcpTable: error " +
                              std::to_string(result) + ")");
        }
        table.resize(size + 4096);
    }
    throw ServerError("cannot list the listening sockets (the table keeps growing)");
}

}  // namespace

void verifyOnlyLoopbackListening() {
    const DWORD self = GetCurrentProcessId();
    char text[INET6_ADDRSTRLEN] = {};
    const auto v4 = listenerTable(AF_INET);
    const auto* rows4 = reinterpret_cast<const MIB_TCPTABLE_OWNER_PID*>(v4.data());
    for (DWORD i = 0; i < rows4->dwNumEntries; ++i) {
        const MIB_TCPROW_OWNER_PID& row = rows4->table[i];
        if (row.dwOwningPid != self) {
            continue;
        }
        in_addr address{};
        address.s_addr = row.dwLocalAddr;
        if ((ntohl(address.s_addr) >> 24) != 127) {
            inet_ntop(AF_INET, &address, text, sizeof(text));
            throw ServerError(std::string("a listening socket is bound to ") + text +
                              ", which is not a loopback address");
        }
    }
    const auto v6 = listenerTable(AF_INET6);
    const auto* rows6 = reinterpret_cast<const MIB_TCP6TABLE_OWNER_PID*>(v6.data());
    for (DWORD i = 0; i < rows6->dwNumEntries; ++i) {
        const MIB_TCP6ROW_OWNER_PID& row = rows6->table[i];
        if (row.dwOwningPid != self) {
            continue;
        }
        in6_addr address{};
        std::memcpy(&address, row.ucLocalAddr, sizeof(address));
        if (!IN6_IS_ADDR_LOOPBACK(&address)) {
            inet_ntop(AF_INET6, &address, text, sizeof(text));
            throw ServerError(std::string("a listening socket is bound to ") + text +
                              ", which is not a loopback address");
        }
    }
}

// Inherited listening sockets come from systemd's socket activation; nothing hands them to a
// Windows process, and the daemon's Windows entry points never pass one.
void prepareInheritedListener(int /*fd*/) {
    throw ServerError("inherited listening sockets are not supported on Windows");
}

// Never reached: no inherited listener gets past prepareInheritedListener on Windows.
int acceptPending(int /*listeningFd*/) {
    return -1;
}

void closeAccepted(int /*fd*/) {}

std::uint16_t localPort(std::intptr_t socket) {
    sockaddr_storage address{};
    int length = sizeof(address);
    if (getsockname(static_cast<SOCKET>(socket), reinterpret_cast<sockaddr*>(&address), &length) !=
        0) {
        return 0;
    }
    if (address.ss_family == AF_INET) {
        return ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
    }
    if (address.ss_family == AF_INET6) {
        return ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port);
    }
    return 0;
}

}  // namespace tk::server
