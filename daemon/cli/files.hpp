#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
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

namespace detail {
// Shared by the platform files (files_posix.cpp, files_windows.cpp), which open the files and
// read them through a ReadSome: up to `size` bytes into `buffer`, the count read, 0 at the end;
// it throws FileError.
using ReadSome = std::function<std::size_t(std::uint8_t* buffer, std::size_t size)>;
card::Bytes readToEnd(const ReadSome& readSome);
// The first line (without "\n" or "\r\n") of at most the first 64 bytes.
card::SecureBytes readFirstLine(const ReadSome& readSome);
// Throws FileError: "<what> <path>: <reason>" ("-" named the standard stream).
[[noreturn]] void throwFileError(const std::string& what, const std::string& path,
                                 const std::string& reason);
}  // namespace detail

}  // namespace tk::cli
