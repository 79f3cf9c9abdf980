#pragma once

// The platform seam of `tenderkey doctor`: the checks only one platform has and the commands
// its advice names. doctor_posix.cpp (polkit; systemctl, journalctl, ss) or doctor_windows.cpp
// (the TenderKey service, the access lists of %ProgramData%\TenderKey; sc, the Event Log),
// chosen by CMake.

#include <cstdint>
#include <string>
#include <vector>

namespace tk::cli {

struct Check {
    std::string id;
    std::string status;  // ok, warn, fail, info
    std::string message;
    std::string fix;
};

// The words of the advice that differ between platforms.
struct PlatformHints {
    std::string pcscService;        // what the PC/SC service is called
    std::string pcscStart;          // how to start it
    std::string readersFix;         // a reader PC/SC does not list
    std::string exampleConfig;      // where the example configuration is
    std::string daemonStart;        // how to start the daemon, and where it says why it stopped
    std::string daemonReload;       // how to make it read its configuration again
    std::string daemonRestart;      // how to restart it (a new port)
    std::string daemonLogs;         // where it logs
    std::string readersHiddenFix;   // the daemon sees fewer readers than the user
    std::string hipkiEnable;        // turning the HiPKI endpoint on
    std::string hipkiNotAnswering;  // [hipki] enabled, nothing answers
    std::string hipkiSockets;       // where its sockets come from when the file does not say
    std::string hipkiUnsetOff;      // why it is off with [hipki] enabled unset
};
const PlatformHints& platformHints();

// The command that shows which program holds `port`.
std::string portHolderCommand(std::uint16_t port);

// The checks only this platform has, after the common ones. `configPath`: the configuration
// file doctor looked at.
std::vector<Check> platformChecks(const std::string& configPath);

}  // namespace tk::cli
