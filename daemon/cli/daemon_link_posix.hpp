#pragma once

// POSIX only (daemon_link_posix.cpp, doctor_posix.cpp): the tenderkeyd processes of this
// machine, and running a helper program (systemctl, pkcheck).

#include <cstdint>
#include <string>
#include <vector>

namespace tk::cli {

inline constexpr const char* kDefaultConfigPath = "/etc/tenderkey/tenderkeyd.toml";
// The systemd unit of the Debian package.
inline constexpr const char* kServiceUnit = "tenderkeyd.service";

// tenderkeyd processes reading `configPath` (their --config, or the default path).
std::vector<std::int64_t> daemonProcessesFor(const std::string& configPath);
// Every tenderkeyd process.
std::vector<std::int64_t> daemonProcesses();

// Runs a program (PATH search), output discarded unless `output` is given; its exit status, or
// -1 when it could not be started.
int runProgram(const std::vector<std::string>& argv, std::string* output = nullptr);

}  // namespace tk::cli
