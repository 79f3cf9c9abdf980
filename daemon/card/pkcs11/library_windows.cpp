// LoadLibraryExW: Windows (daemon/card/pkcs11/CMakeLists.txt). Vendors ship their module as a
// DLL next to the DLLs it needs (e.g. HiCOSPKCS11.dll), so the module's own folder is searched
// for its dependencies. tenderkeyd is a 64-bit process: a 32-bit DLL cannot load into it, and
// the error says so instead of Windows' "not a valid Win32 application".
#include <windows.h>

#include <array>
#include <filesystem>
#include <fstream>

#include "card/pkcs11/library.hpp"
#include "card/pkcs11/module.hpp"

namespace tk::card::pkcs11 {
namespace {

std::wstring wide(const std::string& utf8) {
    const int length = static_cast<int>(utf8.size());
    const int size = MultiByteToWideChar(CP_UTF8, 0, utf8.data(), length, nullptr, 0);
    std::wstring text(static_cast<std::size_t>(size > 0 ? size : 0), L'\0');
    MultiByteToWideChar(CP_UTF8, 0, utf8.data(), length, text.data(), size);
    return text;
}

std::string systemMessage(DWORD error) {
    char* text = nullptr;
    const DWORD length = FormatMessageA(
        FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
        nullptr, error, 0, reinterpret_cast<LPSTR>(&text), 0, nullptr);
    std::string message = length > 0 ? std::string(text, length) : "Windows error";
    LocalFree(text);
    while (!message.empty() && (message.back() == '\n' || message.back() == '\r' ||
                                message.back() == ' ' || message.back() == '.')) {
        message.pop_back();
    }
    return message + " (" + std::to_string(error) + ")";
}

// The CPU the file at `path` is built for, when it is a PE image.
std::optional<std::string> machineOf(const std::wstring& path) {
    std::ifstream file(std::filesystem::path(path), std::ios::binary);
    std::array<std::uint8_t, 4096> head{};
    file.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(head.size()));
    const auto got = static_cast<std::size_t>(file.gcount());
    const auto machine = peMachine(std::span(head).first(got));
    return machine ? std::optional<std::string>(*machine) : std::nullopt;
}

}  // namespace

GetFunctionList loadFunctionList(const std::string& path) {
    const std::wstring name = wide(path);
    if (const auto machine = machineOf(name); machine && *machine != "x86-64") {
        throw ModuleError("cannot load PKCS#11 module " + path + ": it is a DLL for " + *machine +
                          ", and tenderkeyd is a 64-bit (x86-64) program; install the "
                          "vendor's 64-bit PKCS#11 module");
    }
    // LOAD_WITH_ALTERED_SEARCH_PATH: the DLLs the module needs are looked for in its folder.
    HMODULE library = LoadLibraryExW(name.c_str(), nullptr, LOAD_WITH_ALTERED_SEARCH_PATH);
    if (library == nullptr) {
        throw ModuleError("cannot load PKCS#11 module " + path + ": " +
                          systemMessage(GetLastError()));
    }
    // GetProcAddress returns a generic FARPROC: through void* to the real signature.
    auto* getFunctionList = reinterpret_cast<GetFunctionList>(
        reinterpret_cast<void*>(GetProcAddress(library, "C_GetFunctionList")));
    if (getFunctionList == nullptr) {
        throw ModuleError(path + " is not a PKCS#11 module (no C_GetFunctionList)");
    }
    return getFunctionList;
}

}  // namespace tk::card::pkcs11
