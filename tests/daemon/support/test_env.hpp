#pragma once

#include <string>

#include "support/schema_validator.hpp"

namespace tk::test {

// The value of an environment variable that tests/harness/with-cards sets (TK_*); throws when
// it is missing, that is when the test does not run under the harness.
std::string env(const char* name);

// The JSON Schemas of protocol/schema/, loaded once.
const ProtocolSchemas& schemas();

// Sends one command line to a virtual card's control socket (card-ctl) and returns its answer
// line; throws unless the card answers "ok...".
std::string controlCard(const std::string& socketPath, const std::string& command);

}  // namespace tk::test
