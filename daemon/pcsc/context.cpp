#include "pcsc/context.hpp"

#include "pcsc/detail/native.hpp"
#include "pcsc/detail/scard.hpp"

namespace tk::pcsc {

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
    return detail::listReaders(handle_);
}

void Context::cancel() const {
    detail::call("SCardCancel", SCardCancel, detail::toContext(handle_));
}

}  // namespace tk::pcsc
