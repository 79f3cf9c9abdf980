#include "support/harness.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace tk::test {

std::string environment(const std::string& name) {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr || *value == '\0') {
        throw std::runtime_error(name + " is not set: run this under tests/harness/with-cards");
    }
    return value;
}

std::string readerName(int card) {
    return environment("TK_READER_" + std::to_string(card));
}

std::string controlCard(int card, const std::string& command) {
    const std::string path = environment("TK_VCARD_CONTROL_" + std::to_string(card));
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    }
    const std::unique_ptr<const int, void (*)(const int*)> closer(
        &fd, [](const int* f) { ::close(*f); });
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        throw std::runtime_error("connect " + path + ": " + std::strerror(errno));
    }
    const std::string line = command + "\n";
    if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
        throw std::runtime_error("write to " + path + " failed");
    }
    std::string answer;
    char c = 0;
    pollfd readable{fd, POLLIN, 0};
    while (::poll(&readable, 1, 5000) == 1 && ::read(fd, &c, 1) == 1 && c != '\n') {
        answer += c;
    }
    if (answer.rfind("ok", 0) != 0) {
        throw std::runtime_error("card " + std::to_string(card) + " refused '" + command +
                                 "': " + answer);
    }
    return answer;
}

std::string cardStatusField(int card, const std::string& field) {
    const std::string status = controlCard(card, "status");
    const std::string key = " " + field + "=";
    const auto at = status.find(key);
    if (at == std::string::npos) {
        throw std::runtime_error("no " + field + " in '" + status + "'");
    }
    const auto start = at + key.size();
    return status.substr(start, status.find(' ', start) - start);
}

void waitForCard(int card, bool present, std::chrono::seconds timeout) {
    const std::string command = "'" + std::string(TK_HARNESS_SCRIPTS) + "/wait-card' '" +
                                readerName(card) + "' " + (present ? "present" : "absent") + " " +
                                std::to_string(timeout.count());
    if (std::system(command.c_str()) != 0) {
        throw std::runtime_error("reader of card " + std::to_string(card) + " never showed it " +
                                 (present ? "present" : "absent"));
    }
}

void controlPcscd(const std::string& action) {
    const std::string command = "'" + environment("TK_HARNESS_PCSCD") + "' " + action;
    if (std::system(command.c_str()) != 0) {
        throw std::runtime_error(command + " failed");
    }
}

ApduLog::ApduLog(int card) : path_(environment("TK_VCARD_APDU_LOG_" + std::to_string(card))) {}

std::vector<std::string> ApduLog::lines() const {
    std::ifstream in(path_);
    std::vector<std::string> out;
    std::string line;
    while (std::getline(in, line)) {
        out.push_back(line);
    }
    return out;
}

std::vector<std::string> ApduLog::linesSince(std::size_t mark) const {
    std::vector<std::string> all = lines();
    if (mark >= all.size()) {
        return {};
    }
    return {all.begin() + static_cast<std::ptrdiff_t>(mark), all.end()};
}

std::vector<LoggedApdu> ApduLog::apdusSince(std::size_t mark) const {
    std::vector<LoggedApdu> out;
    for (const std::string& line : linesSince(mark)) {
        if (auto apdu = parseApduLine(line)) {
            out.push_back(*apdu);
        }
    }
    return out;
}

std::string ApduLog::describeSince(std::size_t mark) const {
    std::string text;
    for (const std::string& line : linesSince(mark)) {
        text += "  " + line + "\n";
    }
    return text.empty() ? "  (nothing)\n" : text;
}

std::optional<LoggedApdu> parseApduLine(const std::string& line) {
    LoggedApdu apdu;
    unsigned sw = 0;
    if (std::sscanf(line.c_str(), "cla=%x ins=%x p1=%x p2=%x lc=%d le=%d sw=%x", &apdu.cla,
                    &apdu.ins, &apdu.p1, &apdu.p2, &apdu.lc, &apdu.le, &sw) != 7) {
        return std::nullopt;
    }
    apdu.sw = static_cast<std::uint16_t>(sw);
    apdu.line = line;
    return apdu;
}

std::size_t pinPresentations(const std::vector<LoggedApdu>& apdus) {
    std::size_t n = 0;
    for (const LoggedApdu& a : apdus) {
        if (a.ins == 0x20 && a.p1 == 0x00 && a.lc > 0) {
            ++n;
        }
    }
    return n;
}

}  // namespace tk::test
