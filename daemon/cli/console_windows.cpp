#include <windows.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "cli/console.hpp"

namespace tk::cli {
namespace {

// The console input whose echo is off while a secret is typed, so that Ctrl+C or closing the
// window turns it back on before the process ends.
HANDLE gInput = INVALID_HANDLE_VALUE;
DWORD gSavedMode = 0;

BOOL WINAPI restoreConsole(DWORD /*event*/) {
    if (gInput != INVALID_HANDLE_VALUE) {
        ::SetConsoleMode(gInput, gSavedMode);
    }
    return FALSE;  // the default handler ends the process as usual
}

// Echo off for the life of the object; the mode (and the control handler) back afterwards.
class EchoOff {
  public:
    explicit EchoOff(HANDLE input) {
        if (::GetConsoleMode(input, &gSavedMode) == 0) {
            return;
        }
        gInput = input;
        ::SetConsoleCtrlHandler(restoreConsole, TRUE);
        const DWORD quiet = (gSavedMode & ~static_cast<DWORD>(ENABLE_ECHO_INPUT)) |
                            ENABLE_LINE_INPUT | ENABLE_PROCESSED_INPUT;
        ::SetConsoleMode(input, quiet);
    }
    ~EchoOff() {
        if (gInput != INVALID_HANDLE_VALUE) {
            ::SetConsoleMode(gInput, gSavedMode);
            gInput = INVALID_HANDLE_VALUE;
            ::SetConsoleCtrlHandler(restoreConsole, FALSE);
        }
    }
    EchoOff(const EchoOff&) = delete;
    EchoOff& operator=(const EchoOff&) = delete;
    EchoOff(EchoOff&&) = delete;
    EchoOff& operator=(EchoOff&&) = delete;
};

HANDLE openConsole(const wchar_t* name) {
    return ::CreateFileW(name, GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE,
                         nullptr, OPEN_EXISTING, 0, nullptr);
}

void put(HANDLE output, const char* text) {
    DWORD written = 0;
    ::WriteFile(output, text, static_cast<DWORD>(std::strlen(text)), &written, nullptr);
}

}  // namespace

struct SecretConsole::Handles {
    HANDLE input = INVALID_HANDLE_VALUE;
    HANDLE output = INVALID_HANDLE_VALUE;
};

SecretConsole::SecretConsole() : handles_(std::make_unique<Handles>()) {
    handles_->input = openConsole(L"CONIN$");
    handles_->output = openConsole(L"CONOUT$");
}

SecretConsole::~SecretConsole() {
    for (const HANDLE h : {handles_->input, handles_->output}) {
        if (h != INVALID_HANDLE_VALUE) {
            ::CloseHandle(h);
        }
    }
}

bool SecretConsole::open() const noexcept {
    return handles_->input != INVALID_HANDLE_VALUE && handles_->output != INVALID_HANDLE_VALUE;
}

card::SecureBytes SecretConsole::ask(const char* prompt) {
    put(handles_->output, prompt);
    constexpr std::size_t kMaxLine = 64;
    card::SecureBytes line(kMaxLine);
    std::size_t length = 0;
    {
        const EchoOff quiet(handles_->input);
        // Line input hands over "digits\r\n": reading up to the "\n" takes the whole line, so
        // nothing of it is left for the next prompt.
        while (true) {
            std::uint8_t c = 0;
            DWORD n = 0;
            if (::ReadFile(handles_->input, &c, 1, &n, nullptr) == 0 || n == 0 || c == '\n') {
                break;
            }
            if (c == '\r') {
                continue;
            }
            if (length < kMaxLine) {
                line[length] = c;
            }
            ++length;
        }
    }
    put(handles_->output, "\r\n");  // with echo off the console does not end the line itself
    return card::SecureBytes(line.view().first(std::min(length, kMaxLine)));
}

// _putenv_s with an empty value removes the variable from the C runtime's copy and from the
// process environment both.
void dropEnvironmentVariable(const char* name) {
    ::_putenv_s(name, "");
}

}  // namespace tk::cli
