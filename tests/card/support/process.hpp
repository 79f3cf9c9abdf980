#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace tk::test {

struct ProcessResult {
    int exitCode = -1;  // 128 + signal when killed
    std::string out;
    std::string err;
};

// Runs `argv` in a new session (no controlling terminal, so a program that would ask on the
// terminal cannot wait for one), with `environment` added to this process's environment and
// standard input empty. Kills it after `timeout`.
ProcessResult runProcess(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& environment = {},
                         std::chrono::seconds timeout = std::chrono::seconds(60));

// `tenderkey` (the binary built with this tree) with --dev and `args`.
ProcessResult runTenderkey(const std::vector<std::string>& args,
                           const std::map<std::string, std::string>& environment = {});

// A file in a fresh directory of the harness's work dir.
std::string scratchPath(const std::string& name);
void writeBytes(const std::string& path, const std::vector<unsigned char>& bytes);
std::vector<unsigned char> readBytes(const std::string& path);

}  // namespace tk::test
