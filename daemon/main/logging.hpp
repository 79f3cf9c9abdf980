#pragma once

#include <string>

namespace tk::daemon {

// Installs the default logger: journald when `sink` is "journald", or "auto" and the daemon's
// stderr is connected to the journal (systemd sets JOURNAL_STREAM); stderr otherwise. Throws
// service::ConfigError for "journald" in a build without libsystemd.
void setUpLogging(const std::string& sink, const std::string& level);

// trace, debug, info, warn, error or off (checked by the configuration).
void setLogLevel(const std::string& level);

// The sink in use, for the start-up line: "stderr" or "journald".
std::string logSinkName();

}  // namespace tk::daemon
