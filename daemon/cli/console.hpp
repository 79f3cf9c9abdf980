#pragma once

#include <memory>

#include "card/secure_bytes.hpp"

// The console seam: asking for a secret with echo off and dropping an environment variable differ
// between POSIX terminals and the Windows console. CMake builds console_posix.cpp or
// console_windows.cpp; the rest of the tool calls only this header.
namespace tk::cli {

// The user's console (/dev/tty on POSIX, CONIN$/CONOUT$ on Windows), opened for the life of the
// object, independent of redirected standard streams.
class SecretConsole {
  public:
    SecretConsole();
    ~SecretConsole();
    SecretConsole(const SecretConsole&) = delete;
    SecretConsole& operator=(const SecretConsole&) = delete;
    SecretConsole(SecretConsole&&) = delete;
    SecretConsole& operator=(SecretConsole&&) = delete;

    // False when there is no console to ask on.
    bool open() const noexcept;

    // Writes the prompt, reads one line with echo off (echo comes back also when the process is
    // interrupted meanwhile). A line longer than any PIN is kept too long so that the card layer
    // refuses it as a format error.
    card::SecureBytes ask(const char* prompt);

  private:
    struct Handles;
    std::unique_ptr<Handles> handles_;
};

// Removes the variable from this process's environment (after its value was read and wiped).
void dropEnvironmentVariable(const char* name);

}  // namespace tk::cli
