// WinSCard (Windows): the wide-character functions, reader names converted between UTF-16
// and the daemon's UTF-8. Compiled on Windows only (daemon/pcsc/CMakeLists.txt).
#include <algorithm>
#include <cwchar>
#include <memory>

#include "pcsc/detail/native.hpp"
#include "pcsc/detail/scard.hpp"

namespace tk::pcsc::detail {
namespace {

// CTL_CODE(FILE_DEVICE_SMARTCARD 0x31, 3400, METHOD_BUFFERED, FILE_ANY_ACCESS).
static_assert(kFeatureRequestCode == 0x00313520);

struct ScardMemoryDeleter {
    SCARDCONTEXT context;
    void operator()(wchar_t* memory) const noexcept {
        (void)succeeds(SCardFreeMemory, context, static_cast<LPCVOID>(memory));
    }
};

std::string toUtf8(const wchar_t* text) {
    const int wide = static_cast<int>(std::wcslen(text));
    if (wide == 0) {
        return {};
    }
    const int size = WideCharToMultiByte(CP_UTF8, 0, text, wide, nullptr, 0, nullptr, nullptr);
    std::string utf8(static_cast<std::size_t>(std::max(size, 0)), '\0');
    WideCharToMultiByte(CP_UTF8, 0, text, wide, utf8.data(), size, nullptr, nullptr);
    return utf8;
}

std::wstring toWide(const std::string& text) {
    if (text.empty()) {
        return {};
    }
    const int length = static_cast<int>(text.size());
    const int size = MultiByteToWideChar(CP_UTF8, 0, text.data(), length, nullptr, 0);
    std::wstring wide(static_cast<std::size_t>(std::max(size, 0)), L'\0');
    MultiByteToWideChar(CP_UTF8, 0, text.data(), length, wide.data(), size);
    return wide;
}

}  // namespace

std::vector<std::string> listReaders(std::uintptr_t handle) {
    const SCARDCONTEXT context = toContext(handle);
    wchar_t* list = nullptr;
    DWORD length = SCARD_AUTOALLOCATE;
    try {
        call("SCardListReadersW", SCardListReadersW, context, nullptr,
             reinterpret_cast<LPWSTR>(&list), &length);
    } catch (const NoReaders&) {
        return {};
    }
    const std::unique_ptr<wchar_t, ScardMemoryDeleter> owned(list, ScardMemoryDeleter{context});
    return splitMultiString<wchar_t>(list, length, toUtf8);
}

std::uintptr_t connect(std::uintptr_t context, const std::string& reader, std::uint32_t& active) {
    SCARDHANDLE card = 0;
    DWORD protocol = 0;
    const std::wstring name = toWide(reader);
    call("SCardConnectW", SCardConnectW, toContext(context), name.c_str(),
         DWORD{SCARD_SHARE_SHARED}, DWORD{kProtocols}, &card, &protocol);
    active = static_cast<std::uint32_t>(protocol);
    return static_cast<std::uintptr_t>(card);
}

void waitStatusChange(std::uintptr_t context, std::vector<ReaderState>& states) {
    std::vector<std::wstring> names;
    names.reserve(states.size());
    for (const ReaderState& state : states) {
        names.push_back(toWide(state.reader));
    }
    std::vector<SCARD_READERSTATEW> native(states.size(), SCARD_READERSTATEW{});
    for (std::size_t i = 0; i < states.size(); ++i) {
        native[i].szReader = names[i].c_str();
        native[i].dwCurrentState = states[i].currentState;
    }
    call("SCardGetStatusChangeW", SCardGetStatusChangeW, toContext(context), DWORD{INFINITE},
         native.data(), static_cast<DWORD>(native.size()));
    for (std::size_t i = 0; i < states.size(); ++i) {
        states[i].eventState = static_cast<std::uint32_t>(native[i].dwEventState);
        const std::size_t length = std::min<std::size_t>(native[i].cbAtr, sizeof native[i].rgbAtr);
        states[i].atr.assign(native[i].rgbAtr, native[i].rgbAtr + length);
    }
}

}  // namespace tk::pcsc::detail
