#pragma once

// The tool's body, called by the platform's entry point with the arguments in UTF-8:
// main_posix.cpp (main) or main_windows.cpp (wmain, the UTF-16 command line converted).
namespace tk::cli {

int tenderkeyMain(int argc, const char* const* argv);

}  // namespace tk::cli
