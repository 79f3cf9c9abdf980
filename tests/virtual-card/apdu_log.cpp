#include "apdu_log.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "apdu.hpp"

namespace tk::vcard {

ApduLog::ApduLog(const std::filesystem::path& path) : file_(std::fopen(path.c_str(), "ae")) {
    if (file_ == nullptr) {
        throw std::runtime_error("cannot open APDU log " + path.string() + ": " +
                                 std::strerror(errno));
    }
}

ApduLog::ApduLog(ApduLog&& other) noexcept : file_(std::exchange(other.file_, nullptr)) {}

ApduLog& ApduLog::operator=(ApduLog&& other) noexcept {
    if (this != &other) {
        if (file_ != nullptr) {
            std::fclose(file_);
        }
        file_ = std::exchange(other.file_, nullptr);
    }
    return *this;
}

ApduLog::~ApduLog() {
    if (file_ != nullptr) {
        std::fclose(file_);
    }
}

std::string ApduLog::apdu_line(ByteView command, ByteView response) {
    std::string line;
    if (const auto c = CommandApdu::parse(command)) {
        line = c->header_text();
    } else {
        char buf[80];
        if (command.size() >= 4) {
            std::snprintf(buf, sizeof buf, "cla=%02x ins=%02x p1=%02x p2=%02x lc=? le=? len=%zu",
                          command[0], command[1], command[2], command[3], command.size());
        } else {
            std::snprintf(buf, sizeof buf, "cla=?? ins=?? p1=?? p2=?? lc=? le=? len=%zu",
                          command.size());
        }
        line = buf;
    }
    char tail[48];
    if (response.size() >= 2) {
        std::snprintf(tail, sizeof tail, " sw=%02x%02x rlen=%zu", response[response.size() - 2],
                      response[response.size() - 1], response.size() - 2);
    } else {
        std::snprintf(tail, sizeof tail, " sw=---- rlen=0");
    }
    return line + tail;
}

void ApduLog::apdu(ByteView command, ByteView response, std::string_view suffix) {
    if (file_ == nullptr) {
        return;
    }
    std::string line = apdu_line(command, response);
    if (!suffix.empty()) {
        line += ' ';
        line += suffix;
    }
    write_line(line);
}

void ApduLog::event(std::string_view text) {
    if (file_ != nullptr) {
        write_line("# " + std::string(text));
    }
}

void ApduLog::write_line(const std::string& line) {
    std::fputs(line.c_str(), file_);
    std::fputc('\n', file_);
    std::fflush(file_);
}

}  // namespace tk::vcard
