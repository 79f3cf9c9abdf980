#include "cli/secret_input.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

#include "cli/console.hpp"
#include "cli/exit_status.hpp"
#include "cli/files.hpp"

namespace tk::cli {
namespace {

struct SecretNames {
    const char* what;
    const char* option;
    const char* variable;
    const char* prompt;
    const char* again;
};

SecretNames namesOf(Secret secret) {
    switch (secret) {
        case Secret::Pin:
            return {"PIN", "pin-file", "TENDERKEY_PIN", "PIN: ", nullptr};
        case Secret::NewPin:
            return {"new PIN", "new-pin-file", "TENDERKEY_NEW_PIN", "New PIN: ", "New PIN again: "};
        case Secret::Puk:
            return {"PUK", "puk-file", "TENDERKEY_PUK", "PUK: ", nullptr};
        case Secret::NewPuk:
            return {"new PUK", "new-puk-file", "TENDERKEY_NEW_PUK", "New PUK: ", "New PUK again: "};
    }
    return {"PIN", "pin-file", "TENDERKEY_PIN", "PIN: ", nullptr};
}

bool sameBytes(const card::SecureBytes& a, const card::SecureBytes& b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

}  // namespace

std::optional<card::SecureBytes> secretFromFileOrEnvironment(const CommandLine& line,
                                                             Secret secret) {
    const SecretNames names = namesOf(secret);
    if (const auto file = line.value(names.option)) {
        return readSecretFile(*file);
    }
    char* value = std::getenv(names.variable);
    if (value == nullptr) {
        return std::nullopt;
    }
    const std::size_t length = std::strlen(value);
    card::SecureBytes out(std::span(reinterpret_cast<const std::uint8_t*>(value), length));
    card::secureWipe(value, length);
    dropEnvironmentVariable(names.variable);
    return out;
}

card::SecureBytes secretFromTerminal(Secret secret) {
    const SecretNames names = namesOf(secret);
    SecretConsole terminal;
    if (!terminal.open()) {
        throw NoSecretSource(std::string("a ") + names.what + " is needed: give --" + names.option +
                             " or " + names.variable + " (no terminal to ask on, no pinpad)");
    }
    card::SecureBytes first = terminal.ask(names.prompt);
    if (names.again != nullptr) {
        const card::SecureBytes second = terminal.ask(names.again);
        if (!sameBytes(first, second)) {
            throw SecretMismatch("the two entries differ; nothing was changed");
        }
    }
    return first;
}

}  // namespace tk::cli
