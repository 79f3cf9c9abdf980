#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "card/errors.hpp"
#include "pcsc/context.hpp"

namespace tk::card {

// A reader name PC/SC does not know, or one that is hidden because it belongs to the development
// reader driver (`Virtual PCD`, used only with --dev). Hidden readers are reported exactly like
// missing ones, so nothing outside development mode can reach them.
class ReaderNotFound : public Error {
  public:
    ReaderNotFound(const std::string& reader, bool hiddenOutsideDevMode);
    const std::string& reader() const noexcept { return reader_; }

  private:
    std::string reader_;
};

// Whether the card layer may use `reader`: every reader, except `Virtual PCD` readers outside
// development mode (a vpcd reader accepts cards from any host that reaches its TCP port).
bool readerAllowed(std::string_view reader, bool devMode) noexcept;

// The readers PC/SC lists that readerAllowed() lets through, in pcscd's order.
std::vector<std::string> usableReaders(const pcsc::Context& context, bool devMode);

}  // namespace tk::card
