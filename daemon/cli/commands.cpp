#include "cli/commands.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "card/algorithms.hpp"
#include "card/errors.hpp"
#include "card/session/card_session.hpp"
#include "card/session/readers.hpp"
#include "cli/admin_commands.hpp"
#include "cli/card_selection.hpp"
#include "cli/exit_status.hpp"
#include "cli/files.hpp"
#include "cli/output.hpp"
#include "cli/peer_key.hpp"
#include "cli/secret_input.hpp"
#include "crypto/certificate.hpp"
#include "crypto/digest.hpp"
#include "crypto/ecdsa.hpp"
#include "pcsc/context.hpp"
#include "pcsc/errors.hpp"
#include "service/card_info.hpp"

namespace tk::cli {
namespace {

using nlohmann::json;

// ------------------------------------------------------------------------------ shared helpers

card::HashAlgorithm hashOption(const CommandLine& line) {
    const std::string given = line.value("hash").value_or("SHA-256");
    std::string name;
    for (const char c : given) {
        name += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    if (name.size() == 6 && name.starts_with("SHA")) {
        name.insert(3, "-");  // SHA256 -> SHA-256
    }
    if (const auto hash = card::hashAlgorithmFromName(name)) {
        return *hash;
    }
    throw UsageError("--hash: '" + given + "' is not SHA-256, SHA-384 or SHA-512");
}

const char* secretName(Secret secret) {
    switch (secret) {
        case Secret::Pin:
            return "PIN";
        case Secret::NewPin:
            return "new PIN";
        case Secret::Puk:
            return "PUK";
        case Secret::NewPuk:
            return "new PUK";
    }
    return "PIN";
}

void announcePinpad(const char* what) {
    std::cerr << "Enter the " << what << " on the reader's keypad." << std::endl;
}

// File or variable, else the reader's pinpad (no value), else the terminal.
std::optional<card::SecureBytes> obtainSecret(const CommandLine& line, Secret secret,
                                              card::CardSession& session) {
    if (auto value = secretFromFileOrEnvironment(line, secret)) {
        return value;
    }
    if (session.hasPinpad()) {
        announcePinpad(secretName(secret));
        return std::nullopt;
    }
    return secretFromTerminal(secret);
}

// Both values, or (on a pinpad reader, when neither was given) both from the pinpad.
card::ReferenceDataChange obtainChange(const CommandLine& line, Secret current, Secret replacement,
                                       card::CardSession& session) {
    card::ReferenceDataChange change;
    change.allowLastAttempt = line.has("last-attempt");
    change.current = secretFromFileOrEnvironment(line, current);
    change.replacement = secretFromFileOrEnvironment(line, replacement);
    if (!change.current && !change.replacement && session.hasPinpad()) {
        announcePinpad(secretName(current));
        return change;
    }
    if (!change.current) {
        change.current = secretFromTerminal(current);
    }
    if (!change.replacement) {
        change.replacement = secretFromTerminal(replacement);
    }
    return change;
}

card::PinInput obtainPin(const CommandLine& line, card::CardSession& session, bool needed) {
    card::PinInput pin;
    pin.allowLastAttempt = line.has("last-attempt");
    if (needed) {
        pin.pin = obtainSecret(line, Secret::Pin, session);
    }
    return pin;
}

std::string certificateId(const std::string& cardId, const std::string& slot) {
    return cardId + ":" + slot;
}

// The certificate `id` names on the card behind `token`.
const card::CertificateEntry& certificateOn(card::Token& token, const CertificateId& id) {
    if (id.cardId && token.cardId() != *id.cardId) {
        throw CertificateNotFound("the card in the reader is not card " + *id.cardId);
    }
    const auto& entries = token.certificates();
    const auto found =
        std::find_if(entries.begin(), entries.end(),
                     [&id](const card::CertificateEntry& e) { return e.slot == id.slot; });
    if (found == entries.end()) {
        throw CertificateNotFound("no certificate in slot " + id.slot + " of card " +
                                  token.cardId());
    }
    return *found;
}

card::AfterReset afterResetFor(const std::string& slot) {
    return card::CardSession::slotNeedsPin(slot) ? card::AfterReset::Report
                                                 : card::AfterReset::Rerun;
}

long daysUntil(std::time_t when) {
    const long long seconds =
        static_cast<long long>(when) - static_cast<long long>(std::time(nullptr));
    constexpr long long kDay = 86400;
    // Rounded down, also for dates in the past.
    return static_cast<long>(seconds >= 0 ? seconds / kDay : -((-seconds + kDay - 1) / kDay));
}

std::string joined(const std::vector<std::string>& items, const std::string& separator) {
    std::string text;
    for (const std::string& item : items) {
        text += (text.empty() ? "" : separator) + item;
    }
    return text;
}

// --------------------------------------------------------------------------------- readers

void runReaders(const CommandLine& line) {
    const bool dev = line.has("dev");
    const card::CardSessionOptions options = sessionOptions(line);
    const pcsc::Context context;
    const std::size_t all = context.listReaders().size();
    const std::vector<std::string> readers = card::usableReaders(context, dev);

    json list = json::array();
    std::string text;
    for (const std::string& reader : readers) {
        card::CardSession session(reader, options);
        json entry = {
            {"name", reader}, {"cardPresent", false}, {"pinpad", nullptr}, {"card", nullptr}};
        text += reader + "\n";
        card::Bytes atr;
        try {
            atr = session.atr();
        } catch (const pcsc::NoCard&) {
            text += "    no card\n";
            list.push_back(entry);
            continue;
        }
        entry["cardPresent"] = true;
        entry["pinpad"] = session.hasPinpad();
        json cardInfo = {{"atr", card::toHex(atr)}, {"type", "unknown"}, {"id", nullptr}};
        std::string description = "unknown card";
        try {
            const std::string id = session.cardId();
            cardInfo["type"] = "piv";
            cardInfo["id"] = id;
            description = "PIV card, id " + id;
        } catch (const card::UnsupportedCard&) {
            description = "card without a PIV application";
        } catch (const card::Error& e) {
            cardInfo["problem"] = e.what();
            description = std::string("card that could not be read: ") + e.what();
        }
        entry["card"] = cardInfo;
        text += "    " + description + "\n    ATR " + card::toHex(atr) +
                (entry["pinpad"].get<bool>() ? ", pinpad reader" : "") + "\n";
        list.push_back(entry);
    }
    const std::size_t hidden = all - readers.size();
    if (line.has("json")) {
        printJson({{"readers", list}, {"hiddenReaders", hidden}});
        return;
    }
    if (readers.empty()) {
        text = "no card reader\n";
    }
    if (hidden > 0) {
        text +=
            "(" + std::to_string(hidden) + " development reader(s) not shown; --dev shows them)\n";
    }
    std::cout << text;
}

// ------------------------------------------------------------------------------------ certs

struct Listing {
    std::string cardId;
    std::vector<card::CertificateEntry> entries;
    std::vector<card::SkippedCertificate> skipped;
};

void runCertificates(const CommandLine& line) {
    if (line.has("pem") && line.has("json")) {
        throw UsageError("--pem and --json do not go together");
    }
    std::optional<CertificateId> filter;
    if (const auto cert = line.value("cert")) {
        filter = parseCertificateId(*cert);
    }
    const bool oneReader = line.value("reader").has_value();
    const std::vector<std::string> readers = readersToUse(line);
    const card::CardSessionOptions options = sessionOptions(line);

    json certificates = json::array();
    json skippedJson = json::array();
    std::string text;
    std::string pemText;
    int cards = 0;
    for (const std::string& reader : readers) {
        card::CardSession session(reader, options);
        Listing listing;
        try {
            listing = session.run(card::AfterReset::Rerun, [](card::Token& token) {
                return Listing{token.cardId(), token.certificates(), token.skippedCertificates()};
            });
        } catch (const pcsc::NoCard&) {
            if (oneReader) {
                throw;
            }
            continue;
        } catch (const card::UnsupportedCard& e) {
            if (oneReader) {
                throw;
            }
            std::cerr << "tenderkey: " << reader << ": " << e.what() << std::endl;
            continue;
        }
        ++cards;
        if (filter && filter->cardId && *filter->cardId != listing.cardId) {
            continue;
        }
        for (const card::CertificateEntry& entry : listing.entries) {
            if (filter && entry.slot != filter->slot) {
                continue;
            }
            const crypto::CertificateInfo info = crypto::parseCertificate(entry.der);
            const std::string id = certificateId(listing.cardId, entry.slot);
            const long days = daysUntil(info.notAfter);
            std::vector<std::string> usage = info.keyUsage;
            certificates.push_back({
                {"id", id},
                {"cardId", listing.cardId},
                {"reader", reader},
                {"slot", entry.slot},
                {"label", entry.label},
                {"keyAlgorithm", card::keyAlgorithmName(entry.keyAlgorithm)},
                {"pinPolicy", pinPolicyName(entry.pinPolicy)},
                {"subject", info.subject},
                {"issuer", info.issuer},
                {"serialNumber", info.serialNumber},
                {"notBefore", crypto::formatRfc3339(info.notBefore)},
                {"notAfter", crypto::formatRfc3339(info.notAfter)},
                {"expiresInDays", days},
                {"keyUsage", info.keyUsage},
                {"clientAuth", info.clientAuth},
                {"der", base64(entry.der)},
            });
            certificates.back().update(service::certificateFactsJson(info));
            if (info.clientAuth) {
                usage.push_back("EKU clientAuth");
            }
            text += id + "  " + entry.label + "\n";
            text += "    reader   " + reader + "\n";
            text += "    key      " + std::string(card::keyAlgorithmName(entry.keyAlgorithm)) +
                    ", PIN " + pinPolicyName(entry.pinPolicy) + "\n";
            text += "    subject  " + info.subject + "\n";
            text += "    issuer   " + info.issuer + "\n";
            text += "    serial   " + info.serialNumber + "\n";
            text += "    valid    " + crypto::formatRfc3339(info.notBefore) + " to " +
                    crypto::formatRfc3339(info.notAfter) +
                    (days >= 0 ? " (" + std::to_string(days) + " days left)" : " (expired)") + "\n";
            text +=
                "    usage    " + (usage.empty() ? std::string("-") : joined(usage, ", ")) + "\n";
            text += certificateFactsText(info);
            pemText += "# " + id + " " + info.subject + "\n" + pem(entry.der, "CERTIFICATE");
        }
        for (const card::SkippedCertificate& s : listing.skipped) {
            skippedJson.push_back({{"cardId", listing.cardId},
                                   {"reader", reader},
                                   {"slot", s.slot},
                                   {"reason", s.reason}});
            text += certificateId(listing.cardId, s.slot) + "  not usable: " + s.reason + "\n";
        }
    }
    if (cards == 0) {
        throw NoCardFound("no card in " + std::string(oneReader ? "the reader" : "any reader"));
    }
    if (filter && certificates.empty()) {
        throw CertificateNotFound("no certificate " + *line.value("cert") +
                                  " on the cards present");
    }
    if (line.has("json")) {
        printJson({{"certificates", certificates}, {"skipped", skippedJson}});
    } else if (line.has("pem")) {
        std::cout << pemText;
    } else {
        std::cout << text;
    }
}

// -------------------------------------------------------------------------------- pin / puk

void runPinStatus(const CommandLine& line) {
    const auto session = selectCard(line, std::nullopt);
    const card::PinStatus status = session->pinStatus();
    const bool pinpad = session->hasPinpad();
    if (line.has("json")) {
        printJson({{"reader", session->reader()},
                   {"retriesLeft", status.retriesLeft ? json(*status.retriesLeft) : json(nullptr)},
                   {"blocked", status.blocked},
                   {"pinpad", pinpad}});
        return;
    }
    if (status.blocked) {
        std::cout << "PIN blocked: unblock it with the PUK (tenderkey pin unblock)\n";
    } else if (status.retriesLeft) {
        std::cout << "PIN: " << *status.retriesLeft
                  << (*status.retriesLeft == 1 ? " try left\n" : " tries left\n");
    } else {
        std::cout << "PIN: tries left unknown (the card was reset to clear a verified state)\n";
    }
}

void report(const CommandLine& line, card::CardSession& session, const char* key,
            const std::string& message) {
    if (line.has("json")) {
        printJson({{"reader", session.reader()}, {key, true}});
    } else {
        std::cout << message << "\n";
    }
}

void runPinVerify(const CommandLine& line) {
    const auto session = selectCard(line, std::nullopt);
    const card::PinInput pin = obtainPin(line, *session, true);
    session->verifyPin(pin);
    report(line, *session, "verified", "PIN verified");
}

void runPinChange(const CommandLine& line) {
    const auto session = selectCard(line, std::nullopt);
    const card::ReferenceDataChange change =
        obtainChange(line, Secret::Pin, Secret::NewPin, *session);
    session->changePin(change);
    report(line, *session, "changed", "PIN changed");
}

void runPinUnblock(const CommandLine& line) {
    const auto session = selectCard(line, std::nullopt);
    const card::ReferenceDataChange change =
        obtainChange(line, Secret::Puk, Secret::NewPin, *session);
    session->unblockPin(change);
    report(line, *session, "unblocked", "PIN unblocked and set");
}

void runPukChange(const CommandLine& line) {
    const auto session = selectCard(line, std::nullopt);
    const card::ReferenceDataChange change =
        obtainChange(line, Secret::Puk, Secret::NewPuk, *session);
    session->changePuk(change);
    report(line, *session, "changed", "PUK changed");
}

// ------------------------------------------------------------------ sign / decrypt / derive

void runSign(const CommandLine& line) {
    const CertificateId id = parseCertificateId(line.required("cert"));
    const card::HashAlgorithm hash = hashOption(line);
    const std::string out = line.required("out");
    const card::Bytes content = readFile(line.required("in"));
    const bool pss = line.has("pss");
    const bool p1363 = line.has("p1363");

    const auto session = selectCard(line, id.cardId);
    card::SignRequest request;
    request.slot = id.slot;
    request.hash = hash;
    request.digest = crypto::digest(hash, content);
    request.pin = obtainPin(line, *session, card::CardSession::slotNeedsPin(id.slot));

    struct Signed {
        card::Bytes signature;
        card::KeyAlgorithm algorithm;
        std::string cardId;
    };
    Signed result = session->run(afterResetFor(id.slot), [&](card::Token& token) {
        const card::CertificateEntry& entry = certificateOn(token, id);
        const bool rsa = card::isRsa(entry.keyAlgorithm);
        if (!rsa && pss) {
            throw UsageError("--pss needs an RSA key; slot " + id.slot + " holds " +
                             std::string(card::keyAlgorithmName(entry.keyAlgorithm)));
        }
        if (rsa && p1363) {
            throw UsageError("--p1363 applies to ECDSA signatures only");
        }
        request.scheme =
            rsa ? (pss ? card::SignatureScheme::RsaPss : card::SignatureScheme::RsaPkcs1v15)
                : card::SignatureScheme::Ecdsa;
        card::Bytes signature = token.sign(request);
        return Signed{std::move(signature), entry.keyAlgorithm, token.cardId()};
    });
    if (p1363) {
        result.signature =
            crypto::ecdsaDerToP1363(result.signature, card::keySizeBytes(result.algorithm));
    }
    writeFile(out, result.signature);

    const std::string scheme(card::signatureSchemeName(request.scheme));
    const std::string hashName(card::hashAlgorithmName(hash));
    if (line.has("json")) {
        json document = {{"certificateId", certificateId(result.cardId, id.slot)},
                         {"reader", session->reader()},
                         {"keyAlgorithm", card::keyAlgorithmName(result.algorithm)},
                         {"algorithm", scheme},
                         {"hash", hashName},
                         {"out", out},
                         {"signature", base64(result.signature)}};
        if (request.scheme == card::SignatureScheme::Ecdsa) {
            document["signatureEncoding"] = p1363 ? "p1363" : "der";
        }
        printJson(document);
    } else if (out != "-") {
        std::cout << scheme << " signature with " << hashName << " by "
                  << certificateId(result.cardId, id.slot) << " ("
                  << card::keyAlgorithmName(result.algorithm) << ") written to " << out << "\n";
    }
}

void runDecrypt(const CommandLine& line) {
    const CertificateId id = parseCertificateId(line.required("cert"));
    const bool oaep = line.has("oaep");
    if (!oaep && line.value("hash")) {
        throw UsageError("--hash applies to --oaep only");
    }
    const card::HashAlgorithm hash = hashOption(line);
    const std::string out = line.required("out");

    const auto session = selectCard(line, id.cardId);
    card::DecryptRequest request;
    request.slot = id.slot;
    request.padding = oaep ? card::RsaDecryptPadding::Oaep : card::RsaDecryptPadding::Pkcs1v15;
    request.oaepHash = hash;
    request.ciphertext = readFile(line.required("in"));
    request.pin = obtainPin(line, *session, card::CardSession::slotNeedsPin(id.slot));

    struct Decrypted {
        card::SecureBytes plaintext;
        std::string cardId;
    };
    const Decrypted result = session->run(afterResetFor(id.slot), [&](card::Token& token) {
        (void)certificateOn(token, id);
        card::SecureBytes plaintext = token.decrypt(request);
        return Decrypted{std::move(plaintext), token.cardId()};
    });
    writeFile(out, result.plaintext.view(), true);

    const std::string padding = oaep ? "RSA-OAEP" : "RSAES-PKCS1-v1_5";
    if (line.has("json")) {
        json document = {{"certificateId", certificateId(result.cardId, id.slot)},
                         {"reader", session->reader()},
                         {"algorithm", padding},
                         {"out", out},
                         {"length", result.plaintext.size()}};
        if (oaep) {
            document["hash"] = card::hashAlgorithmName(hash);
        }
        printJson(document);
    } else if (out != "-") {
        std::cout << result.plaintext.size() << " bytes decrypted (" << padding << ") by "
                  << certificateId(result.cardId, id.slot) << ", written to " << out << "\n";
    }
}

void runDerive(const CommandLine& line) {
    const CertificateId id = parseCertificateId(line.required("cert"));
    const std::string out = line.required("out");
    const card::Bytes peer = peerPointFromFile(readFile(line.required("peer")));

    const auto session = selectCard(line, id.cardId);
    card::DeriveRequest request;
    request.slot = id.slot;
    request.peerPoint = peer;
    request.pin = obtainPin(line, *session, card::CardSession::slotNeedsPin(id.slot));

    struct Derived {
        card::SecureBytes secret;
        std::string cardId;
    };
    const Derived result = session->run(afterResetFor(id.slot), [&](card::Token& token) {
        (void)certificateOn(token, id);
        card::SecureBytes secret = token.deriveSharedSecret(request);
        return Derived{std::move(secret), token.cardId()};
    });
    writeFile(out, result.secret.view(), true);
    if (line.has("json")) {
        printJson({{"certificateId", certificateId(result.cardId, id.slot)},
                   {"reader", session->reader()},
                   {"out", out},
                   {"length", result.secret.size()}});
    } else if (out != "-") {
        std::cout << "ECDH shared secret (" << result.secret.size() << " bytes) by "
                  << certificateId(result.cardId, id.slot) << " written to " << out << "\n";
    }
}

}  // namespace

CommandRunner runnerFor(const CommandSpec& spec) {
    const std::string name = std::string(spec.command) + " " + std::string(spec.subcommand);
    if (name == "readers ") {
        return runReaders;
    }
    if (name == "certs ") {
        return runCertificates;
    }
    if (name == "pin status") {
        return runPinStatus;
    }
    if (name == "pin verify") {
        return runPinVerify;
    }
    if (name == "pin change") {
        return runPinChange;
    }
    if (name == "pin unblock") {
        return runPinUnblock;
    }
    if (name == "puk change") {
        return runPukChange;
    }
    if (name == "sign ") {
        return runSign;
    }
    if (name == "decrypt ") {
        return runDecrypt;
    }
    if (name == "derive ") {
        return runDerive;
    }
    if (name == "status ") {
        return runStatus;
    }
    if (name == "origins list") {
        return runOriginsList;
    }
    if (name == "origins add") {
        return runOriginsAdd;
    }
    if (name == "origins remove") {
        return runOriginsRemove;
    }
    if (name == "doctor ") {
        return runDoctor;
    }
    throw std::logic_error("no runner for command " + name);
}

}  // namespace tk::cli
