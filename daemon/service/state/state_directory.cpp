#include "service/state/state_directory.hpp"

#include <stdexcept>
#include <string>

#include "service/state/state_limits.hpp"

namespace tk::service::state {

void checkDocumentName(std::string_view name) {
    const bool allowed =
        !name.empty() && name.size() <= kMaxNameLength && name.front() != '.' &&
        name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789._-") == std::string_view::npos;
    if (!allowed) {
        throw std::invalid_argument("invalid state document name \"" + std::string(name) + "\"");
    }
}

}  // namespace tk::service::state
