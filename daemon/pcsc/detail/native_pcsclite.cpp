// pcsc-lite (Linux): reader names are UTF-8 already. Compiled on every platform but Windows
// (daemon/pcsc/CMakeLists.txt).
#include <algorithm>
#include <memory>

#include "pcsc/detail/native.hpp"
#include "pcsc/detail/scard.hpp"
#include "pcsc/features.hpp"

namespace tk::pcsc::detail {
namespace {

static_assert(kFeatureRequestCode == kGetFeatureRequest);

struct ScardMemoryDeleter {
    SCARDCONTEXT context;
    void operator()(char* memory) const noexcept {
        (void)succeeds(SCardFreeMemory, context, static_cast<LPCVOID>(memory));
    }
};

}  // namespace

std::vector<std::string> listReaders(std::uintptr_t handle) {
    const SCARDCONTEXT context = toContext(handle);
    char* list = nullptr;
    DWORD length = SCARD_AUTOALLOCATE;
    try {
        // SCARD_AUTOALLOCATE: one call, so a reader plugged in between a size query and the
        // real call cannot make the buffer too small.
        call("SCardListReaders", SCardListReaders, context, nullptr, reinterpret_cast<LPSTR>(&list),
             &length);
    } catch (const NoReaders&) {
        return {};
    }
    const std::unique_ptr<char, ScardMemoryDeleter> owned(list, ScardMemoryDeleter{context});
    return splitMultiString<char>(list, length, [](const char* name) { return std::string(name); });
}

std::uintptr_t connect(std::uintptr_t context, const std::string& reader, std::uint32_t& active) {
    SCARDHANDLE card = 0;
    DWORD protocol = 0;
    call("SCardConnect", SCardConnect, toContext(context), reader.c_str(),
         DWORD{SCARD_SHARE_SHARED}, DWORD{kProtocols}, &card, &protocol);
    active = static_cast<std::uint32_t>(protocol);
    return static_cast<std::uintptr_t>(card);
}

void waitStatusChange(std::uintptr_t context, std::vector<ReaderState>& states) {
    std::vector<SCARD_READERSTATE> native(states.size(), SCARD_READERSTATE{});
    for (std::size_t i = 0; i < states.size(); ++i) {
        native[i].szReader = states[i].reader.c_str();
        native[i].dwCurrentState = states[i].currentState;
    }
    call("SCardGetStatusChange", SCardGetStatusChange, toContext(context), DWORD{INFINITE},
         native.data(), static_cast<DWORD>(native.size()));
    for (std::size_t i = 0; i < states.size(); ++i) {
        states[i].eventState = static_cast<std::uint32_t>(native[i].dwEventState);
        const std::size_t length = std::min<std::size_t>(native[i].cbAtr, sizeof native[i].rgbAtr);
        states[i].atr.assign(native[i].rgbAtr, native[i].rgbAtr + length);
    }
}

}  // namespace tk::pcsc::detail
