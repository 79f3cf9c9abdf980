#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "card/bytes.hpp"

namespace tk::card::piv {

// The identifiers a Card Holder Unique Identifier (CHUID, 5FC102) carries.
struct ChuidIdentifiers {
    std::optional<Bytes> fascn;  // tag 30, 25 bytes
    std::optional<Bytes> guid;   // tag 34, 16 bytes
};

// Reads FASC-N and GUID from the CHUID contents (the value inside 53). Malformed or missing
// elements are simply absent: a CHUID that does not parse is treated as no CHUID.
ChuidIdentifiers parseChuid(ByteView contents) noexcept;

// The FASC-N's agency code, system code and credential number are all nines: the value
// non-federal issuers must use, which identifies no card (SP 800-73-4).
bool isNonFederalFascn(ByteView fascn) noexcept;

struct IdentityCertificate {
    std::uint8_t keyRef;
    Bytes der;
};

// PROTOCOL.md cardId for a PIV card: 20 lowercase hex characters, the first 10 bytes of
// SHA-256 over a source label and the source value, taken from the first usable of
//   1. the CHUID GUID, unless all zeros             -> SHA-256("piv-guid:"  || GUID)
//   2. the CHUID FASC-N, unless all zeros or the
//      non-federal all-nines value                  -> SHA-256("piv-fascn:" || FASC-N)
//   3. the certificates on the card, in slot order  -> SHA-256("piv-certs:" ||
//                                                      per certificate: key ref (1 byte) ||
//                                                      DER length (4 bytes big-endian) || DER)
// Hashing keeps the identifiers stable while not handing the FASC-N (agency, credential and
// person numbers) to web pages; the label keeps the three sources apart. A card with none of
// the three (no CHUID, no certificate) gets the hash of "piv-certs:" alone.
std::string deriveCardId(const ChuidIdentifiers& chuid,
                         std::span<const IdentityCertificate> certificates);

}  // namespace tk::card::piv
