#pragma once

#include <string>
#include <vector>

namespace tk::winsvc {

// Installs the service (run as LocalService, automatic start delayed after boot, restarted by
// the SCM after a failure: 5 s, 30 s, then every 2 min, the failure count reset after a day;
// also when it stops with a non-zero exit code) and registers the event source. `daemonArgs`
// (tenderkeyd's options, e.g. --config) go on the service's command line. Prints what it did
// or why it failed; returns the process exit status.
int installService(const std::vector<std::wstring>& daemonArgs);

// Stops the service when it runs, deletes it and the event source.
int uninstallService();

}  // namespace tk::winsvc
