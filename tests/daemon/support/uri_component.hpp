#pragma once

#include <string>

namespace tk::test {

// encodeURIComponent, as the HiPKI vendor's pages apply it to a PIN and a NONE tbs.
std::string uriComponent(const std::string& text);

}  // namespace tk::test
