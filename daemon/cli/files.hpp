#pragma once

#include <string>

#include "card/bytes.hpp"
#include "card/secure_bytes.hpp"

namespace tk::cli {

// The whole file ("-" = standard input). Throws FileError naming the file.
card::Bytes readFile(const std::string& path);

// Creates or replaces `path` ("-" = standard output). Secret contents (plaintext, shared
// secrets) get mode 0600, also when the file existed before. Throws FileError.
void writeFile(const std::string& path, card::ByteView contents, bool secret = false);

// The first line of a file holding a PIN or PUK (without the line end), read into a buffer that
// is wiped when released. Throws FileError.
card::SecureBytes readSecretFile(const std::string& path);

}  // namespace tk::cli
