#pragma once

#include "cli/command_line.hpp"

namespace tk::cli {

// The administrator's commands: status, origins list|add|remove, doctor.
void runStatus(const CommandLine& line);
void runOriginsList(const CommandLine& line);
void runOriginsAdd(const CommandLine& line);
void runOriginsRemove(const CommandLine& line);
void runDoctor(const CommandLine& line);

}  // namespace tk::cli
