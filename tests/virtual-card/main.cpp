// tenderkey-vcard: a virtual PIV card for the vsmartcard vpcd reader driver.

#include <sys/signalfd.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "card_issuer.hpp"
#include "card_runner.hpp"
#include "card_state.hpp"
#include "piv_card.hpp"

namespace {

using tk::vcard::CardState;

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

constexpr char kMainHelp[] = R"(Usage: tenderkey-vcard <command> [options]

A virtual PIV card (SP 800-73-4) that plugs into pcscd through the vsmartcard vpcd
reader driver. For development and tests only.

Commands:
  init   create a fresh card (keys, certificates, objects) and its test CA
  run    insert the card into a vpcd reader and serve it until SIGTERM/SIGINT

Run 'tenderkey-vcard <command> --help' for the options of a command.
)";

constexpr char kInitHelp[] = R"(Usage: tenderkey-vcard init --state FILE [options]

Creates a fresh card in FILE (JSON) and writes the issuing test CA next to it as
ca.pem and ca-key.pem.

Keys: 9A, 9C, 9D RSA (--rsa-bits), 9E EC P-256, retired slot 82 EC P-384, each
with a certificate from the test CA; CHUID, CCC, Discovery and key history objects;
default 3DES management key 010203040506070801020304050607080102030405060708.

Options:
  --state FILE        card state file to create (required)
  --rsa-bits N        2048 (default), 3072 or 4096: size of the 9A/9C/9D keys
  --signature-key A   rsa (default), p256 or p384: the algorithm of the 9C key
  --pin PIN           6-8 digits (default 123456)
  --puk PUK           1-8 characters (default 12345678)
  --pin-tries N       PIN retry counter, 1-15 (default 3)
  --puk-tries N       PUK retry counter, 1-15 (default 3)
  --serial N          card serial number (default: random, stable for the card)
  --force             overwrite an existing state file
  --help              show this help
)";

constexpr char kRunHelp[] = R"(Usage: tenderkey-vcard run --state FILE [options]

Connects to vpcd (the card is then "inserted") and serves APDUs until SIGTERM or
SIGINT (exit 0). SIGUSR1 removes the card, SIGUSR2 inserts it again. Persistent
changes (retry counters, PINs, keys, data objects) are saved to FILE at once.

Options:
  --state FILE           card state created by 'init' (required)
  --vpcd HOST:PORT       vpcd reader socket (default 127.0.0.1:35963; the second
                         reader of a vpcd entry listens on 35964)
  --connect-timeout S    keep trying to reach vpcd for S seconds (default 10)
  --delay-ms N           answer every APDU N milliseconds late
  --apdu-log FILE        append one line per APDU (header, lengths, status; never
                         data) and one '# ...' line per card event
  --control PATH         unix socket taking one command per line:
                           remove | insert | status | delay MS |
                           fault none|garbage|truncate|remove-on-ins XX
  --fault MODE           initial fault: none, garbage, truncate, remove-on-ins:XX
  --help                 show this help

Exit status: 0 stopped by signal, 1 runtime failure (state, vpcd unreachable),
2 usage error.
)";

class UsageError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// --name value / --name=value options; flags take no value.
std::map<std::string, std::string> parse_options(const std::vector<std::string>& args,
                                                 const std::vector<std::string>& valued,
                                                 const std::vector<std::string>& flags) {
    std::map<std::string, std::string> out;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string name = args[i];
        std::optional<std::string> value;
        if (name.rfind("--", 0) != 0) {
            throw UsageError("unexpected argument '" + name + "'");
        }
        if (const std::size_t eq = name.find('='); eq != std::string::npos) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
        }
        name = name.substr(2);
        const bool is_valued = std::find(valued.begin(), valued.end(), name) != valued.end();
        const bool is_flag = std::find(flags.begin(), flags.end(), name) != flags.end();
        if (!is_valued && !is_flag) {
            throw UsageError("unknown option --" + name);
        }
        if (is_flag) {
            if (value) {
                throw UsageError("--" + name + " takes no value");
            }
            out[name] = "1";
            continue;
        }
        if (!value) {
            if (i + 1 >= args.size()) {
                throw UsageError("--" + name + " needs a value");
            }
            value = args[++i];
        }
        out[name] = *value;
    }
    return out;
}

long parse_number(const std::map<std::string, std::string>& opts, const std::string& name,
                  long fallback, long min, long max) {
    const auto it = opts.find(name);
    if (it == opts.end()) {
        return fallback;
    }
    try {
        std::size_t used = 0;
        const long v = std::stol(it->second, &used, 10);
        if (used == it->second.size() && v >= min && v <= max) {
            return v;
        }
    } catch (const std::exception&) {
    }
    throw UsageError("--" + name + " must be a number from " + std::to_string(min) + " to " +
                     std::to_string(max));
}

std::filesystem::path required_state(const std::map<std::string, std::string>& opts) {
    const auto it = opts.find("state");
    if (it == opts.end() || it->second.empty()) {
        throw UsageError("--state FILE is required");
    }
    return it->second;
}

int run_init(const std::vector<std::string>& args) {
    const auto opts = parse_options(
        args,
        {"state", "rsa-bits", "signature-key", "pin", "puk", "pin-tries", "puk-tries", "serial"},
        {"force", "help"});
    if (opts.count("help") != 0) {
        std::fputs(kInitHelp, stdout);
        return kExitOk;
    }
    const std::filesystem::path state_path = required_state(opts);
    tk::vcard::IssueOptions issue;
    issue.rsa_bits = static_cast<unsigned>(parse_number(opts, "rsa-bits", 2048, 2048, 4096));
    if (opts.count("signature-key") != 0) {
        const std::string& key = opts.at("signature-key");
        if (key == "p256") {
            issue.signature_algorithm = tk::vcard::alg::kEccP256;
        } else if (key == "p384") {
            issue.signature_algorithm = tk::vcard::alg::kEccP384;
        } else if (key != "rsa") {
            throw UsageError("--signature-key must be rsa, p256 or p384");
        }
    }
    issue.pin = opts.count("pin") != 0 ? opts.at("pin") : issue.pin;
    issue.puk = opts.count("puk") != 0 ? opts.at("puk") : issue.puk;
    issue.pin_tries = static_cast<int>(parse_number(opts, "pin-tries", 3, 1, 15));
    issue.puk_tries = static_cast<int>(parse_number(opts, "puk-tries", 3, 1, 15));
    if (opts.count("serial") != 0) {
        issue.serial = static_cast<std::uint32_t>(parse_number(opts, "serial", 0, 1, 0xFFFFFFFFL));
    }
    if (std::filesystem::exists(state_path) && opts.count("force") == 0) {
        std::fprintf(stderr, "tenderkey-vcard: %s exists (use --force to replace it)\n",
                     state_path.c_str());
        return kExitFailure;
    }
    tk::vcard::IssuedCard card = [&] {
        try {
            return tk::vcard::issue_card(issue);
        } catch (const std::invalid_argument& e) {
            throw UsageError(e.what());
        }
    }();
    const std::filesystem::path dir =
        state_path.parent_path().empty() ? std::filesystem::path(".") : state_path.parent_path();
    tk::vcard::write_file_atomically(dir / "ca.pem", card.ca.certificate_pem(), 0644);
    std::string ca_key = card.ca.private_key_pem();
    tk::vcard::write_file_atomically(dir / "ca-key.pem", ca_key, 0600);
    OPENSSL_cleanse(ca_key.data(), ca_key.size());
    card.state.save(state_path);
    std::printf("card %u created in %s (CA: %s)\n", card.state.serial, state_path.c_str(),
                (dir / "ca.pem").c_str());
    return kExitOk;
}

// Blocks the signals the runner consumes and returns a signalfd for them.
int make_signal_fd() {
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGTERM, SIGINT, SIGUSR1, SIGUSR2}) {
        sigaddset(&set, s);
    }
    if (sigprocmask(SIG_BLOCK, &set, nullptr) != 0) {
        throw std::runtime_error(std::string("sigprocmask: ") + std::strerror(errno));
    }
    const int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0) {
        throw std::runtime_error(std::string("signalfd: ") + std::strerror(errno));
    }
    return fd;
}

int run_card(const std::vector<std::string>& args) {
    const auto opts = parse_options(
        args, {"state", "vpcd", "connect-timeout", "delay-ms", "apdu-log", "control", "fault"},
        {"help"});
    if (opts.count("help") != 0) {
        std::fputs(kRunHelp, stdout);
        return kExitOk;
    }
    const std::filesystem::path state_path = required_state(opts);
    tk::vcard::RunnerOptions runner;
    if (opts.count("vpcd") != 0) {
        try {
            std::tie(runner.host, runner.port) = tk::vcard::parse_endpoint(opts.at("vpcd"));
        } catch (const std::invalid_argument& e) {
            throw UsageError(e.what());
        }
    }
    runner.connect_timeout =
        std::chrono::seconds(parse_number(opts, "connect-timeout", 10, 0, 3600));
    runner.delay = std::chrono::milliseconds(parse_number(opts, "delay-ms", 0, 0, 600000));
    if (opts.count("fault") != 0) {
        const auto fault = tk::vcard::Fault::parse(opts.at("fault"));
        if (!fault) {
            throw UsageError("--fault must be none, garbage, truncate or remove-on-ins:XX");
        }
        runner.fault = *fault;
    }
    if (opts.count("apdu-log") != 0) {
        runner.apdu_log_path = opts.at("apdu-log");
    }
    if (opts.count("control") != 0) {
        runner.control_path = opts.at("control");
    }

    CardState state = CardState::load(state_path);
    tk::vcard::PivCard card(state, [state_path](const CardState& s) { s.save(state_path); });
    runner.signal_fd = make_signal_fd();
    std::signal(SIGPIPE, SIG_IGN);
    int status = kExitFailure;
    {
        tk::vcard::CardRunner card_runner(card, runner);
        status = card_runner.run();
    }
    ::close(runner.signal_fd);
    return status;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        std::fputs(kMainHelp, args.empty() ? stderr : stdout);
        return args.empty() ? kExitUsage : kExitOk;
    }
    const std::string command = args[0];
    args.erase(args.begin());
    try {
        if (command == "init") {
            return run_init(args);
        }
        if (command == "run") {
            return run_card(args);
        }
        throw UsageError("unknown command '" + command + "'");
    } catch (const UsageError& e) {
        const std::string help =
            command == "init" || command == "run" ? command + " --help" : "--help";
        std::fprintf(stderr, "tenderkey-vcard: %s\nTry 'tenderkey-vcard %s'.\n", e.what(),
                     help.c_str());
        return kExitUsage;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "tenderkey-vcard: %s\n", e.what());
        return kExitFailure;
    }
}
