// windows.wine_cli: where tenderkey.exe takes a PIN from on Windows (docs/cli.md, "PIN and
// PUK"), through the same functions the PIN commands call — under Wine no card can be reached,
// so the commands themselves stop before they ask. Prints one line:
//   "file-or-environment N bytes, TENDERKEY_PIN absent|still set"
//   "console N bytes"
//   "no source: MESSAGE" (exit status 10, as tenderkey's PIN_REQUIRED)
// Arguments: a tenderkey command line, e.g. `pin verify --pin-file FILE`. The secret itself is
// never printed.
#include <windows.h>

#include <cstdio>
#include <cstdlib>

#include "cli/command_line.hpp"
#include "cli/exit_status.hpp"
#include "cli/secret_input.hpp"

int main(int argc, char** argv) {
    using namespace tk::cli;
    try {
        const CommandLine line = parseCommandLine(argc, argv);
        if (const auto secret = secretFromFileOrEnvironment(line, Secret::Pin)) {
            // The process environment itself, not the C runtime's copy.
            const bool stillSet = ::GetEnvironmentVariableW(L"TENDERKEY_PIN", nullptr, 0) > 0 ||
                                  std::getenv("TENDERKEY_PIN") != nullptr;
            std::printf("file-or-environment %zu bytes, TENDERKEY_PIN %s\n", secret->size(),
                        stillSet ? "still set" : "absent");
            return 0;
        }
        const auto secret = secretFromTerminal(Secret::Pin);
        std::printf("console %zu bytes\n", secret.size());
        return 0;
    } catch (const NoSecretSource& e) {
        std::printf("no source: %s\n", e.what());
        return static_cast<int>(ExitStatus::PinRequired);
    } catch (const std::exception& e) {
        std::printf("error: %s\n", e.what());
        return 1;
    }
}
