// The PC/SC layer against the real stack: pcscd with the vpcd reader driver and two
// tenderkey-vcard cards, started by tests/harness/with-cards (which sets the TK_* variables
// read here). Every test gets a fresh pcscd and fresh cards, so tests may kill pcscd and pull
// cards without cleaning up.

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "pcsc/card_connection.hpp"
#include "pcsc/context.hpp"
#include "pcsc/errors.hpp"
#include "pcsc/features.hpp"
#include "pcsc/reader_filter.hpp"
#include "pcsc/reader_monitor.hpp"
#include "pcsc/transaction.hpp"

namespace tk::pcsc {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Type = ReaderEvent::Type;

// pcscd looks at vpcd every 0.4 s, so a card change takes up to that long to show.
constexpr auto kEventTimeout = 5s;

std::string environment(const std::string& name) {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr || *value == '\0') {
        throw std::runtime_error(name + " is not set: run this under tests/harness/with-cards");
    }
    return value;
}

std::string readerName(int index) {
    return environment("TK_READER_" + std::to_string(index));
}

// One line to the card's control socket ("remove", "insert", ...), returns its answer.
std::string controlCard(int index, const std::string& command) {
    const std::string path = environment("TK_VCARD_CONTROL_" + std::to_string(index));
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
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
    return answer;
}

// tests/harness/pcscd-ctl: kill (SIGKILL, a crash), stop (SIGTERM), start, restart.
void runPcscdControl(const std::string& action) {
    const std::string command = "'" + environment("TK_HARNESS_PCSCD") + "' " + action;
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
}

std::string describe(const ReaderEvent& event) {
    std::string text(toString(event.type));
    if (!event.reader.empty()) {
        text += " '" + event.reader + "'";
    }
    if (!event.atr.empty()) {
        text += " atr=" + std::to_string(event.atr.size()) + "B";
    }
    if (!event.detail.empty()) {
        text += " (" + event.detail + ")";
    }
    return text;
}

// Collects monitor events with their arrival time; tests read them in order.
class EventLog {
  public:
    struct Timed {
        ReaderEvent event;
        Clock::time_point at;
    };

    ReaderMonitor::EventHandler handler() {
        return [this](const ReaderEvent& event) {
            if (gate_) {
                gate_(event);
            }
            {
                std::lock_guard lock(mutex_);
                events_.push_back({event, Clock::now()});
            }
            arrived_.notify_all();
        };
    }

    // Runs on the monitor thread before an event is logged (to hold the monitor up).
    void setGate(std::function<void(const ReaderEvent&)> gate) { gate_ = std::move(gate); }

    // The next event not read yet, waiting up to `timeout`.
    std::optional<Timed> next(std::chrono::milliseconds timeout) {
        std::unique_lock lock(mutex_);
        if (!arrived_.wait_for(lock, timeout, [this] { return cursor_ < events_.size(); })) {
            return std::nullopt;
        }
        return events_[cursor_++];
    }

    // Reads events until one is `type` for `reader`; the events passed over are returned in
    // `skipped` (when given).
    std::optional<Timed> waitFor(Type type, const std::string& reader,
                                 std::chrono::milliseconds timeout,
                                 std::vector<ReaderEvent>* skipped = nullptr) {
        const auto deadline = Clock::now() + timeout;
        while (true) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            auto timed = next(std::max(left, 0ms));
            if (!timed) {
                return std::nullopt;
            }
            if (timed->event.type == type && timed->event.reader == reader) {
                return timed;
            }
            if (skipped != nullptr) {
                skipped->push_back(timed->event);
            }
        }
    }

    std::string history() {
        std::lock_guard lock(mutex_);
        std::string text;
        for (std::size_t i = 0; i < events_.size(); ++i) {
            text += (i < cursor_ ? "  read: " : "unread: ") + describe(events_[i].event) + "\n";
        }
        return text;
    }

  private:
    std::function<void(const ReaderEvent&)> gate_;
    std::mutex mutex_;
    std::condition_variable arrived_;
    std::vector<Timed> events_;
    std::size_t cursor_ = 0;
};

double millisecondsBetween(Clock::time_point from, Clock::time_point to) {
    return std::chrono::duration<double, std::milli>(to - from).count();
}

void report(const std::string& what, double milliseconds) {
    std::cout << "[ measured ] " << what << ": " << milliseconds << " ms" << std::endl;
    ::testing::Test::RecordProperty(what, std::to_string(milliseconds));
}

const Bytes kSelectPiv{0x00, 0xA4, 0x04, 0x00, 0x09, 0xA0, 0x00, 0x00,
                       0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x00};
// VERIFY the PIV card PIN (the harness cards use 123456), padded with FF to 8 bytes.
const Bytes kVerifyPin{0x00, 0x20, 0x00, 0x80, 0x08, '1', '2', '3', '4', '5', '6', 0xFF, 0xFF};
// VERIFY without data: 9000 when the PIN is verified, 63Cx when not.
const Bytes kPinStatus{0x00, 0x20, 0x00, 0x80};
// GET DATA for the X.509 certificate of slot 9A (object 5FC105).
const Bytes kGetCertificate9A{0x00, 0xCB, 0x3F, 0xFF, 0x05, 0x5C, 0x03, 0x5F, 0xC1, 0x05, 0x00};

std::uint16_t statusWord(const Bytes& response) {
    if (response.size() < 2) {
        return 0;
    }
    return static_cast<std::uint16_t>((response[response.size() - 2] << 8) | response.back());
}

class PcscStack : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_NO_THROW(reader0_ = readerName(0));
        ASSERT_NO_THROW(reader1_ = readerName(1));
        context_ = std::make_shared<Context>();
    }

    // Starts a monitor on the two harness readers and reads its initial events.
    std::unique_ptr<ReaderMonitor> startMonitor(EventLog& log,
                                                ReaderMonitor::ReaderFilter filter = {},
                                                ServiceBackoff backoff = {}) {
        auto monitor = std::make_unique<ReaderMonitor>(log.handler(), std::move(filter), backoff);
        monitor->start();
        return monitor;
    }

    void expectInitialState(EventLog& log) {
        std::vector<ReaderEvent> seen;
        for (int i = 0; i < 5; ++i) {
            auto timed = log.next(kEventTimeout);
            ASSERT_TRUE(timed) << "only " << i << " initial events\n" << log.history();
            seen.push_back(timed->event);
        }
        ASSERT_EQ(seen[0].type, Type::ServiceAvailable);
        EXPECT_EQ(seen[1], (ReaderEvent{Type::ReaderAdded, reader0_, {}, {}}));
        EXPECT_EQ(seen[2], (ReaderEvent{Type::ReaderAdded, reader1_, {}, {}}));
        EXPECT_EQ(seen[3].type, Type::CardInserted);
        EXPECT_EQ(seen[3].reader, reader0_);
        EXPECT_EQ(seen[4].type, Type::CardInserted);
        EXPECT_EQ(seen[4].reader, reader1_);
        for (int i = 3; i < 5; ++i) {
            ASSERT_FALSE(seen[i].atr.empty());
            EXPECT_EQ(seen[i].atr.front(), 0x3B) << "ATR must start with TS = 3B";
        }
    }

    // Puts back what a test took away, so the whole binary can also run in one harness.
    void TearDown() override {
        if (!pcscdDown_ && removed_.empty()) {
            return;
        }
        if (pcscdDown_) {
            runPcscdControl("start");
        }
        for (const int index : removed_) {
            ASSERT_EQ(controlCard(index, "insert").substr(0, 2), "ok");
        }
        EventLog log;
        ReaderMonitor monitor(log.handler());
        monitor.start();
        std::set<std::string> withCard;
        while (withCard.size() < 2) {
            const auto timed = log.next(kEventTimeout);
            ASSERT_TRUE(timed) << "cards not back\n" << log.history();
            if (timed->event.type == ReaderEvent::Type::CardInserted) {
                withCard.insert(timed->event.reader);
            }
        }
    }

    void removeCard(int index) {
        removed_.push_back(index);
        ASSERT_EQ(controlCard(index, "remove").substr(0, 2), "ok");
    }

    void insertCard(int index) {
        std::erase(removed_, index);
        ASSERT_EQ(controlCard(index, "insert").substr(0, 2), "ok");
    }

    void controlPcscd(const std::string& action) {
        pcscdDown_ = action == "kill" || action == "stop";
        runPcscdControl(action);
    }

    std::string reader0_;
    std::string reader1_;
    std::shared_ptr<Context> context_;

  private:
    bool pcscdDown_ = false;
    std::vector<int> removed_;
};

// ---------------------------------------------------------------- context and reader list

TEST_F(PcscStack, ListReaders_TwoVpcdSlots_ListsBothVirtualReaders) {
    const std::vector<std::string> readers = context_->listReaders();
    EXPECT_NE(std::find(readers.begin(), readers.end(), reader0_), readers.end());
    EXPECT_NE(std::find(readers.begin(), readers.end(), reader1_), readers.end());
    for (const std::string& name : readers) {
        EXPECT_TRUE(isVirtualReader(name)) << name;
    }
}

TEST_F(PcscStack, EstablishContext_PcscdKilled_ThrowsServiceNotRunning) {
    controlPcscd("kill");
    EXPECT_THROW(Context(), ServiceNotRunning);
    // The context made before is dead too; pcsc-lite reports the broken socket.
    EXPECT_THROW(context_->listReaders(), ServiceNotRunning);
}

// ---------------------------------------------------------------- card connection

TEST_F(PcscStack, Transmit_SelectPivAid_ReturnsApplicationTemplateAnd9000) {
    CardConnection card(context_, reader0_);
    const Bytes response = card.transmit(kSelectPiv);
    ASSERT_GE(response.size(), 4U);
    EXPECT_EQ(statusWord(response), 0x9000);
    EXPECT_EQ(response[0], 0x61) << "application property template";
    EXPECT_EQ(response.size(), 2U + response[1] + 2U) << "the template arrived whole";
}

TEST_F(PcscStack, Transmit_CertificateLongerThan256Bytes_ArrivesWholeThroughGetResponse) {
    CardConnection card(context_, reader0_);
    ASSERT_EQ(statusWord(card.transmit(kSelectPiv)), 0x9000);
    const Bytes response = card.transmit(kGetCertificate9A);
    ASSERT_EQ(statusWord(response), 0x9000);
    ASSERT_GE(response.size(), 4U);
    ASSERT_EQ(response[0], 0x53);
    ASSERT_EQ(response[1], 0x82) << "a certificate object needs a two-byte length";
    const std::size_t length = (std::size_t{response[2]} << 8) | response[3];
    EXPECT_GT(length, 256U);
    EXPECT_EQ(response.size(), 4 + length + 2);

    // The card sent it in parts: its APDU log shows the GET RESPONSE commands we followed.
    std::ifstream apduLog(environment("TK_VCARD_APDU_LOG_0"));
    std::string line;
    int getResponses = 0;
    while (std::getline(apduLog, line)) {
        getResponses += line.find("ins=c0") != std::string::npos ? 1 : 0;
    }
    EXPECT_GE(getResponses, static_cast<int>(length / 256));
}

TEST_F(PcscStack, Connect_VirtualCard_NegotiatesT1AndReportsAtr) {
    CardConnection card(context_, reader0_);
    EXPECT_EQ(card.protocol(), Protocol::T1);
    const Bytes atr = card.atr();
    ASSERT_FALSE(atr.empty());
    EXPECT_EQ(atr.front(), 0x3B);
    EXPECT_EQ(card.reader(), reader0_);
}

TEST_F(PcscStack, FeatureControlCode_VpcdReader_OffersNoPinpad) {
    CardConnection card(context_, reader0_);
    EXPECT_EQ(card.featureControlCode(kFeatureVerifyPinDirect), std::nullopt);
    EXPECT_EQ(card.featureControlCode(kFeatureModifyPinDirect), std::nullopt);
    // The connection stays usable after the reader turned the request down.
    EXPECT_EQ(statusWord(card.transmit(kSelectPiv)), 0x9000);
}

TEST_F(PcscStack, Connect_EmptyReader_ThrowsNoCard) {
    EventLog log;
    auto monitor = startMonitor(log);
    removeCard(1);
    ASSERT_TRUE(log.waitFor(Type::CardRemoved, reader1_, kEventTimeout)) << log.history();
    EXPECT_THROW(CardConnection(context_, reader1_), NoCard);
}

TEST_F(PcscStack, Connect_UnknownReader_ThrowsUnknownReader) {
    EXPECT_THROW(CardConnection(context_, "No Such Reader 00 00"), UnknownReader);
}

TEST_F(PcscStack, Transmit_CardPulledOut_ThrowsCardRemoved) {
    EventLog log;
    auto monitor = startMonitor(log);
    CardConnection card(context_, reader0_);
    ASSERT_EQ(statusWord(card.transmit(kSelectPiv)), 0x9000);
    removeCard(0);
    ASSERT_TRUE(log.waitFor(Type::CardRemoved, reader0_, kEventTimeout)) << log.history();
    EXPECT_THROW(card.transmit(kSelectPiv), CardRemoved);
    EXPECT_THROW(card.atr(), CardRemoved);
}

TEST_F(PcscStack, Disconnect_LeaveCard_KeepsPinVerifiedForOthers) {
    CardConnection keepsPowered(context_, reader0_);
    {
        CardConnection first(context_, reader0_);
        ASSERT_EQ(statusWord(first.transmit(kSelectPiv)), 0x9000);
        ASSERT_EQ(statusWord(first.transmit(kVerifyPin)), 0x9000);
        EXPECT_EQ(first.disconnectDisposition(), Disposition::Leave);
    }
    CardConnection second(context_, reader0_);
    EXPECT_EQ(statusWord(second.transmit(kPinStatus)), 0x9000);
    EXPECT_EQ(statusWord(keepsPowered.transmit(kPinStatus)), 0x9000);
}

TEST_F(PcscStack, Disconnect_ResetRequested_DropsPinVerificationAndOthersSeeCardReset) {
    CardConnection other(context_, reader0_);
    {
        CardConnection first(context_, reader0_);
        ASSERT_EQ(statusWord(first.transmit(kSelectPiv)), 0x9000);
        ASSERT_EQ(statusWord(first.transmit(kVerifyPin)), 0x9000);
        first.setDisconnectDisposition(Disposition::Reset);
        first.disconnect();
        EXPECT_THROW(first.transmit(kSelectPiv), InvalidHandle);
    }
    EXPECT_THROW(other.transmit(kPinStatus), CardReset);
    other.reconnect();
    ASSERT_EQ(statusWord(other.transmit(kSelectPiv)), 0x9000);
    const std::uint16_t status = statusWord(other.transmit(kPinStatus));
    EXPECT_EQ(status & 0xFFF0, 0x63C0) << std::hex << status;
}

TEST_F(PcscStack, Transmit_PcscdRestarted_ThrowsServiceErrorAndNewContextWorks) {
    CardConnection card(context_, reader0_);
    ASSERT_EQ(statusWord(card.transmit(kSelectPiv)), 0x9000);
    controlPcscd("restart");
    try {
        card.transmit(kSelectPiv);
        ADD_FAILURE() << "transmit through a context of the old pcscd worked";
    } catch (const ServiceNotRunning& e) {
        std::cout << "[ observed ] " << e.what() << std::endl;
    } catch (const InvalidHandle& e) {
        std::cout << "[ observed ] " << e.what() << std::endl;
    }
    // A fresh context reaches the new pcscd (once the card is back in its reader).
    EventLog log;
    auto monitor = startMonitor(log);
    ASSERT_TRUE(log.waitFor(Type::CardInserted, reader0_, kEventTimeout)) << log.history();
    CardConnection again(std::make_shared<Context>(), reader0_);
    EXPECT_EQ(statusWord(again.transmit(kSelectPiv)), 0x9000);
}

// ---------------------------------------------------------------- transactions

TEST_F(PcscStack, Transaction_Held_OtherHandleWaitsUntilItEnds) {
    CardConnection holder(context_, reader0_);
    // Another context, as another application would have.
    auto otherContext = std::make_shared<Context>();
    CardConnection waiter(otherContext, reader0_);
    std::atomic<bool> answered{false};
    std::future<std::uint16_t> pending;
    Clock::time_point ended;
    {
        Transaction transaction(holder);
        ASSERT_EQ(statusWord(holder.transmit(kSelectPiv)), 0x9000);
        pending = std::async(std::launch::async, [&] {
            const std::uint16_t sw = statusWord(waiter.transmit(kSelectPiv));
            answered = true;
            return sw;
        });
        std::this_thread::sleep_for(500ms);
        EXPECT_FALSE(answered) << "the other handle got in during the transaction";
        ASSERT_EQ(statusWord(holder.transmit(kPinStatus)) & 0xFF00, 0x6300);
        ended = Clock::now();
    }
    ASSERT_EQ(pending.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(pending.get(), 0x9000);
    report("other handle served after transaction end", millisecondsBetween(ended, Clock::now()));
}

TEST_F(PcscStack, Transaction_EndWithReset_OtherHandleSeesCardReset) {
    CardConnection other(context_, reader0_);
    ASSERT_EQ(statusWord(other.transmit(kSelectPiv)), 0x9000);
    CardConnection card(context_, reader0_);
    {
        Transaction transaction(card);
        ASSERT_EQ(statusWord(card.transmit(kSelectPiv)), 0x9000);
        ASSERT_EQ(statusWord(card.transmit(kVerifyPin)), 0x9000);
        transaction.setEndDisposition(Disposition::Reset);
        transaction.end();
    }
    EXPECT_THROW(other.transmit(kPinStatus), CardReset);
    other.reconnect();
    ASSERT_EQ(statusWord(other.transmit(kSelectPiv)), 0x9000);
    EXPECT_EQ(statusWord(other.transmit(kPinStatus)) & 0xFFF0, 0x63C0);
}

TEST_F(PcscStack, Transaction_CardResetBefore_ThrowsCardResetUntilReconnect) {
    CardConnection card(context_, reader0_);
    ASSERT_EQ(statusWord(card.transmit(kSelectPiv)), 0x9000);
    {
        CardConnection resetter(context_, reader0_);
        resetter.setDisconnectDisposition(Disposition::Reset);
    }
    EXPECT_THROW(Transaction{card}, CardReset);
    card.reconnect();
    Transaction transaction(card);
    EXPECT_EQ(statusWord(card.transmit(kSelectPiv)), 0x9000);
}

// ---------------------------------------------------------------- reader monitor

TEST_F(PcscStack, Monitor_Start_ReportsServiceThenReadersThenCards) {
    EventLog log;
    auto monitor = startMonitor(log);
    expectInitialState(log);
    // Nothing changes, so nothing more is reported, and the thread sleeps in pcscd rather
    // than looping: the process uses next to no CPU time meanwhile.
    const std::clock_t cpuBefore = std::clock();
    const auto extra = log.next(1000ms);
    EXPECT_FALSE(extra) << describe(extra->event);
    const double cpuMilliseconds = 1000.0 * double(std::clock() - cpuBefore) / CLOCKS_PER_SEC;
    report("CPU time of an idle second", cpuMilliseconds);
    EXPECT_LT(cpuMilliseconds, 50.0);
}

TEST_F(PcscStack, Monitor_CardRemovedAndInserted_ReportsBothQuickly) {
    EventLog log;
    auto monitor = startMonitor(log);
    expectInitialState(log);

    const auto removedAt = Clock::now();
    removeCard(0);
    const auto removed = log.next(kEventTimeout);
    ASSERT_TRUE(removed) << log.history();
    EXPECT_EQ(removed->event, (ReaderEvent{Type::CardRemoved, reader0_, {}, {}}));
    report("card removal seen after", millisecondsBetween(removedAt, removed->at));

    const auto insertedAt = Clock::now();
    insertCard(0);
    const auto inserted = log.next(kEventTimeout);
    ASSERT_TRUE(inserted) << log.history();
    EXPECT_EQ(inserted->event.type, Type::CardInserted);
    EXPECT_EQ(inserted->event.reader, reader0_);
    EXPECT_FALSE(inserted->event.atr.empty());
    report("card insertion seen after", millisecondsBetween(insertedAt, inserted->at));

    const auto extra = log.next(500ms);
    EXPECT_FALSE(extra) << describe(extra->event);
}

TEST_F(PcscStack, Monitor_CardSwappedWhileHandlerBusy_ReportsRemovedThenInserted) {
    // The handler holds the monitor up while the card goes out and comes back, so the monitor's
    // next look finds a card present as before: only pcscd's event counter tells.
    std::promise<void> entered;
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    bool held = false;
    EventLog log;
    log.setGate([&, released](const ReaderEvent& event) {
        if (!held && event.type == Type::CardInserted && event.reader == reader1_) {
            held = true;
            entered.set_value();
            released.wait();
        }
    });
    auto monitor = startMonitor(log);
    ASSERT_EQ(entered.get_future().wait_for(kEventTimeout), std::future_status::ready);

    // A second monitor confirms pcscd saw the card leave and return.
    EventLog witnessLog;
    auto witness = startMonitor(witnessLog);
    ASSERT_TRUE(witnessLog.waitFor(Type::CardInserted, reader0_, kEventTimeout));
    removeCard(0);
    ASSERT_TRUE(witnessLog.waitFor(Type::CardRemoved, reader0_, kEventTimeout))
        << witnessLog.history();
    insertCard(0);
    ASSERT_TRUE(witnessLog.waitFor(Type::CardInserted, reader0_, kEventTimeout))
        << witnessLog.history();

    release.set_value();
    expectInitialState(log);
    const auto removed = log.next(kEventTimeout);
    ASSERT_TRUE(removed) << log.history();
    EXPECT_EQ(removed->event, (ReaderEvent{Type::CardRemoved, reader0_, {}, {}}));
    const auto inserted = log.next(kEventTimeout);
    ASSERT_TRUE(inserted) << log.history();
    EXPECT_EQ(inserted->event.type, Type::CardInserted);
    EXPECT_EQ(inserted->event.reader, reader0_);
}

TEST_F(PcscStack, Monitor_TwoReaders_ReportsEachCardOnItsOwnReader) {
    EventLog log;
    auto monitor = startMonitor(log);
    expectInitialState(log);
    removeCard(1);
    const auto removed = log.next(kEventTimeout);
    ASSERT_TRUE(removed) << log.history();
    EXPECT_EQ(removed->event, (ReaderEvent{Type::CardRemoved, reader1_, {}, {}}));
    removeCard(0);
    const auto removed0 = log.next(kEventTimeout);
    ASSERT_TRUE(removed0) << log.history();
    EXPECT_EQ(removed0->event, (ReaderEvent{Type::CardRemoved, reader0_, {}, {}}));
    insertCard(1);
    const auto inserted = log.next(kEventTimeout);
    ASSERT_TRUE(inserted) << log.history();
    EXPECT_EQ(inserted->event.type, Type::CardInserted);
    EXPECT_EQ(inserted->event.reader, reader1_);
    const auto extra = log.next(500ms);
    EXPECT_FALSE(extra) << describe(extra->event);
}

TEST_F(PcscStack, Monitor_FilterRejectingOneReader_ReportsOnlyTheOther) {
    EventLog log;
    const std::string hidden = reader1_;
    auto monitor = startMonitor(log, [hidden](std::string_view name) { return name != hidden; });
    const std::vector<Type> expected{Type::ServiceAvailable, Type::ReaderAdded, Type::CardInserted};
    for (const Type type : expected) {
        const auto timed = log.next(kEventTimeout);
        ASSERT_TRUE(timed) << log.history();
        EXPECT_EQ(timed->event.type, type);
        if (type != Type::ServiceAvailable) {
            EXPECT_EQ(timed->event.reader, reader0_);
        }
    }
    removeCard(1);
    removeCard(0);
    const auto removed = log.next(kEventTimeout);
    ASSERT_TRUE(removed) << log.history();
    EXPECT_EQ(removed->event, (ReaderEvent{Type::CardRemoved, reader0_, {}, {}}));
    const auto extra = log.next(500ms);
    EXPECT_FALSE(extra) << describe(extra->event);
}

TEST_F(PcscStack, Monitor_VirtualReadersExcluded_ReportsServiceOnly) {
    EventLog log;
    auto monitor = startMonitor(log, [](std::string_view name) { return !isVirtualReader(name); });
    const auto first = log.next(kEventTimeout);
    ASSERT_TRUE(first);
    EXPECT_EQ(first->event.type, Type::ServiceAvailable);
    removeCard(0);
    const auto extra = log.next(1500ms);
    EXPECT_FALSE(extra) << describe(extra->event);
}

// Expects the events of a lost service: every card and reader goes, then ServiceUnavailable.
void expectServiceLost(EventLog& log, const std::string& reader0, const std::string& reader1) {
    std::vector<ReaderEvent> before;
    const auto lost = log.waitFor(Type::ServiceUnavailable, "", kEventTimeout, &before);
    ASSERT_TRUE(lost) << log.history();
    EXPECT_FALSE(lost->event.detail.empty());
    const std::vector<ReaderEvent> expected{
        {Type::CardRemoved, reader0, {}, {}},
        {Type::ReaderRemoved, reader0, {}, {}},
        {Type::CardRemoved, reader1, {}, {}},
        {Type::ReaderRemoved, reader1, {}, {}},
    };
    EXPECT_EQ(before, expected) << log.history();
}

// Expects ServiceAvailable and both readers with their cards back.
void expectServiceBack(EventLog& log, const std::string& reader0, const std::string& reader1,
                       Clock::time_point since) {
    const auto back = log.next(kEventTimeout);
    ASSERT_TRUE(back) << log.history();
    ASSERT_EQ(back->event.type, Type::ServiceAvailable) << log.history();
    report("service seen again after pcscd start", millisecondsBetween(since, back->at));
    // The vpcd readers exist from pcscd start-up; the cards reconnect to vpcd by themselves,
    // in either order.
    std::set<std::string> added;
    std::set<std::string> withCard;
    while (withCard.size() < 2) {
        const auto timed = log.next(kEventTimeout);
        ASSERT_TRUE(timed) << log.history();
        const ReaderEvent& event = timed->event;
        ASSERT_TRUE(event.reader == reader0 || event.reader == reader1) << log.history();
        if (event.type == Type::ReaderAdded) {
            EXPECT_TRUE(added.insert(event.reader).second) << log.history();
        } else {
            ASSERT_EQ(event.type, Type::CardInserted) << log.history();
            EXPECT_TRUE(added.contains(event.reader)) << "card before its reader";
            EXPECT_TRUE(withCard.insert(event.reader).second) << log.history();
            report("card back in '" + event.reader + "' after pcscd start",
                   millisecondsBetween(since, timed->at));
        }
    }
}

TEST_F(PcscStack, Monitor_PcscdKilledAndStarted_ReportsUnavailableThenAvailableAgain) {
    EventLog log;
    auto monitor = startMonitor(log);
    expectInitialState(log);

    const auto killedAt = Clock::now();
    controlPcscd("kill");
    expectServiceLost(log, reader0_, reader1_);
    report("pcscd crash seen after", millisecondsBetween(killedAt, Clock::now()));
    // No repeated reports while pcscd stays away.
    const auto extra = log.next(1500ms);
    EXPECT_FALSE(extra) << describe(extra->event);

    const auto startedAt = Clock::now();
    controlPcscd("start");
    expectServiceBack(log, reader0_, reader1_, startedAt);

    // And the monitor watches the new pcscd: a card change still shows.
    removeCard(1);
    ASSERT_TRUE(log.waitFor(Type::CardRemoved, reader1_, kEventTimeout)) << log.history();
}

// Windows stops its Smart Card service with the last reader (kServiceStopsWithLastReader):
// there a stopped service is "no reader", never SERVICE_UNAVAILABLE, and the monitor keeps
// establishing a context with its back-off (no spin) until the service is back. The same
// policy on pcscd here: killed, then started again.
TEST_F(PcscStack, Monitor_StoppedServiceMeansNoReaders_ReportsReadersGoneThenBack) {
    EventLog log;
    auto monitor = startMonitor(log, {}, ServiceBackoff{.stoppedMeansNoReaders = true});
    expectInitialState(log);

    controlPcscd("kill");
    std::vector<ReaderEvent> before;
    const auto idle = log.waitFor(Type::ServiceAvailable, "", kEventTimeout, &before);
    ASSERT_TRUE(idle) << log.history();
    const std::vector<ReaderEvent> expected{
        {Type::CardRemoved, reader0_, {}, {}},
        {Type::ReaderRemoved, reader0_, {}, {}},
        {Type::CardRemoved, reader1_, {}, {}},
        {Type::ReaderRemoved, reader1_, {}, {}},
    };
    EXPECT_EQ(before, expected) << log.history();
    // Nothing more while the service stays stopped: no ServiceUnavailable, no repeated events.
    const auto extra = log.next(2500ms);
    EXPECT_FALSE(extra) << describe(extra->event);

    const auto startedAt = Clock::now();
    controlPcscd("start");
    expectServiceBack(log, reader0_, reader1_, startedAt);
}

TEST_F(PcscStack, Monitor_StartedWithStoppedService_ReportsNoReadersThenPicksUpService) {
    controlPcscd("kill");
    EventLog log;
    auto monitor = startMonitor(log, {}, ServiceBackoff{.stoppedMeansNoReaders = true});
    const auto first = log.next(kEventTimeout);
    ASSERT_TRUE(first);
    EXPECT_EQ(first->event.type, Type::ServiceAvailable) << log.history();
    const auto extra = log.next(1500ms);
    EXPECT_FALSE(extra) << describe(extra->event);
    const auto startedAt = Clock::now();
    controlPcscd("start");
    expectServiceBack(log, reader0_, reader1_, startedAt);
}

TEST_F(PcscStack, Monitor_PcscdRestarted_ReportsUnavailableThenAvailableAgain) {
    EventLog log;
    auto monitor = startMonitor(log);
    expectInitialState(log);
    const auto restartedAt = Clock::now();
    controlPcscd("restart");  // SIGTERM, then a new pcscd
    expectServiceLost(log, reader0_, reader1_);
    expectServiceBack(log, reader0_, reader1_, restartedAt);
}

TEST_F(PcscStack, Monitor_StartedWithoutPcscd_ReportsUnavailableThenPicksUpPcscd) {
    controlPcscd("kill");
    EventLog log;
    auto monitor = startMonitor(log);
    const auto first = log.next(kEventTimeout);
    ASSERT_TRUE(first);
    EXPECT_EQ(first->event.type, Type::ServiceUnavailable);
    const auto startedAt = Clock::now();
    controlPcscd("start");
    expectServiceBack(log, reader0_, reader1_, startedAt);
}

TEST_F(PcscStack, Monitor_StopWhileWaitingForPcscd_ReturnsPromptly) {
    controlPcscd("kill");
    EventLog log;
    ReaderMonitor monitor(log.handler(), {}, ServiceBackoff{.first = 1000ms, .max = 1000ms});
    monitor.start();
    ASSERT_TRUE(log.next(kEventTimeout));
    const auto stopAt = Clock::now();
    monitor.stop();
    const double took = millisecondsBetween(stopAt, Clock::now());
    report("stop during back-off", took);
    EXPECT_LT(took, 500.0);
}

TEST_F(PcscStack, Monitor_StartAndStopRepeatedly_StopsPromptlyEveryTime) {
    double slowest = 0;
    for (int round = 0; round < 30; ++round) {
        EventLog log;
        ReaderMonitor monitor(log.handler());
        monitor.start();
        // Even rounds stop while the thread is still setting up (the cancel race), odd ones
        // once it waits in SCardGetStatusChange.
        if (round % 2 == 1) {
            ASSERT_TRUE(log.waitFor(Type::CardInserted, reader1_, kEventTimeout)) << log.history();
        }
        const auto stopAt = Clock::now();
        monitor.stop();
        slowest = std::max(slowest, millisecondsBetween(stopAt, Clock::now()));
    }
    report("slowest stop of 30", slowest);
    EXPECT_LT(slowest, 500.0);
}

}  // namespace
}  // namespace tk::pcsc
