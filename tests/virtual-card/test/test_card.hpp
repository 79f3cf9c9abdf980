#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "bytes.hpp"
#include "card_crypto.hpp"
#include "card_issuer.hpp"
#include "card_state.hpp"
#include "piv_card.hpp"

namespace tk::vcard::test {

// The card `tenderkey-vcard init` issued at build time, with its CA; tests work on clones.
const IssuedCard& shared_card();
CardState fresh_state();

Bytes hex(std::string_view text);
std::uint16_t status_of(const Bytes& response);
Bytes data_of(const Bytes& response);

// Public key of the certificate stored for `slot` (from its certificate container).
Pkey certificate_public_key(const CardState& state, std::uint8_t slot);

// The DER signature r||s checks out against `key` for the raw `digest`.
bool ecdsa_verifies(EVP_PKEY* key, ByteView digest, ByteView der_signature);

// A card on a fresh state, driven APDU by APDU without any reader.
class CardFixture : public ::testing::Test {
  protected:
    CardState state = fresh_state();
    int persist_count = 0;
    PivCard card{state, [this](const CardState&) { ++persist_count; }};

    Bytes tx(std::string_view hex_apdu);
    Bytes tx_bytes(const Bytes& apdu);
    void select();
    void verify_pin(std::string_view pin = "123456");
    void authenticate_management();
    // Short APDUs with command chaining (255-byte fragments, CLA 10 then 00), then GET
    // RESPONSE (Le = SW2) while the card answers 61xx. Returns all data and the final SW.
    Bytes exchange(std::uint8_t ins, std::uint8_t p1, std::uint8_t p2, ByteView data);
    // GENERAL AUTHENTICATE 7C { 82 00, <tag> <input> } and the content of the returned 82.
    Bytes authenticate(std::uint8_t algorithm, std::uint8_t slot, std::uint8_t tag, ByteView input,
                       std::uint16_t* status = nullptr);
};

}  // namespace tk::vcard::test
