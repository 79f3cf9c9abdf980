#pragma once

// Windows only: where tenderkeyd keeps its files, and the access those folders and files must
// have. %ProgramData%\TenderKey holds the configuration (tenderkeyd.toml), state\ what the
// service writes, logs\ its rotating log file. The default %ProgramData% access lets every user
// create files in new subfolders, so the service's install step gives these folders an
// explicit, protected access list, and every start checks it (checkDataAccess).

#include <stdexcept>
#include <string>

namespace tk::daemon {

// %ProgramData%\TenderKey (UTF-8).
std::string configDirectory();
// %ProgramData%\TenderKey\state
std::string stateDirectory();
// %ProgramData%\TenderKey\logs
std::string logDirectory();

class AccessError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Creates the folders when missing and gives them their access list: full control for
// SYSTEM and Administrators only, read for Users; state\ and logs\ modify for the service
// (its service SID) instead of read for Users. Inherited entries are removed. Throws
// AccessError.
void secureDataDirectories();

// Refuses (AccessError naming the file, the account and the fix) a file or folder of
// the configuration (the folder and `configPath`), state\ and logs\ and the files in them
// that anyone but SYSTEM, Administrators, TrustedInstaller or — for state\ and logs\ — the
// service may write, or that someone else owns. Missing paths pass.
void checkDataAccess(const std::string& configPath);

}  // namespace tk::daemon
