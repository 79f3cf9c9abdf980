#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "main/command_line.hpp"

namespace tk::daemon {

// tenderkeyd's main: command line and configuration, logging, the service and the server,
// then signals until SIGTERM/SIGINT; tells systemd about it when started as a Type=notify
// service. Returns the exit status (0 stopped normally, 1 could not start, 2 bad command
// line or configuration).
int run(int argc, char** argv);

// What the daemon is asked to do next by whoever runs it.
enum class Control { Reload, Stop };

// How the daemon core talks to what runs it: signals and systemd on Linux, the Service
// Control Manager on Windows. Every member may be left empty except waitControl.
struct DaemonHost {
    // Blocks until the next request: Reload (SIGHUP) or Stop (SIGTERM, SIGINT, SCM stop).
    std::function<Control()> waitControl;
    // Replaces the logging set-up from the configuration (sink name, level): a host that has
    // a log of its own (the Windows Event Log) installs it here.
    std::function<void(const std::string& sink, const std::string& level)> setUpLogging;
    // The daemon accepts connections. `healthy(timeout)` answers whether the network thread
    // serves and the card side makes progress; it may be called from any thread until
    // stopping() and takes at most about `timeout`.
    std::function<void(const std::string& status,
                       std::function<bool(std::chrono::milliseconds timeout)> healthy)>
        started;
    std::function<void()> reloading;
    std::function<void(const std::string& status)> reloaded;
    std::function<void()> stopping;
};

// The daemon core for a parsed command line (not --help or --version): runs until `host`
// says Stop. Same exit statuses as run().
int runDaemon(const CommandLine& commandLine, const DaemonHost& host);

}  // namespace tk::daemon
