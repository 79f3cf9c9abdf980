#include "pcsc/context.hpp"

#include <memory>

#include "pcsc/detail/scard.hpp"

namespace tk::pcsc {
namespace {

// Parses the NUL-separated, double-NUL-terminated list SCardListReaders returns.
std::vector<std::string> splitMultiString(const char* list, std::size_t length) {
    std::vector<std::string> names;
    std::size_t pos = 0;
    while (pos < length && list[pos] != '\0') {
        std::string name(list + pos);
        pos += name.size() + 1;
        names.push_back(std::move(name));
    }
    return names;
}

struct ScardMemoryDeleter {
    SCARDCONTEXT context;
    void operator()(char* memory) const noexcept {
        (void)detail::succeeds(SCardFreeMemory, context, static_cast<LPCVOID>(memory));
    }
};

}  // namespace

Context::Context() {
    SCARDCONTEXT context = 0;
    detail::call("SCardEstablishContext", SCardEstablishContext, DWORD{SCARD_SCOPE_SYSTEM}, nullptr,
                 nullptr, &context);
    handle_ = detail::fromContext(context);
}

Context::~Context() noexcept {
    // Nothing to do about a failure: pcsc-lite frees its side of the context either way, and
    // pcscd drops it when the client connection closes.
    (void)detail::succeeds(SCardReleaseContext, detail::toContext(handle_));
}

std::vector<std::string> Context::listReaders() const {
    const SCARDCONTEXT context = detail::toContext(handle_);
    char* list = nullptr;
    DWORD length = SCARD_AUTOALLOCATE;
    try {
        // SCARD_AUTOALLOCATE: one call, so a reader plugged in between a size query and the
        // real call cannot make the buffer too small.
        detail::call("SCardListReaders", SCardListReaders, context, nullptr,
                     reinterpret_cast<LPSTR>(&list), &length);
    } catch (const NoReaders&) {
        return {};
    }
    const std::unique_ptr<char, ScardMemoryDeleter> owned(list, ScardMemoryDeleter{context});
    return splitMultiString(list, length);
}

void Context::cancel() const {
    detail::call("SCardCancel", SCardCancel, detail::toContext(handle_));
}

}  // namespace tk::pcsc
