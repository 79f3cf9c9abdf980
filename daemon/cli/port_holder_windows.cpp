// winsock2.h before windows.h and iphlpapi.h (which would otherwise pull in the old winsock.h).
#include <winsock2.h>
#include <ws2tcpip.h>
//
#include <iphlpapi.h>
#include <windows.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "cli/port_holder.hpp"
#include "cli/windows_text.hpp"

namespace tk::cli {
namespace {

// The listening sockets of one address family with their processes; empty when the table
// could not be read.
template <typename Table>
std::vector<std::uint8_t> tcpTable(ULONG family) {
    std::vector<std::uint8_t> buffer(sizeof(Table) + 64 * 1024);
    for (int attempt = 0; attempt < 4; ++attempt) {
        DWORD size = static_cast<DWORD>(buffer.size());
        const DWORD rc = ::GetExtendedTcpTable(buffer.data(), &size, FALSE, family,
                                               TCP_TABLE_OWNER_PID_LISTENER, 0);
        if (rc == NO_ERROR) {
            return buffer;
        }
        if (rc != ERROR_INSUFFICIENT_BUFFER) {
            return {};
        }
        buffer.resize(size + 4096);
    }
    return {};
}

// The owners of the listening sockets on `port` in one table; false when it could not be read.
template <typename Table>
bool ownersIn(ULONG family, std::uint16_t port, bool& listening, std::set<DWORD>& pids) {
    const auto buffer = tcpTable<Table>(family);
    if (buffer.empty()) {
        return false;
    }
    const auto* table = reinterpret_cast<const Table*>(buffer.data());
    for (DWORD i = 0; i < table->dwNumEntries; ++i) {
        const auto& row = table->table[i];
        if (::ntohs(static_cast<u_short>(row.dwLocalPort)) == port) {
            listening = true;
            pids.insert(row.dwOwningPid);
        }
    }
    return true;
}

PortHolder holderOf(DWORD pid) {
    PortHolder holder;
    holder.pid = static_cast<std::int64_t>(pid);
    if (pid == 4) {
        holder.name = "System";  // a kernel listener, e.g. http.sys
        return holder;
    }
    const HANDLE process = ::OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
    if (process != nullptr) {
        wchar_t image[MAX_PATH * 2];
        DWORD size = static_cast<DWORD>(std::size(image));
        if (::QueryFullProcessImageNameW(process, 0, image, &size) != 0) {
            const std::filesystem::path path(std::wstring(image, size));
            holder.executable = narrow(path.wstring());
            holder.name = narrow(path.filename().wstring());
        }
        ::CloseHandle(process);
    }
    return holder;
}

}  // namespace

PortListeners portListeners(std::uint16_t port) {
    PortListeners result;
    std::set<DWORD> pids;
    const bool v4 = ownersIn<MIB_TCPTABLE_OWNER_PID>(AF_INET, port, result.listening, pids);
    const bool v6 = ownersIn<MIB_TCP6TABLE_OWNER_PID>(AF_INET6, port, result.listening, pids);
    if (!v4 && !v6) {
        result.listening = true;  // unknown: the caller's connection decides
        return result;
    }
    for (const DWORD pid : pids) {
        if (pid != 0) {
            result.holders.push_back(holderOf(pid));
        }
    }
    return result;
}

std::string describeHolders(const PortListeners& listeners, std::uint16_t port) {
    std::string text;
    for (const PortHolder& holder : listeners.holders) {
        const std::string name = holder.name.empty() ? std::string("a process") : holder.name;
        text += (text.empty() ? "" : "; ") + name + " (pid " + std::to_string(holder.pid) +
                (holder.executable.empty() ? "" : ", " + holder.executable) + ")";
    }
    if (text.empty()) {
        text = "a program this user cannot see (as Administrator: netstat -ano -p tcp | findstr :" +
               std::to_string(port) + ")";
    }
    return text;
}

}  // namespace tk::cli
