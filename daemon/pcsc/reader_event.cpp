#include "pcsc/reader_event.hpp"

namespace tk::pcsc {

std::string_view toString(ReaderEvent::Type type) noexcept {
    switch (type) {
        case ReaderEvent::Type::ServiceAvailable:
            return "service-available";
        case ReaderEvent::Type::ServiceUnavailable:
            return "service-unavailable";
        case ReaderEvent::Type::ReaderAdded:
            return "reader-added";
        case ReaderEvent::Type::ReaderRemoved:
            return "reader-removed";
        case ReaderEvent::Type::CardInserted:
            return "card-inserted";
        case ReaderEvent::Type::CardRemoved:
            return "card-removed";
    }
    return "unknown";
}

}  // namespace tk::pcsc
