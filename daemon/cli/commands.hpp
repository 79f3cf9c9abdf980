#pragma once

#include "cli/command_line.hpp"

namespace tk::cli {

// Runs one command and prints its result on standard output (text, or one JSON document with
// --json). Failures are exceptions, mapped to exit statuses by describeFailure().
using CommandRunner = void (*)(const CommandLine& line);

// The runner of a command of commandSpecs().
CommandRunner runnerFor(const CommandSpec& spec);

}  // namespace tk::cli
