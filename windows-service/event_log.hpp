#pragma once

#include <string>

#include "win32.hpp"

namespace tk::winsvc {

// The service's entries in the Windows Event Log (Application log, source "TenderKey"). The
// message text is the entry's only insertion string; the message table compiled from
// messages.mc into the executable makes Event Viewer show it as is.
class EventLog {
  public:
    enum class Severity { Information, Warning, Error };

    EventLog();
    ~EventLog();
    EventLog(const EventLog&) = delete;
    EventLog& operator=(const EventLog&) = delete;

    // Thread-safe (ReportEventW is). False when the entry could not be written.
    bool report(Severity severity, const std::wstring& text) const;

    // The registry entries that make the source known (install/uninstall).
    static bool registerSource(const std::wstring& messageFile, std::wstring& error);
    static void unregisterSource();

  private:
    HANDLE source_ = nullptr;
};

}  // namespace tk::winsvc
