#include "cli/port_holder.hpp"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

namespace tk::cli {
namespace {

// The inodes of the sockets listening on `port` in one of /proc/net/tcp or tcp6, whose lines
// read "sl local_address rem_address st ... inode": local_address ends in ":PORT" (hex), state
// 0A is LISTEN.
void listeningInodes(const char* table, std::uint16_t port, bool& listening,
                     std::set<std::string>& inodes) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // the heading
    char suffix[8];
    std::snprintf(suffix, sizeof(suffix), ":%04X", static_cast<unsigned>(port));
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
        if (!(fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
              timeout >> inode)) {
            continue;
        }
        if (state == "0A" && local.ends_with(suffix)) {
            listening = true;
            inodes.insert(inode);
        }
    }
}

std::string readLink(const std::string& path) {
    std::string target(4096, '\0');
    const ssize_t length = ::readlink(path.c_str(), target.data(), target.size());
    if (length <= 0) {
        return {};
    }
    target.resize(static_cast<std::size_t>(length));
    return target;
}

// The process ids whose descriptors include one of the sockets `inodes`.
std::vector<pid_t> owners(const std::set<std::string>& inodes) {
    std::vector<pid_t> pids;
    DIR* proc = ::opendir("/proc");
    if (proc == nullptr) {
        return pids;
    }
    while (const dirent* entry = ::readdir(proc)) {
        const std::string name = entry->d_name;
        if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) {
            continue;
        }
        const std::string fdDir = "/proc/" + name + "/fd";
        DIR* fds = ::opendir(fdDir.c_str());
        if (fds == nullptr) {
            continue;  // another user's process, unless this one is root
        }
        bool owns = false;
        while (const dirent* fd = ::readdir(fds)) {
            const std::string target = readLink(fdDir + "/" + fd->d_name);
            if (target.starts_with("socket:[") && target.ends_with("]") &&
                inodes.count(target.substr(8, target.size() - 9)) != 0) {
                owns = true;
                break;
            }
        }
        ::closedir(fds);
        if (owns) {
            pids.push_back(static_cast<pid_t>(std::atol(name.c_str())));
        }
    }
    ::closedir(proc);
    std::sort(pids.begin(), pids.end());
    return pids;
}

}  // namespace

PortListeners portListeners(std::uint16_t port) {
    PortListeners result;
    std::set<std::string> inodes;
    listeningInodes("/proc/net/tcp", port, result.listening, inodes);
    listeningInodes("/proc/net/tcp6", port, result.listening, inodes);
    inodes.erase("0");  // a socket whose owner the kernel does not show
    for (const pid_t pid : owners(inodes)) {
        PortHolder holder;
        holder.pid = static_cast<std::int64_t>(pid);
        std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
        std::getline(comm, holder.name);
        holder.executable = readLink("/proc/" + std::to_string(pid) + "/exe");
        result.holders.push_back(std::move(holder));
    }
    return result;
}

std::string describeHolders(const PortListeners& listeners, std::uint16_t port) {
    std::string text;
    for (const PortHolder& holder : listeners.holders) {
        text += (text.empty() ? "" : "; ") + holder.name + " (pid " + std::to_string(holder.pid) +
                (holder.executable.empty() ? "" : ", " + holder.executable) + ")";
    }
    if (text.empty()) {
        text =
            "a program this user cannot see (as root: ss -ltnp 'sport = :" + std::to_string(port) +
            "')";
    }
    return text;
}

}  // namespace tk::cli
