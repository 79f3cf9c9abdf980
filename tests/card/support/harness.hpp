#pragma once

// What tests/harness/with-cards gives a test: reader names, the cards' control sockets and
// APDU logs, and its helper scripts.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tk::test {

// The variable's value; throws when unset (the test is not running inside with-cards).
std::string environment(const std::string& name);

std::string readerName(int card);

// One line to card `card`'s control socket ("remove", "insert", "fault remove-on-ins 87",
// "delay 300", "status"); returns the answer line.
std::string controlCard(int card, const std::string& command);

// "pin_verified" -> "0" from the card's `status` answer.
std::string cardStatusField(int card, const std::string& field);

// Waits (tests/harness/wait-card) until the reader shows the card present or absent.
void waitForCard(int card, bool present, std::chrono::seconds timeout = std::chrono::seconds(10));

// tests/harness/pcscd-ctl ACTION (stop, start, kill, restart).
void controlPcscd(const std::string& action);

// One APDU line of the virtual card's log:
// "cla=00 ins=87 p1=07 p2=9c lc=266 le=0 sw=6100 rlen=256".
struct LoggedApdu {
    unsigned cla = 0;
    unsigned ins = 0;
    unsigned p1 = 0;
    unsigned p2 = 0;
    int lc = 0;
    int le = 0;
    std::uint16_t sw = 0;
    std::string line;
};

// The virtual card's APDU log: APDU lines and "# event" lines, in order.
class ApduLog {
  public:
    explicit ApduLog(int card = 0);

    std::vector<std::string> lines() const;
    // A position to compare later states of the log with.
    std::size_t mark() const { return lines().size(); }
    std::vector<std::string> linesSince(std::size_t mark) const;
    std::vector<LoggedApdu> apdusSince(std::size_t mark) const;
    std::size_t apduCountSince(std::size_t mark) const { return apdusSince(mark).size(); }
    // The lines since `mark`, for failure messages.
    std::string describeSince(std::size_t mark) const;

  private:
    std::string path_;
};

std::optional<LoggedApdu> parseApduLine(const std::string& line);

// VERIFY APDUs that carry a PIN (lc > 0); VERIFY without data and VERIFY P1=FF are not counted.
std::size_t pinPresentations(const std::vector<LoggedApdu>& apdus);

}  // namespace tk::test
