#include <gtest/gtest.h>

#include "card/errors.hpp"
#include "card/piv/card_identity.hpp"
#include "card/piv/piv_token.hpp"
#include "support/fake_piv_card.hpp"
#include "support/piv_apdus.hpp"

namespace tk::card {
namespace {

using test::FakePivCard;
using test::hex;
using test::StandardCard;
namespace apdu = test::apdu;

std::vector<Bytes> coldReadSequence() {
    return {apdu::select(),          apdu::getData("5FC102"), apdu::getData("5FC10C"),
            apdu::getData("5FC105"), apdu::getData("5FC10A"), apdu::getData("5FC10B"),
            apdu::getData("5FC101")};
}

TEST(PivCertificates, Cold_ReadsIdentityAndCertificatesInSevenApdus) {
    StandardCard s;
    PivToken token(s.card);
    const auto& entries = token.certificates();
    EXPECT_EQ(s.card.transmitted(), coldReadSequence()) << apdu::listing(s.card.transmitted());
    ASSERT_EQ(entries.size(), 4u);

    EXPECT_EQ(entries[0].slot, "9a");
    EXPECT_EQ(entries[0].label, "PIV Authentication");
    EXPECT_EQ(entries[0].der, s.cert9a);
    EXPECT_EQ(entries[0].keyAlgorithm, KeyAlgorithm::Rsa2048);
    EXPECT_EQ(entries[0].pinPolicy, PinPolicy::Once);

    EXPECT_EQ(entries[1].slot, "9c");
    EXPECT_EQ(entries[1].der, s.cert9c);
    EXPECT_EQ(entries[1].pinPolicy, PinPolicy::Always);

    EXPECT_EQ(entries[2].slot, "9d");
    EXPECT_EQ(entries[2].keyAlgorithm, KeyAlgorithm::EcP256);

    EXPECT_EQ(entries[3].slot, "9e");
    EXPECT_EQ(entries[3].label, "Card Authentication");
    EXPECT_EQ(entries[3].pinPolicy, PinPolicy::Never);
    EXPECT_TRUE(token.skippedCertificates().empty());
}

TEST(PivCertificates, Warm_NoApdu) {
    StandardCard s;
    PivToken token(s.card);
    (void)token.certificates();
    s.card.clearLog();
    (void)token.certificates();
    (void)token.cardId();
    (void)token.skippedCertificates();
    EXPECT_TRUE(s.card.transmitted().empty()) << apdu::listing(s.card.transmitted());
}

TEST(PivCertificates, CardIdFirst_SameSingleRead) {
    StandardCard s;
    PivToken token(s.card);
    (void)token.cardId();
    (void)token.certificates();
    EXPECT_EQ(s.card.transmitted(), coldReadSequence());
}

TEST(PivCertificates, InvalidateCache_ReadsAgain) {
    StandardCard s;
    PivToken token(s.card);
    (void)token.certificates();
    const Bytes replacement = test::makeCertificate(test::rsa2048b());
    s.card.putCertificate(0x9A, replacement);
    EXPECT_EQ(token.certificates()[0].der, s.cert9a);  // cached
    token.invalidateCache();
    s.card.clearLog();
    EXPECT_EQ(token.certificates()[0].der, replacement);
    EXPECT_EQ(s.card.transmitted().size(), 7u);
}

TEST(PivCertificates, RetiredKeys_ReadPerKeyHistory) {
    StandardCard s;
    s.card.setKeyHistory(2);
    const Bytes retired1 = test::makeCertificate(test::rsa3072());
    const Bytes retired2 = test::makeCertificate(test::p384());
    s.card.putCertificate(0x82, retired1);
    s.card.putCertificate(0x83, retired2);
    s.card.putCertificate(0x84, test::makeCertificate(test::p256a()));  // beyond the history
    PivToken token(s.card);
    const auto& entries = token.certificates();
    std::vector<Bytes> expected = coldReadSequence();
    expected.push_back(apdu::getData("5FC10D"));
    expected.push_back(apdu::getData("5FC10E"));
    EXPECT_EQ(s.card.transmitted(), expected) << apdu::listing(s.card.transmitted());
    ASSERT_EQ(entries.size(), 6u);
    EXPECT_EQ(entries[4].slot, "82");
    EXPECT_EQ(entries[4].der, retired1);
    EXPECT_EQ(entries[4].keyAlgorithm, KeyAlgorithm::Rsa3072);
    EXPECT_EQ(entries[4].label, "Retired Key Management 1");
    EXPECT_EQ(entries[5].slot, "83");
    EXPECT_EQ(entries[5].keyAlgorithm, KeyAlgorithm::EcP384);
}

TEST(PivCertificates, KeyHistoryRefused_StandardSlotsStillListed) {
    StandardCard s;
    s.card.setKeyHistory(1);
    s.card.putCertificate(0x82, test::makeCertificate(test::p384()));
    s.card.interceptor = [](std::size_t, ByteView a) -> std::optional<Bytes> {
        if (Bytes(a.begin(), a.end()) == apdu::getData("5FC10C")) {
            return hex("6A80");
        }
        return std::nullopt;
    };
    PivToken token(s.card);
    EXPECT_EQ(token.certificates().size(), 4u);
    EXPECT_EQ(s.card.transmitted(), coldReadSequence());
}

TEST(PivCertificates, GzipCertificate_Decompressed) {
    StandardCard s;
    s.card.putCertificate(0x9C, s.cert9c, /*gzip=*/true);
    PivToken token(s.card);
    EXPECT_EQ(token.certificates()[1].der, s.cert9c);
}

TEST(PivCertificates, EmptySlots_NotListed) {
    StandardCard s;
    s.card.removeObject(0x5FC10A);
    s.card.putObject(0x5FC10B, {});  // emptied container (53 00)
    PivToken token(s.card);
    const auto& entries = token.certificates();
    ASSERT_EQ(entries.size(), 2u);
    EXPECT_EQ(entries[0].slot, "9a");
    EXPECT_EQ(entries[1].slot, "9e");
    EXPECT_TRUE(token.skippedCertificates().empty());
}

TEST(PivCertificates, UnsupportedKeyOrBrokenObject_SkippedWithReason) {
    StandardCard s;
    s.card.putCertificate(0x9E, test::makeCertificate(test::rsa1024()));
    s.card.putObject(0x5FC10B, hex("7005 3003020101 7101"));  // broken container
    PivToken token(s.card);
    const auto& entries = token.certificates();
    ASSERT_EQ(entries.size(), 2u);
    EXPECT_EQ(entries[0].slot, "9a");
    EXPECT_EQ(entries[1].slot, "9c");
    const auto& skipped = token.skippedCertificates();
    ASSERT_EQ(skipped.size(), 2u);
    EXPECT_EQ(skipped[0].slot, "9d");
    EXPECT_EQ(skipped[1].slot, "9e");
    EXPECT_EQ(skipped[1].reason, "key type not supported");
}

TEST(PivCertificates, CardErrorOnOneObject_SkippedOthersListed) {
    StandardCard s;
    s.card.interceptor = [](std::size_t, ByteView a) -> std::optional<Bytes> {
        if (Bytes(a.begin(), a.end()) == apdu::getData("5FC10A")) {
            return hex("6982");
        }
        return std::nullopt;
    };
    PivToken token(s.card);
    EXPECT_EQ(token.certificates().size(), 3u);
    ASSERT_EQ(token.skippedCertificates().size(), 1u);
    EXPECT_EQ(token.skippedCertificates()[0].slot, "9c");
}

TEST(PivCertificates, NoPivApplication_UnsupportedCard) {
    FakePivCard card;
    card.interceptor = [](std::size_t, ByteView) -> std::optional<Bytes> { return hex("6A82"); };
    PivToken token(card);
    EXPECT_THROW(token.certificates(), UnsupportedCard);
    EXPECT_EQ(card.transmitted().size(), 1u);
}

TEST(PivCertificates, TransportError_PropagatesUnchanged) {
    StandardCard s;
    s.card.interceptor = [](std::size_t index, ByteView) -> std::optional<Bytes> {
        if (index == 4) {
            throw test::FakeTransportError("card removed");
        }
        return std::nullopt;
    };
    PivToken token(s.card);
    EXPECT_THROW(token.certificates(), test::FakeTransportError);
    // Nothing half-read was kept: the next call reads again.
    s.card.interceptor = nullptr;
    s.card.clearLog();
    EXPECT_EQ(token.certificates().size(), 4u);
    EXPECT_EQ(s.card.transmitted().size(), 7u);
}

TEST(PivCardId, FromChuidGuid) {
    StandardCard s;
    PivToken token(s.card);
    EXPECT_EQ(token.cardId(),
              piv::deriveCardId({std::nullopt, hex("000102030405060708090a0b0c0d0e0f")}, {}));
}

TEST(PivCardId, StableAcrossTokensAndIndependentOfCertificatesWhenGuidPresent) {
    StandardCard s;
    PivToken first(s.card);
    const std::string id = first.cardId();
    s.card.putCertificate(0x9A, test::makeCertificate(test::p384()));
    PivToken second(s.card);
    EXPECT_EQ(second.cardId(), id);
}

TEST(PivCardId, NoChuid_DerivedFromCertificates) {
    StandardCard s;
    s.card.removeObject(0x5FC102);
    PivToken token(s.card);
    const std::string id = token.cardId();
    const std::vector<piv::IdentityCertificate> certs = {
        {0x9A, s.cert9a}, {0x9C, s.cert9c}, {0x9D, s.cert9d}, {0x9E, s.cert9e}};
    EXPECT_EQ(id, piv::deriveCardId({}, certs));

    s.card.putCertificate(0x9D, test::makeCertificate(test::p384()));
    PivToken other(s.card);
    EXPECT_NE(other.cardId(), id);
}

TEST(PivCardId, ZeroGuidAndNonFederalFascn_DerivedFromCertificates) {
    StandardCard s;
    s.card.setChuid(hex("D4E739DA739CED39CE739D836858210842108421C84210C3EB"), Bytes(16, 0));
    PivToken token(s.card);
    const std::vector<piv::IdentityCertificate> certs = {
        {0x9A, s.cert9a}, {0x9C, s.cert9c}, {0x9D, s.cert9d}, {0x9E, s.cert9e}};
    EXPECT_EQ(token.cardId(), piv::deriveCardId({}, certs));
}

TEST(PivCardId, MalformedChuid_TreatedAsAbsent) {
    StandardCard s;
    s.card.putObject(0x5FC102, hex("3410 0001"));
    PivToken token(s.card);
    const std::vector<piv::IdentityCertificate> certs = {
        {0x9A, s.cert9a}, {0x9C, s.cert9c}, {0x9D, s.cert9d}, {0x9E, s.cert9e}};
    EXPECT_EQ(token.cardId(), piv::deriveCardId({}, certs));
}

}  // namespace
}  // namespace tk::card
