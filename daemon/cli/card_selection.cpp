#include "cli/card_selection.hpp"

#include <algorithm>
#include <cctype>

#include "card/errors.hpp"
#include "card/session/readers.hpp"
#include "cli/exit_status.hpp"
#include "pcsc/context.hpp"
#include "pcsc/errors.hpp"

namespace tk::cli {
namespace {

bool isHex(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
        return std::isxdigit(static_cast<unsigned char>(c)) != 0;
    });
}

std::string lowercase(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](char c) {
        return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    });
    return out;
}

}  // namespace

CertificateId parseCertificateId(std::string_view text) {
    CertificateId id;
    std::string_view slot = text;
    if (const auto colon = text.rfind(':'); colon != std::string_view::npos) {
        const std::string_view card = text.substr(0, colon);
        if (!isHex(card)) {
            throw UsageError("--cert: '" + std::string(text) +
                             "' is not <cardId>:<slot> (see tenderkey certs)");
        }
        id.cardId = lowercase(card);
        slot = text.substr(colon + 1);
    }
    if (!isHex(slot) || slot.size() != 2) {
        throw UsageError("--cert: '" + std::string(text) +
                         "' does not end in a slot such as 9a, 9c, 9d, 9e or 82");
    }
    id.slot = lowercase(slot);
    return id;
}

card::CardSessionOptions sessionOptions(const CommandLine& line) {
    card::CardSessionOptions options;
    options.devMode = line.has("dev");
    return options;
}

std::vector<std::string> readersToUse(const CommandLine& line) {
    const bool dev = line.has("dev");
    const pcsc::Context context;
    const std::vector<std::string> all = context.listReaders();
    if (const auto reader = line.value("reader")) {
        const bool listed = std::find(all.begin(), all.end(), *reader) != all.end();
        if (!listed || !card::readerAllowed(*reader, dev)) {
            throw card::ReaderNotFound(*reader, listed);
        }
        return {*reader};
    }
    std::vector<std::string> usable = card::usableReaders(context, dev);
    if (usable.empty()) {
        const std::size_t hidden = all.size();
        throw NoCardFound(hidden == 0 ? "no card reader"
                                      : "no card reader (" + std::to_string(hidden) +
                                            " development reader(s) used only with --dev)");
    }
    return usable;
}

std::unique_ptr<card::CardSession> selectCard(const CommandLine& line,
                                              const std::optional<std::string>& cardId) {
    const card::CardSessionOptions options = sessionOptions(line);
    const std::vector<std::string> readers = readersToUse(line);
    if (line.value("reader")) {
        return std::make_unique<card::CardSession>(readers.front(), options);
    }
    std::vector<std::unique_ptr<card::CardSession>> withCard;
    for (const std::string& reader : readers) {
        auto session = std::make_unique<card::CardSession>(reader, options);
        try {
            (void)session->atr();
        } catch (const pcsc::NoCard&) {
            continue;
        }
        withCard.push_back(std::move(session));
    }
    if (withCard.empty()) {
        throw NoCardFound("no card in " +
                          std::string(readers.size() == 1 ? "the reader" : "any reader"));
    }
    if (cardId) {
        for (auto& session : withCard) {
            try {
                if (session->cardId() == *cardId) {
                    return std::move(session);
                }
            } catch (const card::UnsupportedCard&) {
                // Not a card this tool speaks: not the one asked for either.
            }
        }
        throw CertificateNotFound("no card with id " + *cardId + " is present");
    }
    if (withCard.size() > 1) {
        std::string names;
        for (const auto& session : withCard) {
            names += (names.empty() ? "'" : ", '") + session->reader() + "'";
        }
        throw UsageError(std::to_string(withCard.size()) + " cards present (" + names +
                         "): choose one with --reader or a certificate id <cardId>:<slot>");
    }
    return std::move(withCard.front());
}

}  // namespace tk::cli
