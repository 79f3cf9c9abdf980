#include <windows.h>

#include <string>
#include <vector>

#include "cli/entry.hpp"
#include "cli/exit_status.hpp"

namespace {

// UTF-16 from the command line to UTF-8, the encoding of everything inside the tool. An
// unpaired surrogate (not text) becomes U+FFFD rather than failing the whole command line.
std::string utf8(const wchar_t* text) {
    const int length = ::WideCharToMultiByte(CP_UTF8, 0, text, -1, nullptr, 0, nullptr, nullptr);
    if (length <= 1) {
        return {};
    }
    std::string out(static_cast<std::size_t>(length), '\0');
    ::WideCharToMultiByte(CP_UTF8, 0, text, -1, out.data(), length, nullptr, nullptr);
    out.pop_back();  // the terminating NUL
    return out;
}

// The console shows the tool's UTF-8 output (reader names, certificate subjects) as text
// while it runs; its previous code page comes back afterwards, as the console is shared with
// the shell.
class Utf8ConsoleOutput {
  public:
    Utf8ConsoleOutput() : previous_(::GetConsoleOutputCP()) {
        if (previous_ != 0) {
            ::SetConsoleOutputCP(CP_UTF8);
        }
    }
    ~Utf8ConsoleOutput() {
        if (previous_ != 0) {
            ::SetConsoleOutputCP(previous_);
        }
    }
    Utf8ConsoleOutput(const Utf8ConsoleOutput&) = delete;
    Utf8ConsoleOutput& operator=(const Utf8ConsoleOutput&) = delete;
    Utf8ConsoleOutput(Utf8ConsoleOutput&&) = delete;
    Utf8ConsoleOutput& operator=(Utf8ConsoleOutput&&) = delete;

  private:
    UINT previous_;
};

}  // namespace

// wmain (-municode): the command line as Windows holds it, in UTF-16, whatever the ANSI code
// page; main's char** would have lost what that code page cannot represent.
int wmain(int argc, wchar_t** argv) {
    try {
        const Utf8ConsoleOutput console;
        std::vector<std::string> arguments;
        arguments.reserve(static_cast<std::size_t>(argc));
        for (int i = 0; i < argc; ++i) {
            arguments.push_back(utf8(argv[i]));
        }
        std::vector<const char*> pointers;
        for (const std::string& argument : arguments) {
            pointers.push_back(argument.c_str());
        }
        pointers.push_back(nullptr);
        return tk::cli::tenderkeyMain(argc, pointers.data());
    } catch (...) {
        return static_cast<int>(tk::cli::ExitStatus::Internal);
    }
}
