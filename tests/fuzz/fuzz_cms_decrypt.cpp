// CMS input to `decrypt` (daemon/crypto/cms): hostile bytes as the `cms` parameter, for an RSA
// recipient (slot 9A, RSA-2048) and an EC one (slot 9D, P-256, ECDH). checkEnvelope refuses
// with CmsError or lets the card step run; cmsDecrypt ends in plaintext, CmsError or a card
// error, nothing else. The private-key steps run on the test PIV card (tests/unit/support)
// behind the real PivToken, as the service does it.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "card/errors.hpp"
#include "card/piv/piv_token.hpp"
#include "crypto/card_key.hpp"
#include "crypto/cms.hpp"
#include "support/fake_piv_card.hpp"

namespace {

using tk::card::ByteView;

// A broken expectation: says which one, then aborts (libFuzzer keeps the input as a crash).
void check(bool ok, int line = __builtin_LINE()) {
    if (!ok) {
        std::fprintf(stderr, "%s:%d: expectation failed\n", __FILE__, line);
        std::abort();
    }
}

tk::card::PinInput pin() {
    const std::string text = "123456";
    tk::card::PinInput input;
    input.pin = tk::card::SecureBytes(
        ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
    return input;
}

struct Card {
    tk::test::StandardCard standard;
    tk::card::PivToken token{standard.card};
};

void decryptFor(Card& card, const std::string& slot, ByteView certificate, ByteView cms) {
    try {
        tk::crypto::checkEnvelope(certificate, cms);
    } catch (const tk::crypto::CmsError&) {
        return;
    }
    tk::crypto::TokenKeyOperations operations(card.token, slot, pin());
    try {
        const tk::card::SecureBytes plaintext =
            tk::crypto::cmsDecrypt(operations, certificate, cms);
        (void)plaintext;
    } catch (const tk::crypto::CmsError&) {
    } catch (const tk::card::Error&) {
    }
    check(operations.operations() <= 1);  // one card operation per request at most
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static auto* card = new Card();  // kept for the whole run: building keys is slow
    const ByteView cms(data, size);
    decryptFor(*card, "9a", card->standard.cert9a, cms);
    decryptFor(*card, "9d", card->standard.cert9d, cms);
    return 0;
}
