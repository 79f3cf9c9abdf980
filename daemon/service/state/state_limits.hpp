#pragma once

#include <cstddef>

namespace tk::service::state {

// The longest document name, and the largest document the store reads or writes.
inline constexpr std::size_t kMaxNameLength = 64;
inline constexpr std::size_t kMaxDocumentBytes = std::size_t{1024} * 1024;

}  // namespace tk::service::state
