#pragma once

namespace tk::daemon {

// tenderkeyd's main: command line and configuration, logging, the service and the server,
// then signals until SIGTERM/SIGINT. Returns the exit status (0 stopped normally, 1 could not
// start, 2 bad command line or configuration).
int run(int argc, char** argv);

}  // namespace tk::daemon
