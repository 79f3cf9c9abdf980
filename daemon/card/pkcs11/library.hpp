#pragma once

// Loading a PKCS#11 module's shared library and finding C_GetFunctionList: dlopen on Linux
// (library_posix.cpp), LoadLibraryExW on Windows (library_windows.cpp). The library is never
// unloaded (see Module).

#include <p11-kit/pkcs11.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace tk::card::pkcs11 {

using GetFunctionList = CK_RV (*)(CK_FUNCTION_LIST_PTR_PTR);

// C_GetFunctionList of the library at `path` (UTF-8). Throws ModuleError with the system's
// reason when the library does not load or is not a PKCS#11 module.
GetFunctionList loadFunctionList(const std::string& path);

// The CPU a Windows DLL (a PE file) is built for, from its first bytes (at least the PE
// header: offset 0x3C gives the header's position): "x86-64", "x86" (32-bit), "ARM64", or
// nullopt when the bytes are not a PE image. Used on Windows to say why a 32-bit vendor DLL
// cannot load into the 64-bit daemon; plain byte parsing, tested on every platform.
std::optional<std::string_view> peMachine(std::span<const std::uint8_t> image);

}  // namespace tk::card::pkcs11
