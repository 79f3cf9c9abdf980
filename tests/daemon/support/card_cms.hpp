#pragma once

#include <string>

namespace tk::test {

// `openssl cms -verify -binary` of an attached SignedData (DER) against the virtual card's test
// CA (TK_VCARD_CA_0), working in the harness directory; the content it recovers, or "" (and a
// test failure carrying openssl's message) when it does not verify.
std::string verifyCms(const std::string& der);

}  // namespace tk::test
