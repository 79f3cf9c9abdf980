#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

#include "bytes.hpp"

namespace tk::vcard {

// One flushed line per APDU ("cla=00 ins=a4 p1=04 p2=00 lc=5 le=0 sw=6100 rlen=256") and one
// per control event ("# power-on"). Header, lengths and status only: data bytes, and so
// PINs, never reach the log.
class ApduLog {
  public:
    ApduLog() = default;                                  // logs nothing
    explicit ApduLog(const std::filesystem::path& path);  // appends; throws std::runtime_error
    ApduLog(const ApduLog&) = delete;
    ApduLog& operator=(const ApduLog&) = delete;
    ApduLog(ApduLog&& other) noexcept;
    ApduLog& operator=(ApduLog&& other) noexcept;
    ~ApduLog();

    // `suffix` is appended after the status, e.g. "fault=garbage".
    void apdu(ByteView command, ByteView response, std::string_view suffix = {});
    void event(std::string_view text);

    // The APDU line without the trailing newline (exposed for tests).
    static std::string apdu_line(ByteView command, ByteView response);

  private:
    void write_line(const std::string& line);
    std::FILE* file_ = nullptr;
};

}  // namespace tk::vcard
