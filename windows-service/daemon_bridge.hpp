#pragma once

#include <string>
#include <vector>

namespace tk::winsvc {

// What the service (or the console) tells the daemon core and hears from it.
class ServiceControls {
  public:
    virtual ~ServiceControls() = default;
    // Blocks until the SCM (or Ctrl+C) asks for something: true to stop, false to reload the
    // configuration (SERVICE_CONTROL_PARAMCHANGE, the counterpart of SIGHUP).
    virtual bool waitStopOrReload() = 0;
    // The daemon accepts connections.
    virtual void started() = 0;
    // The daemon begins its graceful stop.
    virtual void stopping() = 0;
};

enum class LogTarget { EventLog, Console };

// tenderkeyd's core (daemon/main runDaemon) with `args`, its command-line options, until
// `controls` says stop. Returns its exit status: 0 stopped normally, 1 could not start, 2 bad
// command line or configuration.
int runDaemonCore(const std::vector<std::wstring>& args, ServiceControls& controls,
                  LogTarget target);

// One line in the daemon's log (the Event Log in a service), from any thread.
void logInformation(const std::wstring& text);

}  // namespace tk::winsvc
