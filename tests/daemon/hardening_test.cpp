// What the daemon leaves behind: tenderkeyd as a process next to a private pcscd with a virtual
// PIV card (tests/harness/with-cards), its memory read from the outside after real requests,
// and its log read after hostile ones.
//
// SecretMemory drives a signature and a raw RSA decryption with a PIN and a plaintext that
// occur nowhere else, then other requests, then reads every writable mapping of the daemon
// (/proc/PID/maps + /proc/PID/mem, as root: the daemon is not dumpable, so only a process
// with CAP_SYS_PTRACE may read it) and looks for the PIN, the plaintext and their base64.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "support/daemon_process.hpp"
#include "support/openssl_util.hpp"
#include "support/test_env.hpp"
#include "support/ws_client.hpp"

namespace tk::test {
namespace {

using json = nlohmann::json;

const std::string kOrigin = "https://portal.example.gov.tw";
// The card is made with this PIN (see tests/daemon/CMakeLists.txt): eight digits that are in
// no other message, file or library.
const std::string kPin = "73915846";
// 32 bytes, an AES-256 key as a sealed bid would carry it.
const std::string kPlaintext = "Qz7!sealed-bid-key#4f1c9e2b7d05a";
const std::string kContent = "TenderKey bid 2025-0042: one lot, firm price.";

std::string rsaEncrypt(const std::string& certificate, const std::string& plaintext) {
    PKey key = publicKeyOf(certificate);
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
        EVP_PKEY_CTX_new(key.get(), nullptr), EVP_PKEY_CTX_free);
    std::size_t length = 0;
    const auto* in = reinterpret_cast<const unsigned char*>(plaintext.data());
    if (EVP_PKEY_encrypt_init(ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1 ||
        EVP_PKEY_encrypt(ctx.get(), nullptr, &length, in, plaintext.size()) != 1) {
        throw std::runtime_error("encryption set-up failed");
    }
    std::string out(length, '\0');
    if (EVP_PKEY_encrypt(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &length, in,
                         plaintext.size()) != 1) {
        throw std::runtime_error("encryption failed");
    }
    out.resize(length);
    return out;
}

bool signatureVerifies(const std::string& certificate, const std::string& signature) {
    PKey key = publicKeyOf(certificate);
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    return EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) == 1 &&
           EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                            signature.size(),
                            reinterpret_cast<const unsigned char*>(kContent.data()),
                            kContent.size()) == 1;
}

// The base64 characters that encode `bytes` whatever the alignment of the encoder's groups:
// for each of the three offsets, the full groups inside the text (what a search can rely on).
std::vector<std::string> base64Forms(const std::string& bytes) {
    std::vector<std::string> forms;
    for (std::size_t skip = 0; skip < 3; ++skip) {
        const std::size_t usable = (bytes.size() - skip) / 3 * 3;
        std::string encoded = base64Encode(bytes.substr(skip, usable));
        forms.push_back(encoded);
    }
    return forms;
}

// Every `length`-byte piece of `text` (the whole text when shorter), labelled with `what`.
void addPieces(std::vector<std::pair<std::string, std::string>>& needles, const std::string& what,
               const std::string& text, std::size_t length) {
    if (text.size() <= length) {
        needles.emplace_back(what, text);
        return;
    }
    for (std::size_t at = 0; at + length <= text.size(); ++at) {
        needles.emplace_back(
            what + " (bytes " + std::to_string(at) + "-" + std::to_string(at + length - 1) + ")",
            text.substr(at, length));
    }
}

struct Mapping {
    std::uintptr_t start = 0;
    std::uintptr_t end = 0;
    std::string permissions;
    std::string name;  // path, [heap], [stack], ... or empty for anonymous memory

    std::string describe() const {
        std::ostringstream out;
        out << std::hex << start << "-" << end << " " << permissions << " "
            << (name.empty() ? "(anonymous)" : name);
        return out.str();
    }
};

std::vector<Mapping> writableMappings(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/maps");
    std::vector<Mapping> mappings;
    for (std::string line; std::getline(in, line);) {
        std::istringstream fields(line);
        std::string range, permissions, offset, device, inode, name;
        fields >> range >> permissions >> offset >> device >> inode;
        std::getline(fields >> std::ws, name);
        if (permissions.size() < 2 || permissions[1] != 'w' || name == "[vvar]") {
            continue;
        }
        Mapping m;
        m.start = std::stoull(range.substr(0, range.find('-')), nullptr, 16);
        m.end = std::stoull(range.substr(range.find('-') + 1), nullptr, 16);
        m.permissions = permissions;
        m.name = name;
        mappings.push_back(m);
    }
    return mappings;
}

struct Hit {
    std::string what;
    Mapping mapping;
    std::uintptr_t address = 0;
    std::string context;  // the bytes around it, escaped, to tell which buffer it is
};

std::string escaped(std::string_view bytes) {
    std::string out;
    for (const char c : bytes) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7F) {
            out += c;
        } else {
            char hex[5];
            std::snprintf(hex, sizeof hex, "\\x%02x", u);
            out += hex;
        }
    }
    return out;
}

// Every occurrence of each needle in the process's writable memory.
// Mappings larger than this are not read: only a sanitizer build has them (AddressSanitizer
// reserves terabytes for its shadow and allocator), and the test names each one it leaves.
constexpr std::size_t kLargestReadMapping = std::size_t{1} << 30;

struct MemoryScan {
    std::vector<Hit> hits;
    std::size_t bytesRead = 0;
    std::vector<std::string> notRead;  // mappings or parts of them, with the reason
};

// Every occurrence of each needle in the process's writable memory, read in chunks that
// overlap by more than the longest needle.
MemoryScan findInMemory(pid_t pid,
                        const std::vector<std::pair<std::string, std::string>>& needles) {
    const std::string path = "/proc/" + std::to_string(pid) + "/mem";
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) {
        throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
    }
    constexpr std::size_t kChunk = std::size_t{4} << 20;
    constexpr std::size_t kOverlap = 256;
    MemoryScan scan;
    for (const Mapping& m : writableMappings(pid)) {
        if (m.end - m.start > kLargestReadMapping) {
            scan.notRead.push_back(m.describe() + ": larger than 1 GiB");
            continue;
        }
        for (std::uintptr_t at = m.start; at < m.end; at += kChunk) {
            std::string memory(std::min<std::size_t>(kChunk + kOverlap, m.end - at), '\0');
            std::size_t got = 0;
            while (got < memory.size()) {
                const ssize_t n = ::pread(fd, memory.data() + got, memory.size() - got,
                                          static_cast<off_t>(at + got));
                if (n <= 0) {
                    break;
                }
                got += static_cast<std::size_t>(n);
            }
            if (got < memory.size()) {
                std::ostringstream part;
                part << m.describe() << ": " << memory.size() - got << " bytes at 0x" << std::hex
                     << at + got << " unreadable";
                scan.notRead.push_back(part.str());
                memory.resize(got);
            }
            scan.bytesRead += std::min(got, kChunk);
            for (const auto& [what, needle] : needles) {
                for (std::size_t offset = memory.find(needle);
                     offset != std::string::npos && offset < kChunk;
                     offset = memory.find(needle, offset + 1)) {
                    const std::size_t from = offset >= 48 ? offset - 48 : 0;
                    scan.hits.push_back(
                        {what, m, at + offset,
                         escaped(std::string_view(memory).substr(from, 48 + needle.size() + 48))});
                }
            }
        }
    }
    ::close(fd);
    return scan;
}

class SecretMemory : public ::testing::Test {
  protected:
    void SetUp() override {
        port_ = freePort();
        daemon_ = std::make_unique<ChildProcess>(
            TK_DAEMON_BINARY,
            std::vector<std::string>{"--dev", "--port", std::to_string(port_), "--allow-origin",
                                     kOrigin},
            env("TK_HARNESS_DIR") + "/tenderkeyd.log");
        ASSERT_TRUE(daemon_->waitForLog("listening on", 15s)) << daemon_->log();
    }

    void TearDown() override {
        if (HasFailure() && daemon_) {
            std::cerr << "---- tenderkeyd log ----\n" << daemon_->log();
        }
    }

    std::unique_ptr<WsClient> connect() {
        auto c = std::make_unique<WsClient>("127.0.0.1", port_);
        const auto r = c->open(kOrigin);
        if (r.status != 101) {
            throw std::runtime_error("handshake refused: " + std::to_string(r.status));
        }
        return c;
    }

    json certificate(WsClient& c, const std::string& slot) {
        for (int i = 0; i < 300; ++i) {
            const auto r = c.call("certificates.list");
            for (const auto& cert : r["result"]["certificates"]) {
                if (cert["slot"] == slot) {
                    return cert;
                }
            }
            std::this_thread::sleep_for(50ms);
        }
        throw std::runtime_error("no certificate in slot " + slot);
    }

    std::uint16_t port_ = 0;
    std::unique_ptr<ChildProcess> daemon_;
};

TEST_F(SecretMemory, AfterSignAndRawDecrypt_NoPinNoPlaintextInDaemonMemory) {
    auto c = connect();
    auto other = connect();
    const json signing = certificate(*c, "9c");
    const json decryption = certificate(*c, "9d");

    const auto decrypted = c->call(
        "decrypt", {{"certificateId", decryption["id"]},
                    {"pin", kPin},
                    {"algorithm", "RSAES-PKCS1-v1_5"},
                    {"ciphertext", base64Encode(rsaEncrypt(decryption["der"], kPlaintext))}});
    ASSERT_TRUE(decrypted.contains("result")) << decrypted.dump();
    ASSERT_EQ(base64Decode(decrypted["result"]["data"]), kPlaintext);

    // Signed last: its message, PIN at the end, is the last long one the daemon reads.
    const auto signature = c->call(
        "sign",
        {{"certificateId", signing["id"]}, {"pin", kPin}, {"data", base64Encode(kContent)}});
    ASSERT_TRUE(signature.contains("result")) << signature.dump();
    EXPECT_TRUE(signatureVerifies(signing["der"], base64Decode(signature["result"]["signature"])));

    // Shorter requests after them, on this connection and another: they overwrite only the
    // start of what the longer ones left in a reused buffer.
    EXPECT_TRUE(c->call("system.info").contains("result"));
    EXPECT_TRUE(other->call("readers.list").contains("result"));
    EXPECT_TRUE(c->call("pin.status", {{"cardId", signing["cardId"]}}).contains("result"));
    // The connections stay open, as a portal's do; the answers have been read.
    std::this_thread::sleep_for(200ms);

    // Pieces too: a freed buffer whose first bytes the allocator reused still holds the rest.
    std::vector<std::pair<std::string, std::string>> needles;
    addPieces(needles, "PIN", kPin, 6);
    addPieces(needles, "plaintext", kPlaintext, 12);
    for (const auto& form : base64Forms(kPin)) {
        addPieces(needles, "base64 of the PIN", form, 8);
    }
    for (const auto& form : base64Forms(kPlaintext)) {
        addPieces(needles, "base64 of the plaintext", form, 12);
    }
    MemoryScan scan = findInMemory(daemon_->pid(), needles);
    auto& hits = scan.hits;
    std::sort(hits.begin(), hits.end(),
              [](const Hit& a, const Hit& b) { return a.address < b.address; });
    std::cerr << "[secrets] read " << scan.bytesRead / 1024 << " KiB of writable memory of pid "
              << daemon_->pid() << ", " << hits.size() << " pieces found\n";
    ASSERT_GT(scan.bytesRead, 64U * 1024U) << "the daemon's memory could not be read";
    for (const std::string& part : scan.notRead) {
        std::cerr << "[secrets] not read: " << part << "\n";
    }
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    // The sanitizer's reserved regions (its heap among them) are not searched: the full check
    // is the one of the release build, where every writable byte is read.
    std::cerr << "[secrets] sanitizer build: " << scan.notRead.size()
              << " mapping(s) not searched, listed above\n";
#else
    EXPECT_TRUE(scan.notRead.empty()) << "writable memory left unread: " << scan.notRead.front();
#endif
    std::uintptr_t reportedUpTo = 0;
    for (const Hit& hit : hits) {
        if (hit.address < reportedUpTo) {
            continue;  // another piece of a copy already reported
        }
        reportedUpTo = hit.address + 64;
        ADD_FAILURE() << hit.what << " at 0x" << std::hex << hit.address << " in "
                      << hit.mapping.describe() << ": " << hit.context;
    }
    // The daemon is still serving.
    EXPECT_TRUE(connect()->call("system.info").contains("result"));
}

// ---- the process ----

std::string statusField(pid_t pid, const std::string& name) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);) {
        if (line.rfind(name + ":", 0) == 0) {
            return line.substr(name.size() + 1);
        }
    }
    return {};
}

class DaemonProcess : public ::testing::Test {};

TEST_F(DaemonProcess, RunAsUnprivilegedUser_NotDumpable) {
    // Started as nobody, the daemon's /proc files would belong to nobody; a process that made
    // itself non-dumpable has them owned by root, so its own user can neither ptrace it nor
    // read its memory, and it leaves no core dump.
    // Its state directory must belong to it (the daemon refuses one of another user's).
    char stateTemplate[] = "/tmp/tenderkeyd-nobody-state.XXXXXX";
    ASSERT_NE(::mkdtemp(stateTemplate), nullptr);
    const std::string stateDirectory = stateTemplate;
    ASSERT_EQ(::chown(stateDirectory.c_str(), 65534, 65534), 0);
    ChildProcess daemon("/usr/bin/setpriv",
                        {"--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/env",
                         "STATE_DIRECTORY=" + stateDirectory, TK_DAEMON_BINARY, "--dev", "--port",
                         std::to_string(freePort()), "--allow-origin", kOrigin},
                        env("TK_HARNESS_DIR") + "/tenderkeyd-nobody.log");
    ASSERT_TRUE(daemon.waitForLog("listening on", 15s)) << daemon.log();
    std::istringstream uids(statusField(daemon.pid(), "Uid"));
    std::string realUid;
    uids >> realUid;
    ASSERT_EQ(realUid, "65534") << "setpriv did not change the user";
    struct stat st {};
    ASSERT_EQ(::stat(("/proc/" + std::to_string(daemon.pid()) + "/mem").c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 0U) << "/proc/PID/mem belongs to the daemon's user: it is dumpable";
    daemon.signal(SIGTERM);
    EXPECT_EQ(daemon.waitExit(15s), 0);
    std::filesystem::remove_all(stateDirectory);
}

// ---- the log ----

class DaemonLog : public SecretMemory {
  protected:
    void SetUp() override {
        // Messages up to 4 MiB, so that a 1 MiB method name is read and answered, not refused
        // for its size before anything is logged.
        config_ = env("TK_HARNESS_DIR") + "/log.toml";
        {
            std::ofstream out(config_);
            out << "[limits]\nmax_message_bytes = " << (4 << 20) << "\n\n[[origins]]\norigin = \""
                << kOrigin << "\"\n";
        }
        port_ = freePort();
        daemon_ = std::make_unique<ChildProcess>(
            TK_DAEMON_BINARY,
            std::vector<std::string>{"--dev", "--port", std::to_string(port_), "--config", config_},
            env("TK_HARNESS_DIR") + "/tenderkeyd.log");
        ASSERT_TRUE(daemon_->waitForLog("listening on", 15s)) << daemon_->log();
    }

    std::string config_;
};

TEST_F(DaemonLog, HugeMethodNameWithNewlines_OneShortEscapedLine) {
    // 1 MiB of would-be log lines.
    const std::string forged =
        "x\n2026-01-01 00:00:00.000 info request origin=forged method=sign "
        "outcome=ok duration_ms=1\n";
    std::string method;
    while (method.size() + forged.size() <= (1U << 20)) {
        method += forged;
    }
    method.resize(1U << 20, 'x');
    auto c = connect();
    const std::string request = json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", method}}.dump();
    c->sendFrame(0x1, request);
    const json answer = c->readJson(30s);
    ASSERT_EQ(answer["error"]["data"]["reason"], "METHOD_NOT_FOUND")
        << answer.dump().substr(0, 300);
    EXPECT_TRUE(c->call("system.info").contains("result"));  // logged after the first

    std::istringstream log(daemon_->log());
    int requestLines = 0;
    int longLines = 0;
    int forgedLines = 0;
    std::size_t longest = 0;
    for (std::string line; std::getline(log, line);) {
        longest = std::max(longest, line.size());
        longLines += line.size() >= 512 ? 1 : 0;
        forgedLines += line.rfind("2026-01-01 00:00:00.000", 0) == 0 ? 1 : 0;
        if (line.find("outcome=METHOD_NOT_FOUND") != std::string::npos) {
            ++requestLines;
            EXPECT_NE(line.find("method=x\\x0a2026-01-01 00:00:00.000 info request "
                                "origin=forged method=sign...(1048576 bytes)"),
                      std::string::npos)
                << line.substr(0, 300);
        }
    }
    std::cerr << "[log] longest line " << longest << " bytes\n";
    EXPECT_EQ(longLines, 0) << "longest line: " << longest << " bytes";
    EXPECT_EQ(forgedLines, 0) << "lines the client wrote into the log";
    EXPECT_EQ(requestLines, 1);
}

}  // namespace
}  // namespace tk::test
