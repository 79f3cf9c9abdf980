// What the tool's file input and output does the same on every platform (files.hpp);
// files_posix.cpp and files_windows.cpp open, read and write.
#include "cli/files.hpp"

#include <algorithm>

#include "cli/exit_status.hpp"

namespace tk::cli::detail {

card::Bytes readToEnd(const ReadSome& readSome) {
    card::Bytes contents;
    std::uint8_t buffer[8192];
    while (true) {
        const std::size_t n = readSome(buffer, sizeof buffer);
        if (n == 0) {
            break;
        }
        contents.insert(contents.end(), buffer, buffer + n);
    }
    return contents;
}

card::SecureBytes readFirstLine(const ReadSome& readSome) {
    // A PIN or PUK is at most 8 characters; the rest of a longer line is read so that the card
    // layer sees the whole (too long) value and refuses it as a format error.
    constexpr std::size_t kMaxLine = 64;
    card::SecureBytes buffer(kMaxLine);
    std::size_t length = 0;
    while (length < kMaxLine) {
        const std::size_t n = readSome(buffer.data() + length, kMaxLine - length);
        if (n == 0) {
            break;
        }
        length += n;
    }
    const auto* end = std::find(buffer.begin(), buffer.begin() + length, std::uint8_t{'\n'});
    std::size_t lineLength = static_cast<std::size_t>(end - buffer.begin());
    if (lineLength > 0 && buffer[lineLength - 1] == '\r') {
        --lineLength;
    }
    return card::SecureBytes(buffer.view().first(lineLength));
}

void throwFileError(const std::string& what, const std::string& path, const std::string& reason) {
    throw FileError(what + " " + (path == "-" ? std::string("standard stream") : path) + ": " +
                    reason);
}

}  // namespace tk::cli::detail
