#include "card/session/readers.hpp"

#include "pcsc/reader_filter.hpp"

namespace tk::card {

ReaderNotFound::ReaderNotFound(const std::string& reader, bool hiddenOutsideDevMode)
    : Error("no reader named '" + reader + "'" +
            (hiddenOutsideDevMode ? " (virtual readers are used only in development mode)" : "")),
      reader_(reader) {}

bool readerAllowed(std::string_view reader, bool devMode) noexcept {
    return devMode || !pcsc::isVirtualReader(reader);
}

std::vector<std::string> usableReaders(const pcsc::Context& context, bool devMode) {
    std::vector<std::string> readers = context.listReaders();
    std::erase_if(readers, [devMode](const std::string& r) { return !readerAllowed(r, devMode); });
    return readers;
}

}  // namespace tk::card
