#pragma once

// Windows only: the text conversions and system messages the tool's Windows files share.

#include <string>

namespace tk::cli {

// UTF-8 of a UTF-16 string from a Windows API.
std::string narrow(const std::wstring& text);

// The Win32 error's text, without the final period and line end ("error N" when the system has
// none).
std::string describeError(unsigned long code);

}  // namespace tk::cli
