#pragma once

#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

namespace tk::server {

// The result of reading one message as JSON.
struct JsonReading {
    // Empty when the text is not JSON (RFC 8259: syntax, escapes, lone surrogates, invalid
    // UTF-8) or nests arrays/objects deeper than the limit.
    std::optional<nlohmann::json> value;
    // An object somewhere in the text repeats a member name. nlohmann keeps the last value;
    // other parsers keep the first, so such a message is refused rather than guessed at.
    bool repeatedMember = false;
};

inline constexpr int kMaxJsonDepth = 16;

JsonReading readJson(std::string_view text, int maxDepth = kMaxJsonDepth);

}  // namespace tk::server
