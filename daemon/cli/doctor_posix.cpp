#include <pwd.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "cli/daemon_link_posix.hpp"
#include "cli/doctor_platform.hpp"

namespace tk::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDaemonUser = "tenderkey";
constexpr const char* kPcscPolkitPolicy = "/usr/share/polkit-1/actions/org.debian.pcsc-lite.policy";

std::string readFileText(const fs::path& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

Check checkPolkit() {
    const std::string id = "polkit";
    struct stat st {};
    if (::stat(kPcscPolkitPolicy, &st) != 0) {
        return {id, "ok",
                "pcscd on this machine does not ask polkit (no org.debian.pcsc-lite policy "
                "installed): every local user may use PC/SC",
                ""};
    }
    const bool userExists = ::getpwnam(kDaemonUser) != nullptr;
    const std::vector<std::int64_t> daemons = daemonProcesses();
    if (!daemons.empty()) {
        const std::string pid = std::to_string(daemons.front());
        std::string output;
        const int pcsc = runProgram(
            {"pkcheck", "--action-id", "org.debian.pcsc-lite.access_pcsc", "--process", pid},
            &output);
        const int cardAccess = runProgram(
            {"pkcheck", "--action-id", "org.debian.pcsc-lite.access_card", "--process", pid});
        if (pcsc == 0 && cardAccess == 0) {
            return {id, "ok",
                    "polkit lets tenderkeyd (pid " + pid + ") use PC/SC and the cards (pkcheck)",
                    ""};
        }
        if (pcsc == 1 || pcsc == 2 || cardAccess == 1 || cardAccess == 2) {
            return {id, "fail",
                    "polkit refuses tenderkeyd (pid " + pid +
                        ") org.debian.pcsc-lite.access_pcsc or access_card",
                    "install the polkit rule of the package (/usr/share/polkit-1/rules.d/) that "
                    "allows user tenderkey both actions, then systemctl restart tenderkeyd"};
        }
        // pkcheck missing (-1) or polkitd not reachable: fall back to reading the rules.
    }
    for (const char* dir : {"/etc/polkit-1/rules.d", "/usr/share/polkit-1/rules.d"}) {
        std::error_code error;
        for (const auto& entry : fs::directory_iterator(dir, error)) {
            const std::string text = readFileText(entry.path());
            if (text.find("org.debian.pcsc-lite") != std::string::npos &&
                text.find(kDaemonUser) != std::string::npos) {
                return {id, userExists ? "ok" : "warn",
                        "the rule " + entry.path().string() +
                            " mentions user tenderkey and the pcsc-lite actions" +
                            (userExists ? "" : ", but user tenderkey does not exist"),
                        userExists ? "" : "reinstall the package (it creates user tenderkey)"};
            }
        }
    }
    return {id, "warn",
            "pcscd asks polkit, and whether user tenderkey may use PC/SC could not be "
            "determined (no running daemon to ask pkcheck about, no rule naming it)",
            "install the package's polkit rule allowing user tenderkey "
            "org.debian.pcsc-lite.access_pcsc and access_card; `tenderkey doctor` with the "
            "daemon running asks pkcheck"};
}

}  // namespace

const PlatformHints& platformHints() {
    static const PlatformHints hints{
        .pcscService = "the PC/SC service (pcscd)",
        .pcscStart =
            "install and start it: apt install pcscd; systemctl enable --now pcscd.socket "
            "(it also starts on demand when its socket is enabled)",
        .readersFix =
            "connect the reader; `pcsc_scan` (package pcsc-tools) shows what pcscd sees; "
            "USB CCID readers need the package libccid; then `journalctl -u pcscd`",
        .exampleConfig =
            "/usr/share/doc/tenderkey/tenderkeyd.example.toml or "
            "daemon/service/tenderkeyd.example.toml",
        .daemonStart =
            "systemctl enable --now tenderkeyd; if it stops again, "
            "`journalctl -u tenderkeyd -b` says why (tenderkeyd exits 2 on a bad "
            "configuration, 1 when the port is taken)",
        .daemonReload = "`systemctl reload tenderkeyd`",
        .daemonRestart = "systemctl restart tenderkeyd",
        .daemonLogs = "journalctl -u tenderkeyd",
        .readersHiddenFix =
            "the daemon's user may not be allowed to use PC/SC (see the polkit "
            "check), or the reader is a development one and the daemon runs "
            "without development_mode; see journalctl -u tenderkeyd",
        .hipkiEnable =
            "systemctl enable --now tenderkeyd-hipki.socket; systemctl restart tenderkeyd",
        .hipkiNotAnswering =
            "systemctl restart tenderkeyd; `journalctl -u tenderkeyd -b` says "
            "why it does not run",
        .hipkiSockets = " (sockets of tenderkeyd-hipki.socket)",
        .hipkiUnsetOff = "tenderkeyd-hipki.socket is not enabled",
    };
    return hints;
}

std::string portHolderCommand(std::uint16_t port) {
    return "`ss -ltnp 'sport = :" + std::to_string(port) + "'`";
}

std::vector<Check> platformChecks(const std::string& /*configPath*/) {
    return {checkPolkit()};
}

}  // namespace tk::cli
