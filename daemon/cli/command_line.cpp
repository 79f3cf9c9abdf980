#include "cli/command_line.hpp"

#include <algorithm>

#include "cli/exit_status.hpp"

namespace tk::cli {
namespace {

// Options that take a value; every other option is a flag.
const std::set<std::string, std::less<>> kValueOptions = {
    "reader",       "cert",     "hash",         "in",     "out",    "peer",      "pin-file",
    "new-pin-file", "puk-file", "new-puk-file", "config", "reload", "warn-days",
};
const std::set<std::string, std::less<>> kFlagOptions = {
    "json", "dev", "help", "version", "pss", "p1363", "oaep", "last-attempt", "pem",
};
// Taken by every command.
const std::vector<std::string_view> kGlobalOptions = {"json", "dev", "help"};

constexpr std::string_view kPinOptions =
    "PIN and PUK come from, in this order: --pin-file/--new-pin-file/--puk-file/--new-puk-file\n"
    "(first line of the file), the environment variables TENDERKEY_PIN, TENDERKEY_NEW_PIN,\n"
    "TENDERKEY_PUK, TENDERKEY_NEW_PUK, the reader's pinpad, or the terminal (typed without echo;\n"
    "a new value is asked twice). PIN: 6-8 digits; PUK: 8 digits; a value that breaks the rule\n"
    "is refused before the card is used. --last-attempt allows a try when the card has only one\n"
    "left (without it, the card is not used and the exit status is 9).\n";

const std::vector<CommandSpec> kSpecs = {
    {"readers",
     "",
     {},
     "readers",
     "Lists the card readers, and for each one with a card: the card's ATR, type and id.\n"
     "Readers of the development driver (\"Virtual PCD\") are listed only with --dev.\n"},
    {"certs",
     "",
     {"reader", "cert", "pem"},
     "certs [--reader R] [--cert ID] [--pem]",
     "Lists the certificates on the cards (all readers, or --reader R): id, slot, key\n"
     "algorithm, PIN policy, subject, issuer, serial number, validity, key usage. The id\n"
     "(<cardId>:<slot>) is what --cert takes. --cert ID shows only that certificate; --pem\n"
     "prints the certificates as PEM instead. --json adds the DER (base64).\n"},
    {"pin",
     "status",
     {"reader"},
     "pin status [--reader R]",
     "Shows how many PIN tries are left. Uses no try and no PIN.\n"},
    {"pin",
     "verify",
     {"reader", "pin-file", "last-attempt"},
     "pin verify [--reader R] [--pin-file FILE] [--last-attempt]",
     "Checks the PIN. The card is not left unlocked afterwards.\n"},
    {"pin",
     "change",
     {"reader", "pin-file", "new-pin-file", "last-attempt"},
     "pin change [--reader R] [--pin-file FILE] [--new-pin-file FILE] [--last-attempt]",
     "Changes the PIN (current PIN, then the new one).\n"},
    {"pin",
     "unblock",
     {"reader", "puk-file", "new-pin-file", "last-attempt"},
     "pin unblock [--reader R] [--puk-file FILE] [--new-pin-file FILE] [--last-attempt]",
     "Sets a new PIN with the PUK and resets the PIN's try counter.\n"},
    {"puk",
     "change",
     {"reader", "puk-file", "new-puk-file", "last-attempt"},
     "puk change [--reader R] [--puk-file FILE] [--new-puk-file FILE] [--last-attempt]",
     "Changes the PUK (current PUK, then the new one).\n"},
    {"sign",
     "",
     {"reader", "cert", "hash", "pss", "p1363", "in", "out", "pin-file", "last-attempt"},
     "sign --cert ID --in FILE --out SIG [--hash H] [--pss] [--p1363] [--pin-file FILE]",
     "Hashes FILE with H (SHA-256, SHA-384 or SHA-512; default SHA-256) and signs the hash with\n"
     "the key of certificate ID: RSASSA-PKCS1-v1_5 for RSA keys (RSA-PSS with --pss: MGF1 with\n"
     "H, salt length = hash length), ECDSA for EC keys (DER Ecdsa-Sig-Value; r||s with --p1363).\n"
     "ID is <cardId>:<slot> as `tenderkey certs` shows it, or just the slot (9a, 9c, 9d, 9e,\n"
     "82...) when one card is present. The signature is checked with the certificate's key\n"
     "before it is written. Key 9E needs no PIN and none is asked.\n"},
    {"decrypt",
     "",
     {"reader", "cert", "oaep", "hash", "in", "out", "pin-file", "last-attempt"},
     "decrypt --cert ID --in FILE --out FILE [--oaep [--hash H]] [--pin-file FILE]",
     "Decrypts an RSA ciphertext (exactly the key's length) with the key of certificate ID and\n"
     "removes RSAES-PKCS1-v1_5 padding, or RSAES-OAEP with --oaep (MGF1 with H, empty label;\n"
     "H defaults to SHA-256). The plaintext file is created with mode 0600.\n"},
    {"derive",
     "",
     {"reader", "cert", "peer", "out", "pin-file", "last-attempt"},
     "derive --cert ID --peer FILE --out FILE [--pin-file FILE]",
     "ECDH with the EC key of certificate ID and the peer's public key (PEM or DER public key\n"
     "or certificate, or a raw uncompressed point). Writes the shared secret (the x coordinate)\n"
     "with mode 0600.\n"},
    {"status",
     "",
     {"config", "warn-days"},
     "status [--config FILE] [--warn-days N]",
     "The daemon (GET /health on every listener of the configuration: up or down, version,\n"
     "readers it sees), the readers and cards (through PC/SC, as `readers` does), and the\n"
     "certificates with their expiry: a warning for those expiring within N days (default 30)\n"
     "or expired. Exit status 0 all well, 18 the daemon does not answer on a listener, 19\n"
     "warnings (certificate expiring or expired, PC/SC not running, no reader, configuration\n"
     "that does not load).\n"},
    {"origins",
     "list",
     {"config"},
     "origins list [--config FILE]",
     "The origin allow-list of the daemon's configuration (default\n"
     "/etc/tenderkey/tenderkeyd.toml; on Windows %ProgramData%\\TenderKey\\tenderkeyd.toml)\n"
     "with each entry's capabilities, marked [administrator],\n"
     "then the origins users allowed in the bridge window (the daemon's state directory,\n"
     "consent.json), marked [consent], with the date given and when each expires. Run it as\n"
     "the daemon's user (sudo -u tenderkey) to read the system daemon's state directory.\n"},
    {"origins",
     "add",
     {"config", "reload"},
     "origins add ORIGIN[=CAPS] [--config FILE] [--reload MODE]",
     "Adds ORIGIN to the allow-list (CAPS: comma-separated read, sign, decrypt, register,\n"
     "manage; without it read,sign,decrypt,register), or changes the capabilities of an entry\n"
     "that is there. The daemon's own rules apply (no http: except loopback, no wildcard on a\n"
     "public suffix, no null). The file is edited in place (comments stay), checked with the\n"
     "daemon's loader, and replaced atomically; then the daemon is asked to reload. MODE: auto\n"
     "(systemctl reload tenderkeyd.service when systemd runs it, else SIGHUP to the tenderkeyd\n"
     "processes reading this file), systemd, signal, none. On Windows: auto\n"
     "(SERVICE_CONTROL_PARAMCHANGE to the TenderKey service when it reads this file), service,\n"
     "none.\n"},
    {"origins",
     "remove",
     {"config", "reload"},
     "origins remove ORIGIN [--config FILE] [--reload MODE]",
     "Removes ORIGIN's [[origins]] table from the configuration and asks the daemon to reload;\n"
     "pages of that origin that are connected are disconnected (1008). See origins add. A\n"
     "user's consent for ORIGIN (origins list, [consent]) is removed too; the next bridge\n"
     "window of that origin asks again.\n"},
    {"doctor",
     "",
     {"config"},
     "doctor [--config FILE]",
     "Checks the installation and says how to fix what is wrong: configuration, origins,\n"
     "PC/SC service, readers, each listener (TenderKey, another program, or nothing), each\n"
     "PKCS#11 module, polkit access of the daemon's user (on Windows: the TenderKey service\n"
     "and the access lists of its folders), and the browser's Local Network Access. Each\n"
     "check is ok, warn, fail or info. Exit status 0 all ok, 19 warnings, 20 a check failed.\n"},
};

// Commands that take one operand after their words (origins add ORIGIN).
bool takesOperand(const CommandSpec& spec) {
    return spec.command == "origins" && (spec.subcommand == "add" || spec.subcommand == "remove");
}

bool takesPin(const CommandSpec& spec) {
    return std::find(spec.options.begin(), spec.options.end(), "last-attempt") !=
           spec.options.end();
}

std::string joinOptions(const std::vector<std::string_view>& options) {
    std::string text;
    for (const auto option : options) {
        text += (text.empty() ? "--" : ", --") + std::string(option);
    }
    return text;
}

}  // namespace

std::optional<std::string> CommandLine::value(const std::string& name) const {
    const auto found = values.find(name);
    if (found == values.end()) {
        return std::nullopt;
    }
    return found->second;
}

const std::string& CommandLine::required(const std::string& name) const {
    const auto found = values.find(name);
    if (found == values.end()) {
        throw UsageError("--" + name + " is required");
    }
    return found->second;
}

CommandLine parseCommandLine(int argc, const char* const* argv) {
    CommandLine line;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "-h") {
            line.flags.insert("help");
            continue;
        }
        if (!arg.starts_with("--") || arg == "--") {
            if (arg.starts_with("-") && arg.size() > 1) {
                throw UsageError("unknown option " + std::string(arg) + " (see tenderkey --help)");
            }
            line.words.emplace_back(arg);
            continue;
        }
        std::string_view name = arg.substr(2);
        std::optional<std::string> inlineValue;
        if (const auto eq = name.find('='); eq != std::string_view::npos) {
            inlineValue = std::string(name.substr(eq + 1));
            name = name.substr(0, eq);
        }
        const std::string key(name);
        if (kValueOptions.count(name) != 0) {
            std::string value;
            if (inlineValue) {
                value = *inlineValue;
            } else if (i + 1 < argc) {
                value = argv[++i];
            } else {
                throw UsageError("--" + key + " needs a value");
            }
            if (!line.values.emplace(key, std::move(value)).second) {
                throw UsageError("--" + key + " given twice");
            }
        } else if (kFlagOptions.count(name) != 0) {
            if (inlineValue) {
                throw UsageError("--" + key + " takes no value");
            }
            line.flags.insert(key);
        } else {
            throw UsageError("unknown option --" + key + " (see tenderkey --help)");
        }
    }
    return line;
}

const std::vector<CommandSpec>& commandSpecs() {
    return kSpecs;
}

const CommandSpec* findCommand(const std::vector<std::string>& words) {
    if (words.empty()) {
        return nullptr;
    }
    for (const CommandSpec& spec : kSpecs) {
        if (spec.command != words[0]) {
            continue;
        }
        if (spec.subcommand.empty()) {
            return &spec;
        }
        if (words.size() >= 2 && spec.subcommand == words[1]) {
            return &spec;
        }
    }
    return nullptr;
}

void checkOptions(const CommandSpec& spec, const CommandLine& line) {
    const std::size_t expectedWords =
        (spec.subcommand.empty() ? 1 : 2) + (takesOperand(spec) ? 1 : 0);
    if (line.words.size() > expectedWords) {
        throw UsageError("unexpected argument '" + line.words[expectedWords] + "'");
    }
    const auto allowed = [&spec](const std::string& option) {
        return std::find(spec.options.begin(), spec.options.end(), option) != spec.options.end() ||
               std::find(kGlobalOptions.begin(), kGlobalOptions.end(), option) !=
                   kGlobalOptions.end();
    };
    std::string name(spec.command);
    if (!spec.subcommand.empty()) {
        name += " " + std::string(spec.subcommand);
    }
    const auto refuse = [&name](const std::string& option) {
        std::string message = "'";
        message += name;
        message += "' does not take --";
        message += option;
        message += " (see tenderkey ";
        message += name;
        message += " --help)";
        throw UsageError(message);
    };
    for (const auto& [option, value] : line.values) {
        if (!allowed(option)) {
            refuse(option);
        }
    }
    for (const std::string& option : line.flags) {
        if (!allowed(option)) {
            refuse(option);
        }
    }
}

std::string generalHelp() {
    std::string text =
        "tenderkey - smart-card and administration tool of TenderKey: PIV cards through PC/SC,\n"
        "the daemon's status, origin allow-list and installation checks\n"
        "\n"
        "Usage: tenderkey [--json] [--dev] COMMAND [OPTIONS]\n"
        "\n"
        "Commands:\n";
    for (const CommandSpec& spec : kSpecs) {
        text += "  tenderkey " + std::string(spec.synopsis) + "\n";
    }
    text +=
        "\n"
        "Options of every command:\n"
        "  --json       one JSON document on stdout (errors too: {\"error\":{...}})\n"
        "  --dev        also use development readers (\"Virtual PCD ...\")\n"
        "  --reader R   the reader to use (default: the only reader with a card)\n"
        "  --config F   the daemon's configuration (default /etc/tenderkey/tenderkeyd.toml)\n"
        "  --help, -h   help of a command: tenderkey sign --help\n"
        "  --version    the tool's version\n"
        "\n";
    text += kPinOptions;
    text +=
        "\n"
        "Exit status: 0 ok, 1 usage, 2 no reader or card, 3 wrong PIN/PUK, 4 blocked, 5 PIN\n"
        "format, 6 card error, 7 PC/SC service not running, 8 card removed or reset, 9 last try\n"
        "refused, 10 no PIN source, 11 key not found or not usable so, 12 decryption failed,\n"
        "13 file error, 14 card in use by another application, 15 configuration invalid, 16\n"
        "configuration being edited by another process, 17 daemon reload failed, 18 daemon not\n"
        "answering, 19 warnings, 20 a doctor check failed, 70 internal error.\n";
    return text;
}

std::string commandHelp(const std::vector<std::string>& words) {
    std::string text;
    for (const CommandSpec& spec : kSpecs) {
        if (spec.command != words[0] ||
            (words.size() >= 2 && !spec.subcommand.empty() && spec.subcommand != words[1])) {
            continue;
        }
        if (!text.empty()) {
            text += "\n";
        }
        text += "Usage: tenderkey " + std::string(spec.synopsis) + "\n\n" + std::string(spec.help);
        std::vector<std::string_view> options = spec.options;
        options.insert(options.end(), kGlobalOptions.begin(), kGlobalOptions.end());
        text += "\nOptions: " + joinOptions(options) + "\n";
        if (takesPin(spec)) {
            text += "\n" + std::string(kPinOptions);
        }
    }
    if (text.empty()) {
        throw UsageError("unknown command '" + words[0] + "' (see tenderkey --help)");
    }
    return text;
}

}  // namespace tk::cli
