#include "pcsc/response_completion.hpp"

#include <gtest/gtest.h>
#include <winscard.h>

#include <cstdint>
#include <deque>
#include <span>
#include <utility>
#include <vector>

#include "pcsc/errors.hpp"

namespace tk::pcsc {
namespace {

// A card that expects exactly the listed commands, in order, and gives the listed answers.
class ScriptedCard {
  public:
    ScriptedCard& expect(Bytes command, Bytes response) {
        script_.emplace_back(std::move(command), std::move(response));
        return *this;
    }

    RawTransmit transmit() {
        return [this](std::span<const std::uint8_t> command) {
            sent_.emplace_back(command.begin(), command.end());
            if (script_.empty()) {
                ADD_FAILURE() << "unexpected command number " << sent_.size();
                return Bytes{0x6F, 0x00};
            }
            auto [expected, response] = std::move(script_.front());
            script_.pop_front();
            EXPECT_EQ(sent_.back(), expected) << "command number " << sent_.size();
            return response;
        };
    }

    bool finished() const { return script_.empty(); }
    std::size_t sent() const { return sent_.size(); }

  private:
    std::deque<std::pair<Bytes, Bytes>> script_;
    std::vector<Bytes> sent_;
};

Bytes concat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const Bytes& part : parts) {
        out.insert(out.end(), part.begin(), part.end());
    }
    return out;
}

Bytes filled(std::size_t n, std::uint8_t value) {
    return Bytes(n, value);
}

const Bytes kSelectPiv{0x00, 0xA4, 0x04, 0x00, 0x09, 0xA0, 0x00, 0x00,
                       0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x00};

TEST(ResponseCompletion, Ok_ReturnsResponseAsIs) {
    ScriptedCard card;
    card.expect(kSelectPiv, {0x61, 0x03, 0x4F, 0x01, 0x00, 0x90, 0x00});
    EXPECT_EQ(completeResponse(kSelectPiv, card.transmit()),
              (Bytes{0x61, 0x03, 0x4F, 0x01, 0x00, 0x90, 0x00}));
    EXPECT_TRUE(card.finished());
}

TEST(ResponseCompletion, ErrorStatus_ReturnsStatusWithoutFollowUp) {
    ScriptedCard card;
    card.expect(kSelectPiv, {0x6A, 0x82});
    EXPECT_EQ(completeResponse(kSelectPiv, card.transmit()), (Bytes{0x6A, 0x82}));
    EXPECT_EQ(card.sent(), 1U);
}

TEST(ResponseCompletion, MoreData_SendsGetResponseAndJoinsParts) {
    const Bytes first = filled(256, 0x11);
    const Bytes second = filled(0x10, 0x22);
    ScriptedCard card;
    card.expect(kSelectPiv, concat({first, {0x61, 0x10}}))
        .expect({0x00, 0xC0, 0x00, 0x00, 0x10}, concat({second, {0x90, 0x00}}));
    EXPECT_EQ(completeResponse(kSelectPiv, card.transmit()), concat({first, second, {0x90, 0x00}}));
    EXPECT_TRUE(card.finished());
}

TEST(ResponseCompletion, LongChain_FollowsEveryPartIncluding6100) {
    // 61 00 asks for 256 more bytes: GET RESPONSE with Le 00.
    const Bytes a = filled(256, 0xA1);
    const Bytes b = filled(256, 0xB2);
    const Bytes c = filled(100, 0xC3);
    ScriptedCard card;
    card.expect(kSelectPiv, concat({a, {0x61, 0x00}}))
        .expect({0x00, 0xC0, 0x00, 0x00, 0x00}, concat({b, {0x61, 0x64}}))
        .expect({0x00, 0xC0, 0x00, 0x00, 0x64}, concat({c, {0x90, 0x00}}));
    EXPECT_EQ(completeResponse(kSelectPiv, card.transmit()), concat({a, b, c, {0x90, 0x00}}));
    EXPECT_TRUE(card.finished());
}

TEST(ResponseCompletion, MoreDataEndingInError_KeepsDataAndFinalStatus) {
    ScriptedCard card;
    card.expect(kSelectPiv, {0x01, 0x02, 0x61, 0x02})
        .expect({0x00, 0xC0, 0x00, 0x00, 0x02}, {0x6F, 0x00});
    EXPECT_EQ(completeResponse(kSelectPiv, card.transmit()), (Bytes{0x01, 0x02, 0x6F, 0x00}));
}

TEST(ResponseCompletion, ChainedCommand_GetResponseDropsChainingBit) {
    // The last part of a chained GENERAL AUTHENTICATE has CLA 00, but a card may answer an
    // earlier CLA 10 part with 61xx too; GET RESPONSE is never itself chained.
    const Bytes part{0x10, 0x87, 0x07, 0x9A, 0x02, 0x7C, 0x00};
    ScriptedCard card;
    card.expect(part, {0x61, 0x01}).expect({0x00, 0xC0, 0x00, 0x00, 0x01}, {0x55, 0x90, 0x00});
    EXPECT_EQ(completeResponse(part, card.transmit()), (Bytes{0x55, 0x90, 0x00}));
}

TEST(ResponseCompletion, LogicalChannel_GetResponseKeepsChannel) {
    const Bytes onChannel3{0x13, 0xCB, 0x3F, 0xFF, 0x00};
    ScriptedCard card;
    card.expect(onChannel3, {0x61, 0x01})
        .expect({0x03, 0xC0, 0x00, 0x00, 0x01}, {0x55, 0x90, 0x00});
    EXPECT_EQ(completeResponse(onChannel3, card.transmit()), (Bytes{0x55, 0x90, 0x00}));
}

TEST(ResponseCompletion, FurtherInterindustryClass_GetResponseKeepsChannelDropsSmAndChaining) {
    const Bytes command{0x75, 0xCB, 0x3F, 0xFF, 0x00};  // SM + chaining + channel 9
    ScriptedCard card;
    card.expect(command, {0x61, 0x01}).expect({0x45, 0xC0, 0x00, 0x00, 0x01}, {0x55, 0x90, 0x00});
    EXPECT_EQ(completeResponse(command, card.transmit()), (Bytes{0x55, 0x90, 0x00}));
}

TEST(ResponseCompletion, ProprietaryClass_GetResponseUsesClass00) {
    const Bytes command{0x80, 0xCA, 0x9F, 0x7F, 0x00};
    ScriptedCard card;
    card.expect(command, {0x61, 0x01}).expect({0x00, 0xC0, 0x00, 0x00, 0x01}, {0x55, 0x90, 0x00});
    EXPECT_EQ(completeResponse(command, card.transmit()), (Bytes{0x55, 0x90, 0x00}));
}

TEST(ResponseCompletion, WrongLeOnCase2_ResendsWithCardsLe) {
    const Bytes getData{0x00, 0xCA, 0x01, 0x00, 0x00};
    ScriptedCard card;
    card.expect(getData, {0x6C, 0x04})
        .expect({0x00, 0xCA, 0x01, 0x00, 0x04}, {0x01, 0x02, 0x03, 0x04, 0x90, 0x00});
    EXPECT_EQ(completeResponse(getData, card.transmit()),
              (Bytes{0x01, 0x02, 0x03, 0x04, 0x90, 0x00}));
    EXPECT_TRUE(card.finished());
}

TEST(ResponseCompletion, WrongLeOnCase1_AppendsLe) {
    const Bytes command{0x00, 0xCA, 0x01, 0x00};
    ScriptedCard card;
    card.expect(command, {0x6C, 0x02})
        .expect({0x00, 0xCA, 0x01, 0x00, 0x02}, {0xAA, 0xBB, 0x90, 0x00});
    EXPECT_EQ(completeResponse(command, card.transmit()), (Bytes{0xAA, 0xBB, 0x90, 0x00}));
}

TEST(ResponseCompletion, WrongLeOnCase3_AppendsLe) {
    const Bytes command{0x00, 0xCB, 0x3F, 0xFF, 0x02, 0x5C, 0x00};
    ScriptedCard card;
    card.expect(command, {0x6C, 0x08})
        .expect({0x00, 0xCB, 0x3F, 0xFF, 0x02, 0x5C, 0x00, 0x08},
                concat({filled(8, 1), {0x90, 0x00}}));
    EXPECT_EQ(completeResponse(command, card.transmit()), concat({filled(8, 1), {0x90, 0x00}}));
}

TEST(ResponseCompletion, WrongLeOnCase4_ReplacesLe) {
    ScriptedCard card;
    Bytes resent = kSelectPiv;
    resent.back() = 0x15;
    card.expect(kSelectPiv, {0x6C, 0x15}).expect(resent, concat({filled(0x15, 7), {0x90, 0x00}}));
    EXPECT_EQ(completeResponse(kSelectPiv, card.transmit()),
              concat({filled(0x15, 7), {0x90, 0x00}}));
}

TEST(ResponseCompletion, WrongLeOnExtendedCase4_ReplacesBothLeBytes) {
    const Bytes command{0x00, 0xCB, 0x3F, 0xFF, 0x00, 0x00, 0x02, 0x5C, 0x00, 0x00, 0x00};
    ScriptedCard card;
    card.expect(command, {0x6C, 0x00})  // 00: 256 bytes, two Le bytes in an extended APDU
        .expect({0x00, 0xCB, 0x3F, 0xFF, 0x00, 0x00, 0x02, 0x5C, 0x00, 0x01, 0x00},
                concat({filled(256, 9), {0x90, 0x00}}));
    EXPECT_EQ(completeResponse(command, card.transmit()), concat({filled(256, 9), {0x90, 0x00}}));
}

TEST(ResponseCompletion, WrongLeOnExtendedCase2_ReplacesBothLeBytes) {
    const Bytes command{0x00, 0xCA, 0x01, 0x00, 0x00, 0x00, 0x00};
    ScriptedCard card;
    card.expect(command, {0x6C, 0x03})
        .expect({0x00, 0xCA, 0x01, 0x00, 0x00, 0x00, 0x03}, {0x01, 0x02, 0x03, 0x90, 0x00});
    EXPECT_EQ(completeResponse(command, card.transmit()), (Bytes{0x01, 0x02, 0x03, 0x90, 0x00}));
}

TEST(ResponseCompletion, WrongLeTwice_ResendsOnlyOnce) {
    const Bytes getData{0x00, 0xCA, 0x01, 0x00, 0x00};
    ScriptedCard card;
    card.expect(getData, {0x6C, 0x04}).expect({0x00, 0xCA, 0x01, 0x00, 0x04}, {0x6C, 0x05});
    EXPECT_EQ(completeResponse(getData, card.transmit()), (Bytes{0x6C, 0x05}));
    EXPECT_TRUE(card.finished());
}

TEST(ResponseCompletion, WrongLeOnMalformedCommand_ReturnsStatus) {
    const Bytes malformed{0x00, 0xCA, 0x01, 0x00, 0x05, 0x01};  // Lc 5 but one data byte
    ScriptedCard card;
    card.expect(malformed, {0x6C, 0x04});
    EXPECT_EQ(completeResponse(malformed, card.transmit()), (Bytes{0x6C, 0x04}));
    EXPECT_TRUE(card.finished());
}

TEST(ResponseCompletion, WrongLeThenMoreData_FollowsBoth) {
    const Bytes getData{0x00, 0xCA, 0x01, 0x00, 0x00};
    ScriptedCard card;
    card.expect(getData, {0x6C, 0x02})
        .expect({0x00, 0xCA, 0x01, 0x00, 0x02}, {0x01, 0x02, 0x61, 0x01})
        .expect({0x00, 0xC0, 0x00, 0x00, 0x01}, {0x03, 0x90, 0x00});
    EXPECT_EQ(completeResponse(getData, card.transmit()), (Bytes{0x01, 0x02, 0x03, 0x90, 0x00}));
}

TEST(ResponseCompletion, WrongLeAnsweringGetResponse_ResendsGetResponseWithCardsLe) {
    ScriptedCard card;
    card.expect(kSelectPiv, {0x01, 0x61, 0x10})
        .expect({0x00, 0xC0, 0x00, 0x00, 0x10}, {0x6C, 0x03})
        .expect({0x00, 0xC0, 0x00, 0x00, 0x03}, {0x02, 0x03, 0x04, 0x90, 0x00});
    EXPECT_EQ(completeResponse(kSelectPiv, card.transmit()),
              (Bytes{0x01, 0x02, 0x03, 0x04, 0x90, 0x00}));
    EXPECT_TRUE(card.finished());
}

TEST(ResponseCompletion, ResponseWithoutStatusWord_ThrowsCommDataLost) {
    ScriptedCard card;
    card.expect(kSelectPiv, {0x90});
    try {
        completeResponse(kSelectPiv, card.transmit());
        FAIL() << "no exception";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), static_cast<std::uint32_t>(SCARD_E_COMM_DATA_LOST));
        EXPECT_EQ(e.function(), "SCardTransmit");
    }
}

TEST(ResponseCompletion, EmptyGetResponseAnswer_ThrowsCommDataLost) {
    ScriptedCard card;
    card.expect(kSelectPiv, {0x61, 0x01}).expect({0x00, 0xC0, 0x00, 0x00, 0x01}, {});
    EXPECT_THROW(completeResponse(kSelectPiv, card.transmit()), Error);
}

TEST(ResponseCompletion, EndlessMoreData_StopsWithError) {
    std::size_t calls = 0;
    const RawTransmit endless = [&calls](std::span<const std::uint8_t>) {
        ++calls;
        return concat({filled(256, 0x5A), {0x61, 0x00}});
    };
    EXPECT_THROW(completeResponse(kSelectPiv, endless), Error);
    EXPECT_LE(calls, kMaxCompletedResponse / 256 + 2);
    EXPECT_GE(calls, kMaxCompletedResponse / 256);
}

TEST(ResponseCompletion, EndlessMoreDataWithoutData_StopsAfterRoundLimit) {
    std::size_t calls = 0;
    const RawTransmit endless = [&calls](std::span<const std::uint8_t>) {
        ++calls;
        return Bytes{0x61, 0x00};  // more data waits, says the card, and gives none
    };
    try {
        completeResponse(kSelectPiv, endless);
        FAIL() << "no exception";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), static_cast<std::uint32_t>(SCARD_E_COMM_DATA_LOST));
    }
    EXPECT_EQ(calls, kMaxGetResponseRounds + 1);
}

TEST(ResponseCompletion, EndlessWrongLeToGetResponse_StopsAfterRoundLimit) {
    std::size_t calls = 0;
    const RawTransmit endless = [&calls](std::span<const std::uint8_t>) {
        return ++calls % 2 == 1 ? Bytes{0x61, 0x10} : Bytes{0x6C, 0x10};
    };
    EXPECT_THROW(completeResponse(kSelectPiv, endless), Error);
    EXPECT_EQ(calls, kMaxGetResponseRounds + 1);
}

const Bytes kVerifyPin{0x00, 0x20, 0x00, 0x80, 0x08, 0x31, 0x32,
                       0x33, 0x34, 0x35, 0x36, 0xFF, 0xFF};

TEST(ResponseCompletion, WrongLeOnSecretCommand_ReturnedWithoutResend) {
    ScriptedCard card;
    card.expect(kVerifyPin, {0x6C, 0x00});
    EXPECT_EQ(completeResponse(kVerifyPin, card.transmit(), Resend::Never), (Bytes{0x6C, 0x00}));
    EXPECT_EQ(card.sent(), 1U);
}

TEST(ResponseCompletion, WrongLeOnOrdinaryCommandWithData_Resent) {
    ScriptedCard card;
    card.expect(kVerifyPin, {0x6C, 0x00}).expect(concat({kVerifyPin, {0x00}}), {0x90, 0x00});
    EXPECT_EQ(completeResponse(kVerifyPin, card.transmit()), (Bytes{0x90, 0x00}));
}

TEST(ResponseCompletion, MoreDataOnSecretCommand_StillFollowed) {
    ScriptedCard card;
    card.expect(kVerifyPin, {0x61, 0x02})
        .expect({0x00, 0xC0, 0x00, 0x00, 0x02}, {0x01, 0x02, 0x90, 0x00});
    EXPECT_EQ(completeResponse(kVerifyPin, card.transmit(), Resend::Never),
              (Bytes{0x01, 0x02, 0x90, 0x00}));
}

TEST(ResponseCompletion, TransmitFailure_PropagatesTypedError) {
    std::size_t calls = 0;
    const RawTransmit removedMidway = [&calls](std::span<const std::uint8_t>) -> Bytes {
        if (++calls == 2) {
            throw CardRemoved(static_cast<std::uint32_t>(SCARD_W_REMOVED_CARD), "SCardTransmit");
        }
        return {0x01, 0x61, 0x05};
    };
    EXPECT_THROW(completeResponse(kSelectPiv, removedMidway), CardRemoved);
    EXPECT_EQ(calls, 2U);
}

}  // namespace
}  // namespace tk::pcsc
