#include "pcsc/card_presence.hpp"

#include <gtest/gtest.h>
#include <winscard.h>

#include <cstdint>

namespace tk::pcsc {
namespace {

constexpr std::uint32_t state(std::uint32_t flags, std::uint16_t counter) {
    return flags | (std::uint32_t{counter} << 16);
}

constexpr std::uint32_t kPresent = SCARD_STATE_PRESENT;
constexpr std::uint32_t kEmpty = SCARD_STATE_EMPTY;

constexpr CardPresenceChange kNone{};
constexpr CardPresenceChange kInserted{.removed = false, .inserted = true};
constexpr CardPresenceChange kRemoved{.removed = true, .inserted = false};
constexpr CardPresenceChange kSwapped{.removed = true, .inserted = true};

TEST(CardPresence, FirstLookWithCard_ReportsInserted) {
    EXPECT_EQ(cardPresenceChange(SCARD_STATE_UNAWARE, state(kPresent, 1)), kInserted);
}

TEST(CardPresence, FirstLookWithoutCard_ReportsNothing) {
    EXPECT_EQ(cardPresenceChange(SCARD_STATE_UNAWARE, state(kEmpty, 0)), kNone);
}

TEST(CardPresence, EmptyThenPresent_ReportsInserted) {
    EXPECT_EQ(cardPresenceChange(state(kEmpty, 2), state(kPresent, 3)), kInserted);
}

TEST(CardPresence, PresentThenEmpty_ReportsRemoved) {
    EXPECT_EQ(cardPresenceChange(state(kPresent, 3), state(kEmpty, 4)), kRemoved);
}

TEST(CardPresence, PresentTwiceWithNewEventCounter_ReportsRemovedAndInserted) {
    // Pulled and put back between two looks: only the counter (3 -> 5) tells.
    EXPECT_EQ(cardPresenceChange(state(kPresent, 3), state(kPresent, 5)), kSwapped);
}

TEST(CardPresence, PresentTwiceWithCounterWrapped_ReportsRemovedAndInserted) {
    EXPECT_EQ(cardPresenceChange(state(kPresent, 0xFFFF), state(kPresent, 1)), kSwapped);
}

TEST(CardPresence, PresentTwiceOnlyInUseChanged_ReportsNothing) {
    EXPECT_EQ(cardPresenceChange(state(kPresent, 3), state(kPresent | SCARD_STATE_INUSE, 3)),
              kNone);
}

TEST(CardPresence, EmptyTwiceWithNewEventCounter_ReportsNothing) {
    EXPECT_EQ(cardPresenceChange(state(kEmpty, 2), state(kEmpty, 4)), kNone);
}

TEST(CardPresence, ReaderBecomesUnavailable_ReportsRemoved) {
    EXPECT_EQ(cardPresenceChange(state(kPresent, 3), SCARD_STATE_UNAVAILABLE), kRemoved);
}

TEST(CardPresence, ReaderGone_ReportsRemoved) {
    EXPECT_EQ(cardPresenceChange(state(kPresent, 3), SCARD_STATE_UNKNOWN | SCARD_STATE_UNAVAILABLE),
              kRemoved);
}

TEST(CardPresence, MuteCard_CountsAsPresent) {
    EXPECT_TRUE(cardPresent(state(kPresent | SCARD_STATE_MUTE, 1)));
    EXPECT_EQ(cardPresenceChange(state(kEmpty, 0), state(kPresent | SCARD_STATE_MUTE, 1)),
              kInserted);
}

TEST(CardPresence, EventCounter_IsUpperSixteenBits) {
    EXPECT_EQ(cardEventCounter(0x00070120U), 7U);
    EXPECT_EQ(cardEventCounter(0xFFFF0010U), 0xFFFFU);
}

}  // namespace
}  // namespace tk::pcsc
