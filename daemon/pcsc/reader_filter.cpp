#include "pcsc/reader_filter.hpp"

namespace tk::pcsc {

bool isVirtualReader(std::string_view readerName) noexcept {
    return readerName.starts_with("Virtual PCD ");
}

}  // namespace tk::pcsc
