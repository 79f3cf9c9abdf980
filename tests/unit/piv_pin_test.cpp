#include <gtest/gtest.h>

#include <memory>

#include "card/errors.hpp"
#include "card/piv/piv_token.hpp"
#include "support/fake_piv_card.hpp"
#include "support/piv_apdus.hpp"

namespace tk::card {
namespace {

using test::FakePivCard;
using test::hex;
using test::StandardCard;
namespace apdu = test::apdu;

constexpr std::uint32_t kVerifyPinDirect = 0x42330006;
constexpr std::uint32_t kModifyPinDirect = 0x42330007;

PinInput pin(const std::string& value, bool allowLastAttempt = false) {
    PinInput in;
    in.pin = SecureBytes::fromText(value);
    in.allowLastAttempt = allowLastAttempt;
    return in;
}

ReferenceDataChange change(const std::string& current, const std::string& replacement,
                           bool allowLastAttempt = false) {
    ReferenceDataChange c;
    c.current = SecureBytes::fromText(current);
    c.replacement = SecureBytes::fromText(replacement);
    c.allowLastAttempt = allowLastAttempt;
    return c;
}

// A token whose certificate list is already read, with the log cleared.
struct Warm {
    StandardCard s;
    PivToken token{s.card};
    Warm() {
        (void)token.certificates();
        s.card.clearLog();
    }
    FakePivCard& card() { return s.card; }
    const std::vector<Bytes>& sent() { return s.card.transmitted(); }
};

int verifiesWithPin(const std::vector<Bytes>& apdus) {
    int n = 0;
    for (const Bytes& a : apdus) {
        n += (a.size() > 5 && a[1] == 0x20 && a[2] == 0x00) ? 1 : 0;
    }
    return n;
}

// ---- PIN status

TEST(PivPinStatus, TwoApdus_NoRetryConsumed) {
    Warm w;
    const PinStatus status = w.token.pinStatus();
    EXPECT_EQ(status.retriesLeft, 3);
    EXPECT_FALSE(status.blocked);
    EXPECT_EQ(w.sent(), (std::vector<Bytes>{apdu::select(), apdu::pinStatus()}));
    EXPECT_EQ(w.card().pinRetries(), 3);
}

TEST(PivPinStatus, Blocked) {
    Warm w;
    w.card().setPin("123456", 0);
    const PinStatus status = w.token.pinStatus();
    EXPECT_EQ(status.retriesLeft, 0);
    EXPECT_TRUE(status.blocked);
}

TEST(PivPinStatus, VerifiedStateLeftBehind_ClearedThenRead) {
    Warm w;
    (void)w.card().transmit(apdu::select());
    ASSERT_EQ(w.card().transmit(apdu::verify("123456")), hex("9000"));
    w.card().clearLog();
    const PinStatus status = w.token.pinStatus();
    EXPECT_EQ(status.retriesLeft, 3);
    EXPECT_EQ(w.sent(), (std::vector<Bytes>{apdu::select(), apdu::pinStatus(), apdu::logout(),
                                            apdu::pinStatus()}));
    EXPECT_FALSE(w.card().pinVerified());
    EXPECT_FALSE(w.token.resetRequired());
}

TEST(PivPinStatus, VerifiedStateOnOldCard_ResetRequired) {
    Warm w;
    w.card().setLogoutSupported(false);
    (void)w.card().transmit(apdu::select());
    (void)w.card().transmit(apdu::verify("123456"));
    const PinStatus status = w.token.pinStatus();
    EXPECT_FALSE(status.retriesLeft);
    EXPECT_TRUE(w.token.resetRequired());
}

// ---- VERIFY

TEST(PivVerify, Correct_StatusVerifyThenLogout) {
    Warm w;
    w.token.verifyPin(pin("123456"));
    EXPECT_EQ(w.sent(), (std::vector<Bytes>{apdu::select(), apdu::pinStatus(),
                                            apdu::verify("123456"), apdu::logout()}))
        << apdu::listing(w.sent());
    EXPECT_FALSE(w.card().pinVerified());
    EXPECT_FALSE(w.token.resetRequired());
}

TEST(PivVerify, PinBlockIsAsciiPaddedWithFF) {
    Warm w;
    w.card().setPin("12345678");
    w.token.verifyPin(pin("12345678"));
    EXPECT_EQ(w.sent()[2], hex("00 20 00 80 08 31 32 33 34 35 36 37 38"));
}

TEST(PivVerify, BadFormat_CardUntouched) {
    Warm w;
    for (const char* bad : {"", "12345", "123456789", "12a456", "12 456", "١٢٣٤٥٦"}) {
        EXPECT_THROW(w.token.verifyPin(pin(bad)), PinFormat) << bad;
    }
    EXPECT_TRUE(w.sent().empty()) << apdu::listing(w.sent());
    EXPECT_EQ(w.card().pinRetries(), 3);
}

TEST(PivVerify, WrongPin_ReportsRetriesLeftAndSendsPinOnce) {
    Warm w;
    try {
        w.token.verifyPin(pin("654321"));
        FAIL() << "no exception";
    } catch (const PinIncorrect& e) {
        EXPECT_EQ(e.retriesLeft(), 2);
    }
    // Nothing got verified, so there is nothing to log out of.
    EXPECT_EQ(w.sent(),
              (std::vector<Bytes>{apdu::select(), apdu::pinStatus(), apdu::verify("654321")}));
    EXPECT_EQ(verifiesWithPin(w.sent()), 1);
    EXPECT_EQ(w.card().pinRetries(), 2);
}

TEST(PivVerify, Blocked_NoVerifySent) {
    Warm w;
    w.card().setPin("123456", 0);
    EXPECT_THROW(w.token.verifyPin(pin("123456", true)), PinBlocked);
    EXPECT_EQ(w.sent(), (std::vector<Bytes>{apdu::select(), apdu::pinStatus()}));
}

TEST(PivVerify, OneTryLeftWithoutLastAttempt_PinNotSent) {
    Warm w;
    w.card().setPin("123456", 1);
    try {
        w.token.verifyPin(pin("123456"));
        FAIL() << "no exception";
    } catch (const PinLastAttempt& e) {
        EXPECT_EQ(e.credential(), Credential::Pin);
        EXPECT_EQ(e.retriesLeft(), 1);
    }
    EXPECT_EQ(w.sent(), (std::vector<Bytes>{apdu::select(), apdu::pinStatus()}));
    EXPECT_EQ(w.card().pinRetries(), 1);
}

TEST(PivVerify, OneTryLeftWithLastAttempt_Sent) {
    Warm w;
    w.card().setPin("123456", 1);
    w.token.verifyPin(pin("123456", true));
    EXPECT_EQ(w.card().pinRetries(), 3);
}

TEST(PivVerify, LastTryUsedWrongly_PinBlockedWithZeroRetries) {
    Warm w;
    w.card().setPin("123456", 1);
    try {
        w.token.verifyPin(pin("000000", true));
        FAIL() << "no exception";
    } catch (const PinBlocked& e) {
        EXPECT_EQ(e.retriesLeft(), 0);
    }
    EXPECT_EQ(w.card().pinRetries(), 0);
}

TEST(PivVerify, NoPinNoPinpad_PinRequiredCardUntouched) {
    Warm w;
    EXPECT_THROW(w.token.verifyPin(PinInput{}), PinRequired);
    EXPECT_TRUE(w.sent().empty());
}

TEST(PivVerify, SelectsEvenWhenAnotherApplicationWasSelected) {
    Warm w;
    w.card().selectOtherApplication();
    w.token.verifyPin(pin("123456"));
    EXPECT_EQ(w.sent().front(), apdu::select());
}

TEST(PivVerify, LogoutUnsupported_ResetRequiredAndNotAskedAgain) {
    Warm w;
    w.card().setLogoutSupported(false);
    w.token.verifyPin(pin("123456"));
    EXPECT_TRUE(w.token.resetRequired());
    EXPECT_EQ(w.sent().back(), apdu::logout());
    w.card().reset();  // the owner's SCARD_RESET_CARD
    w.token.cardWasReset();
    EXPECT_FALSE(w.token.resetRequired());
    w.card().clearLog();
    w.token.verifyPin(pin("123456"));
    EXPECT_TRUE(w.token.resetRequired());
    EXPECT_EQ(w.sent().back(), apdu::verify("123456"));
}

TEST(PivVerify, LogoutTransientError_ResetRequiredButAskedNextTime) {
    Warm w;
    w.card().interceptor = [](std::size_t, ByteView a) -> std::optional<Bytes> {
        if (Bytes(a.begin(), a.end()) == apdu::logout()) {
            return hex("6F00");
        }
        return std::nullopt;
    };
    w.token.verifyPin(pin("123456"));
    EXPECT_TRUE(w.token.resetRequired());
    w.token.cardWasReset();
    w.card().interceptor = nullptr;
    w.card().clearLog();
    w.token.verifyPin(pin("123456"));
    EXPECT_FALSE(w.token.resetRequired());
    EXPECT_EQ(w.sent().back(), apdu::logout());
}

TEST(PivVerify, TransportErrorOnVerify_PropagatesAndResetRequired) {
    Warm w;
    // The card is pulled while the VERIFY is under way: every later APDU fails too.
    auto removed = std::make_shared<bool>(false);
    w.card().interceptor = [removed](std::size_t, ByteView a) -> std::optional<Bytes> {
        if (*removed || (a.size() > 5 && a[1] == 0x20)) {
            *removed = true;
            throw test::FakeTransportError("card removed");
        }
        return std::nullopt;
    };
    EXPECT_THROW(w.token.verifyPin(pin("123456")), test::FakeTransportError);
    EXPECT_EQ(w.sent().back(), apdu::logout());  // the logout was attempted
    EXPECT_TRUE(w.token.resetRequired());
}

TEST(PivVerify, UnexpectedStatusWord_CardError) {
    Warm w;
    w.card().interceptor = [](std::size_t, ByteView a) -> std::optional<Bytes> {
        if (Bytes(a.begin(), a.end()) == apdu::pinStatus()) {
            return hex("6A80");
        }
        return std::nullopt;
    };
    try {
        w.token.verifyPin(pin("123456"));
        FAIL() << "no exception";
    } catch (const CardError& e) {
        EXPECT_EQ(e.sw(), 0x6A80);
    }
    EXPECT_EQ(verifiesWithPin(w.sent()), 0);
}

// ---- pinpad

TEST(Pinpad, VerifyPinDirect_ExactControlBytes) {
    Warm w;
    w.card().setFeature(0x06, kVerifyPinDirect);
    w.card().setPinpadEntries({"123456"});
    w.token.verifyPin(PinInput{});
    ASSERT_EQ(w.card().controls().size(), 1u);
    EXPECT_EQ(w.card().controls()[0].first, kVerifyPinDirect);
    EXPECT_EQ(w.card().controls()[0].second,
              hex("3C 00 02 08 00 08 06 02 01 09 04 00 00 00 00 0D 00 00 00"
                  "00 20 00 80 08 FF FF FF FF FF FF FF FF"));
    // The host sent SELECT, the status query and the logout; the reader sent the VERIFY.
    EXPECT_EQ(w.sent(), (std::vector<Bytes>{apdu::select(), apdu::pinStatus(), apdu::logout()}));
    EXPECT_EQ(w.card().cardSaw()[2], apdu::verify("123456"));
    EXPECT_FALSE(w.card().pinVerified());
}

TEST(Pinpad, TimeoutAndCancel_Mapped) {
    Warm w;
    w.card().setFeature(0x06, kVerifyPinDirect);
    w.card().setPinpadOutcome(0x6400);
    EXPECT_THROW(w.token.verifyPin(PinInput{}), PinpadTimeout);
    w.card().setPinpadOutcome(0x6401);
    EXPECT_THROW(w.token.verifyPin(PinInput{}), PinpadCancelled);
    EXPECT_EQ(w.card().pinRetries(), 3);
    EXPECT_FALSE(w.token.resetRequired());
}

TEST(Pinpad, WrongPinOnPinpad_ReportsRetriesLeft) {
    Warm w;
    w.card().setFeature(0x06, kVerifyPinDirect);
    w.card().setPinpadEntries({"999999"});
    try {
        w.token.verifyPin(PinInput{});
        FAIL() << "no exception";
    } catch (const PinIncorrect& e) {
        EXPECT_EQ(e.retriesLeft(), 2);
    }
}

TEST(Pinpad, BlockedPin_PinpadNotPrompted) {
    Warm w;
    w.card().setFeature(0x06, kVerifyPinDirect);
    w.card().setPin("123456", 0);
    EXPECT_THROW(w.token.verifyPin(PinInput{}), PinBlocked);
    EXPECT_TRUE(w.card().controls().empty());
}

TEST(Pinpad, PinGivenOnPinpadReader_UsesGivenPin) {
    Warm w;
    w.card().setFeature(0x06, kVerifyPinDirect);
    w.token.verifyPin(pin("123456"));
    EXPECT_TRUE(w.card().controls().empty());
}

TEST(Pinpad, FeatureQueriedOnce) {
    Warm w;
    w.card().setFeature(0x06, kVerifyPinDirect);
    EXPECT_TRUE(w.token.hasPinpad());
    w.card().setPinpadEntries({"123456", "123456"});
    w.token.verifyPin(PinInput{});
    w.token.verifyPin(PinInput{});
    EXPECT_TRUE(w.token.hasPinpad());
    EXPECT_EQ(w.card().featureQueries(), 1u);
}

TEST(Pinpad, NoFeature_HasPinpadFalse) {
    Warm w;
    EXPECT_FALSE(w.token.hasPinpad());
}

// ---- CHANGE REFERENCE DATA / RESET RETRY COUNTER

TEST(PivChangePin, Success_StatusChangeThenLogout) {
    Warm w;
    w.token.changePin(change("123456", "24681357"));
    EXPECT_EQ(w.sent(), (std::vector<Bytes>{apdu::select(), apdu::pinStatus(),
                                            apdu::referenceData("24 00 80", "123456", "24681357"),
                                            apdu::logout()}))
        << apdu::listing(w.sent());
    EXPECT_TRUE(w.card().pinMatches("24681357"));
}

TEST(PivChangePin, NewPinBadFormat_CardUntouched) {
    Warm w;
    try {
        w.token.changePin(change("123456", "12345"));
        FAIL() << "no exception";
    } catch (const PinFormat& e) {
        EXPECT_EQ(e.credential(), Credential::Pin);
    }
    EXPECT_TRUE(w.sent().empty());
}

TEST(PivChangePin, WrongCurrentPin_RetriesLeftNoLogout) {
    Warm w;
    try {
        w.token.changePin(change("111111", "222222"));
        FAIL() << "no exception";
    } catch (const PinIncorrect& e) {
        EXPECT_EQ(e.retriesLeft(), 2);
    }
    EXPECT_EQ(w.sent().size(), 3u);
    EXPECT_TRUE(w.card().pinMatches("123456"));
}

TEST(PivChangePin, OneTryLeft_NeedsLastAttempt) {
    Warm w;
    w.card().setPin("123456", 1);
    EXPECT_THROW(w.token.changePin(change("123456", "222222")), PinLastAttempt);
    EXPECT_EQ(w.sent().size(), 2u);
    w.token.changePin(change("123456", "222222", true));
    EXPECT_TRUE(w.card().pinMatches("222222"));
}

TEST(PivChangePin, HalfGiven_PinRequired) {
    Warm w;
    w.card().setFeature(0x07, kModifyPinDirect);
    ReferenceDataChange c;
    c.current = SecureBytes::fromText("123456");
    EXPECT_THROW(w.token.changePin(c), PinRequired);
    EXPECT_TRUE(w.sent().empty());
}

TEST(PivChangePin, Pinpad_ModifyPinDirect) {
    Warm w;
    w.card().setFeature(0x07, kModifyPinDirect);
    w.card().setPinpadEntries({"123456", "97531864", "97531864"});
    w.token.changePin(ReferenceDataChange{});
    ASSERT_EQ(w.card().controls().size(), 1u);
    EXPECT_EQ(w.card().controls()[0].first, kModifyPinDirect);
    EXPECT_EQ(w.card().controls()[0].second,
              hex("3C 00 02 08 00 00 08 08 06 03 02 03 09 04 00 01 02 00 00 00 15 00 00 00"
                  "00 24 00 80 10 FFFFFFFFFFFFFFFF FFFFFFFFFFFFFFFF"));
    EXPECT_TRUE(w.card().pinMatches("97531864"));
    EXPECT_EQ(w.sent().back(), apdu::logout());
}

TEST(PivChangePin, NoPinpad_PinRequired) {
    Warm w;
    EXPECT_THROW(w.token.changePin(ReferenceDataChange{}), PinRequired);
}

TEST(PivChangePuk, Success_NoLogoutNeeded) {
    Warm w;
    w.token.changePuk(change("12345678", "87654321"));
    EXPECT_EQ(w.sent(),
              (std::vector<Bytes>{apdu::select(),
                                  apdu::referenceData("24 00 81", "12345678", "87654321")}));
    EXPECT_TRUE(w.card().pukMatches("87654321"));
}

TEST(PivChangePuk, PukFormatIsEightDigits) {
    Warm w;
    EXPECT_THROW(w.token.changePuk(change("1234567", "87654321")), PinFormat);
    EXPECT_THROW(w.token.changePuk(change("12345678", "8765432a")), PinFormat);
    EXPECT_TRUE(w.sent().empty());
}

TEST(PivChangePuk, WrongPuk_RemembersCounterForLastAttemptRule) {
    Warm w;
    w.card().setPuk("12345678", 2);
    try {
        w.token.changePuk(change("00000000", "11111111"));
        FAIL() << "no exception";
    } catch (const PukIncorrect& e) {
        EXPECT_EQ(e.retriesLeft(), 1);
    }
    w.card().clearLog();
    try {
        w.token.changePuk(change("12345678", "11111111"));
        FAIL() << "no exception";
    } catch (const PinLastAttempt& e) {
        EXPECT_EQ(e.credential(), Credential::Puk);
    }
    EXPECT_TRUE(w.sent().empty());
    w.token.changePuk(change("12345678", "11111111", true));
    EXPECT_TRUE(w.card().pukMatches("11111111"));
}

TEST(PivUnblock, Success_ResetsPinAndLogsOut) {
    Warm w;
    w.card().setPin("123456", 0);
    w.token.unblockPin(change("12345678", "314159"));
    EXPECT_EQ(w.sent(), (std::vector<Bytes>{apdu::select(),
                                            apdu::referenceData("2C 00 80", "12345678", "314159"),
                                            apdu::logout()}))
        << apdu::listing(w.sent());
    EXPECT_TRUE(w.card().pinMatches("314159"));
    EXPECT_EQ(w.card().pinRetries(), 3);
}

TEST(PivUnblock, WrongPukThenBlocked_NoFurtherAttempt) {
    Warm w;
    w.card().setPuk("12345678", 1);
    try {
        w.token.unblockPin(change("00000000", "314159", true));
        FAIL() << "no exception";
    } catch (const PukBlocked&) {
    }
    w.card().clearLog();
    EXPECT_THROW(w.token.unblockPin(change("12345678", "314159", true)), PukBlocked);
    EXPECT_TRUE(w.sent().empty());
}

TEST(PivUnblock, WrongPuk_PukIncorrect) {
    Warm w;
    try {
        w.token.unblockPin(change("00000000", "314159"));
        FAIL() << "no exception";
    } catch (const PukIncorrect& e) {
        EXPECT_EQ(e.retriesLeft(), 2);
    }
    EXPECT_FALSE(w.token.resetRequired());
}

TEST(PivUnblock, NewPinBadFormat_CardUntouched) {
    Warm w;
    try {
        w.token.unblockPin(change("12345678", "1234"));
        FAIL() << "no exception";
    } catch (const PinFormat& e) {
        EXPECT_EQ(e.credential(), Credential::Pin);
    }
    EXPECT_TRUE(w.sent().empty());
}

// ---- commands that carry a secret

// Every command with a PIN or PUK in it goes through transmitSecret (never resent after a
// 6Cxx by the PC/SC layer), and nothing else does.
TEST(PivSecrets, CommandsCarryingPinOrPuk_SentAsSecretsOnly) {
    Warm w;
    w.token.verifyPin(pin("123456"));
    w.token.changePin(change("123456", "24681357"));
    w.token.changePuk(change("12345678", "87654321"));
    w.card().setPin("24681357", 0);
    w.token.unblockPin(change("87654321", "314159"));
    std::vector<std::size_t> carrying;
    for (std::size_t i = 0; i < w.sent().size(); ++i) {
        const Bytes& a = w.sent()[i];
        const bool referenceData = a[1] == 0x20 || a[1] == 0x24 || a[1] == 0x2C;
        if (referenceData && a.size() > 5) {
            carrying.push_back(i);
        }
    }
    EXPECT_EQ(carrying.size(), 4U) << apdu::listing(w.sent());
    EXPECT_EQ(w.card().secretTransmits(), carrying) << apdu::listing(w.sent());
}

}  // namespace
}  // namespace tk::card
