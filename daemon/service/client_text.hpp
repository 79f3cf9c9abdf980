#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tk::service {

// How much of a client-chosen text a log line shows.
inline constexpr std::size_t kMaxLoggedClientText = 64;

// Text a client chose (a method name, a request id, an origin, a Host header) as it may appear
// in a log line: its first kMaxLoggedClientText bytes, every byte outside printable ASCII and
// the backslash written as \xHH (so a line stays one line and carries no terminal control
// sequence), and, when the text was longer, "...(N bytes)". Every log line that shows such a
// text goes through here.
std::string clientText(std::string_view text);

}  // namespace tk::service
