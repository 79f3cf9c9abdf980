#pragma once

#include <optional>

#include "card/secure_bytes.hpp"
#include "cli/command_line.hpp"

namespace tk::cli {

enum class Secret { Pin, NewPin, Puk, NewPuk };

// The secret from its file option (--pin-file, --new-pin-file, --puk-file, --new-puk-file) or
// its environment variable (TENDERKEY_PIN, TENDERKEY_NEW_PIN, TENDERKEY_PUK, TENDERKEY_NEW_PUK);
// nullopt when neither is given. The variable's value is wiped in this process's environment
// once read.
std::optional<card::SecureBytes> secretFromFileOrEnvironment(const CommandLine& line,
                                                             Secret secret);

// Asks on the controlling terminal with echo off; a new PIN or PUK is asked twice
// (SecretMismatch when the entries differ). NoSecretSource when there is no terminal.
card::SecureBytes secretFromTerminal(Secret secret);

}  // namespace tk::cli
