#pragma once

#include <stdexcept>

namespace tk::crypto {

// A value the crypto layer cannot work with: an unparsable certificate, a malformed signature
// encoding, a key or size outside what an operation supports.
class Error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// A decrypted block whose padding is wrong. Deliberately carries no detail about which check
// failed.
class PaddingError : public Error {
  public:
    PaddingError() : Error("decryption padding check failed") {}
};

}  // namespace tk::crypto
