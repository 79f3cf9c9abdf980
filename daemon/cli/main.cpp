// tenderkey: the administrator's and tester's tool for the cards TenderKey serves. It uses the
// card layer directly, so it works without the daemon (and while the daemon runs: every
// operation is one PC/SC transaction on a shared connection). Its administrator commands
// (status, origins, doctor) read and edit the daemon's configuration and ask the daemon.

#include <cstring>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/command_line.hpp"
#include "cli/commands.hpp"
#include "cli/entry.hpp"
#include "cli/exit_status.hpp"
#include "cli/output.hpp"

namespace {

using namespace tk::cli;

// --json is looked for before parsing, so even a usage error comes out as JSON.
bool wantsJson(int argc, const char* const* argv) {
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--json") == 0) {
            return true;
        }
    }
    return false;
}

void run(int argc, const char* const* argv) {
    const CommandLine line = parseCommandLine(argc, argv);
    if (line.has("version")) {
        if (line.has("json")) {
            printJson({{"name", "tenderkey"}, {"version", TENDERKEY_VERSION}});
        } else {
            std::cout << "tenderkey " << TENDERKEY_VERSION << "\n";
        }
        return;
    }
    if (line.words.empty()) {
        if (line.has("help")) {
            std::cout << generalHelp();
            return;
        }
        throw UsageError("no command given (see tenderkey --help)");
    }
    if (line.words[0] == "help") {
        if (line.words.size() == 1) {
            std::cout << generalHelp();
        } else {
            std::cout << commandHelp({line.words.begin() + 1, line.words.end()});
        }
        return;
    }
    if (line.has("help")) {
        std::cout << commandHelp(line.words);
        return;
    }
    const CommandSpec* spec = findCommand(line.words);
    if (spec == nullptr) {
        std::string subcommands;
        for (const CommandSpec& s : commandSpecs()) {
            if (s.command == line.words[0] && !s.subcommand.empty()) {
                subcommands += (subcommands.empty() ? "" : ", ") + std::string(s.subcommand);
            }
        }
        if (!subcommands.empty()) {
            throw UsageError("'" + line.words[0] + "' needs one of: " + subcommands);
        }
        throw UsageError("unknown command '" + line.words[0] + "' (see tenderkey --help)");
    }
    checkOptions(*spec, line);
    runnerFor (*spec)(line);
}

// Runs the command and reports a failure; returns the exit status.
int runAndReport(int argc, const char* const* argv) {
    const bool json = wantsJson(argc, argv);
    try {
        run(argc, argv);
        return static_cast<int>(ExitStatus::Ok);
    } catch (const CommandStatus& status) {
        return static_cast<int>(status.status());
    } catch (...) {
        const Failure failure = describeFailure(std::current_exception());
        std::cerr << "tenderkey: " << failure.message << std::endl;
        if (json) {
            nlohmann::json error = {{"reason", failure.reason},
                                    {"message", failure.message},
                                    {"exitCode", static_cast<int>(failure.status)}};
            if (failure.retriesLeft) {
                error["retriesLeft"] = *failure.retriesLeft;
            }
            printJson({{"error", error}});
        }
        return static_cast<int>(failure.status);
    }
}

}  // namespace

int tk::cli::tenderkeyMain(int argc, const char* const* argv) {
    try {
        return runAndReport(argc, argv);
    } catch (...) {
        // Reporting the failure failed (standard streams closed, out of memory).
        return static_cast<int>(ExitStatus::Internal);
    }
}
