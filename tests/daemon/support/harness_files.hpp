#pragma once

#include <string>

namespace tk::test {

// The whole content of a file as bytes ("" when it cannot be read).
std::string readFile(const std::string& path);

// Writes `bytes` to a file, replacing what it held.
void writeFile(const std::string& path, const std::string& bytes);

// Runs a shell command with its stdout and stderr sent to the file `log`; its exit code, or -1
// when it did not exit normally.
int run(const std::string& command, const std::string& log);

}  // namespace tk::test
