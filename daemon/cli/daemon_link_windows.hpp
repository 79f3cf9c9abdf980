#pragma once

// Windows only (daemon_link_windows.cpp, doctor_windows.cpp): the TenderKey service as the
// Service Control Manager knows it.

#include <cstdint>
#include <string>

namespace tk::cli {

struct ServiceInfo {
    bool installed = false;
    std::string state;  // "running", "stopped", "starting", "stopping", … ("" if absent)
    bool running = false;
    std::int64_t pid = 0;    // while running
    std::string configPath;  // the --config of its command line, or the default path
    std::string startType;   // "automatic", "delayed automatic", "manual", "disabled"
    std::string problem;     // why the SCM could not be asked (empty: it answered)
};
ServiceInfo queryService();

// Whether two paths name the same file (Windows: case-insensitive, after normalisation).
bool samePath(const std::string& a, const std::string& b);

// The Win32 error's text, with its number.
std::string windowsMessage(unsigned long error);

}  // namespace tk::cli
