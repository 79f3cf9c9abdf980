#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace tk::cli {

// `tenderkey [OPTIONS] COMMAND [SUBCOMMAND] [OPTIONS]`: words and options in any order.
struct CommandLine {
    std::vector<std::string> words;             // "pin", "status"
    std::map<std::string, std::string> values;  // "reader" -> "ACS ACR39U 00 00"
    std::set<std::string> flags;                // "json", "dev"

    bool has(const std::string& flag) const { return flags.count(flag) != 0; }
    std::optional<std::string> value(const std::string& name) const;
    // The value of a required option; UsageError naming the option when it is missing.
    const std::string& required(const std::string& name) const;
};

// Throws UsageError for an unknown option, a missing value or a repeated option.
CommandLine parseCommandLine(int argc, const char* const* argv);

// One command of the tool: its words, the options it takes, its help.
struct CommandSpec {
    std::string_view command;
    std::string_view subcommand;  // empty for one-word commands
    std::vector<std::string_view> options;
    std::string_view synopsis;
    std::string_view help;
};

const std::vector<CommandSpec>& commandSpecs();

// The spec for the command words, or nullptr. `words` may hold only the command when the
// command has subcommands (then nullptr as well).
const CommandSpec* findCommand(const std::vector<std::string>& words);

// Throws UsageError when the line uses an option the command does not take, or extra words.
void checkOptions(const CommandSpec& spec, const CommandLine& line);

// The full help, or the help of one command ("pin" alone shows all pin commands).
std::string generalHelp();
std::string commandHelp(const std::vector<std::string>& words);

}  // namespace tk::cli
