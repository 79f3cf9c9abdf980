#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "card/session/card_session.hpp"
#include "cli/command_line.hpp"

namespace tk::cli {

// `--cert` value: "<cardId>:<slot>" as `tenderkey certs` prints it, or just "<slot>".
struct CertificateId {
    std::optional<std::string> cardId;
    std::string slot;  // lowercase hex
};

// Throws UsageError for anything but hex card id and slot.
CertificateId parseCertificateId(std::string_view text);

card::CardSessionOptions sessionOptions(const CommandLine& line);

// The readers a command looks at: the one --reader names (ReaderNotFound when PC/SC does not
// list it, or it is a development reader without --dev), or every usable reader (NoCardFound
// when there is none, saying so when development readers were left out).
std::vector<std::string> readersToUse(const CommandLine& line);

// The card a command works on: the one in --reader, else the one whose id is `cardId`, else the
// only card present. NoCardFound, CertificateNotFound (no card with that id), or UsageError when
// several cards are present and nothing says which.
std::unique_ptr<card::CardSession> selectCard(const CommandLine& line,
                                              const std::optional<std::string>& cardId);

}  // namespace tk::cli
