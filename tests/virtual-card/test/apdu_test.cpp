#include <gtest/gtest.h>

#include "apdu.hpp"
#include "apdu_log.hpp"
#include "fault.hpp"
#include "test_card.hpp"
#include "tlv.hpp"

namespace tk::vcard::test {
namespace {

TEST(CommandApdu, Case1_HeaderOnly) {
    const auto c = CommandApdu::parse(hex("00200080"));
    ASSERT_TRUE(c);
    EXPECT_TRUE(c->data.empty());
    EXPECT_FALSE(c->le_present);
}

TEST(CommandApdu, Case2Short_LeZeroMeans256) {
    const auto c = CommandApdu::parse(hex("00c0000000"));
    ASSERT_TRUE(c);
    EXPECT_TRUE(c->le_present);
    EXPECT_EQ(c->ne, 256u);
}

TEST(CommandApdu, Case3And4Short) {
    const auto c3 = CommandApdu::parse(hex("00a4040005a000000308"));
    ASSERT_TRUE(c3);
    EXPECT_EQ(c3->data, hex("a000000308"));
    EXPECT_FALSE(c3->le_present);
    const auto c4 = CommandApdu::parse(hex("00a4040005a00000030808"));
    ASSERT_TRUE(c4);
    EXPECT_EQ(c4->data, hex("a000000308"));
    EXPECT_EQ(c4->ne, 8u);
}

TEST(CommandApdu, Extended_Cases2To4) {
    const auto c2 = CommandApdu::parse(hex("00cb3fff000000"));
    ASSERT_TRUE(c2);
    EXPECT_TRUE(c2->extended);
    EXPECT_EQ(c2->ne, 65536u);
    const auto c3 = CommandApdu::parse(hex("00db3fff000003010203"));
    ASSERT_TRUE(c3);
    EXPECT_EQ(c3->data, hex("010203"));
    EXPECT_FALSE(c3->le_present);
    const auto c4 = CommandApdu::parse(hex("00db3fff0000030102030100"));
    ASSERT_TRUE(c4);
    EXPECT_EQ(c4->ne, 256u);
}

TEST(CommandApdu, Malformed_Rejected) {
    EXPECT_FALSE(CommandApdu::parse(hex("00a404")));
    EXPECT_FALSE(CommandApdu::parse(hex("00a4040005a0000003")));
    EXPECT_FALSE(CommandApdu::parse(hex("00a4040002a0")));
    EXPECT_FALSE(CommandApdu::parse(hex("00a404000000")));
    EXPECT_FALSE(CommandApdu::parse(hex("00a404000000000102")));
}

TEST(Tlv, LengthsUpToThreeBytes_RoundTrip) {
    for (std::size_t size : {0u, 1u, 127u, 128u, 255u, 256u, 70000u}) {
        const Bytes value(size, 0xAB);
        const Bytes encoded = make_tlv(0x5FC105, value);
        const auto items = parse_tlvs(encoded);
        ASSERT_EQ(items.size(), 1u);
        EXPECT_EQ(items[0].tag, 0x5FC105u);
        EXPECT_EQ(items[0].value.size(), size);
    }
}

TEST(Tlv, Truncated_Throws) {
    EXPECT_THROW(parse_tlvs(hex("530401")), TlvError);
    EXPECT_THROW(parse_tlvs(hex("5f")), TlvError);
    EXPECT_THROW(parse_tlvs(hex("5382")), TlvError);
}

TEST(ApduLog, Line_HasHeaderLengthsAndStatusButNoData) {
    const std::string line = ApduLog::apdu_line(hex("0020008008313233343536ffff"), hex("9000"));
    EXPECT_EQ(line, "cla=00 ins=20 p1=00 p2=80 lc=8 le=0 sw=9000 rlen=0");
    EXPECT_EQ(ApduLog::apdu_line(hex("00cb3fff055c035fc10500"), Bytes(258, 0x61)),
              "cla=00 ins=cb p1=3f p2=ff lc=5 le=256 sw=6161 rlen=256");
    EXPECT_EQ(ApduLog::apdu_line(hex("00a4"), hex("6700")),
              "cla=?? ins=?? p1=?? p2=?? lc=? le=? len=2 sw=6700 rlen=0");
}

TEST(Fault, Parse_AllModes) {
    EXPECT_EQ(Fault::parse("none")->kind, Fault::Kind::None);
    EXPECT_EQ(Fault::parse("garbage")->kind, Fault::Kind::Garbage);
    EXPECT_EQ(Fault::parse("truncate")->kind, Fault::Kind::Truncate);
    for (const char* text : {"remove-on-ins 87", "remove-on-ins:87", "remove-on-ins=87"}) {
        const auto f = Fault::parse(text);
        ASSERT_TRUE(f) << text;
        EXPECT_EQ(f->kind, Fault::Kind::RemoveOnIns);
        EXPECT_EQ(f->ins, 0x87);
    }
    EXPECT_FALSE(Fault::parse("remove-on-ins 8"));
    EXPECT_FALSE(Fault::parse("remove-on-ins zz"));
    EXPECT_FALSE(Fault::parse("explode"));
    EXPECT_EQ(Fault::parse("remove-on-ins 2c")->describe(), "remove-on-ins:2c");
}

TEST(Fault, MoreDataForeverAndWrongLe_AnswerInsteadOfTheCard) {
    const Fault forever = *Fault::parse("more-data-forever");
    EXPECT_EQ(forever.describe(), "more-data-forever");
    EXPECT_EQ(fault_answer(forever, hex("00C0000000")), hex("6100"));
    EXPECT_EQ(fault_answer(forever, hex("00CB3FFF055C035FC10500")), std::nullopt);

    const Fault wrongLe = *Fault::parse("wrong-le-on-ins 20");
    EXPECT_EQ(wrongLe.describe(), "wrong-le-on-ins:20");
    EXPECT_EQ(Fault::parse("wrong-le-on-ins:20")->kind, Fault::Kind::WrongLeOnIns);
    EXPECT_EQ(fault_answer(wrongLe, hex("002000800831323334353637FF")), hex("6C08"));
    EXPECT_EQ(fault_answer(wrongLe, hex("00200080")), std::nullopt);  // status query: no body
    EXPECT_EQ(fault_answer(wrongLe, hex("00A4040000")), std::nullopt);
    EXPECT_FALSE(Fault::parse("wrong-le-on-ins"));
}

TEST(Fault, GarbageAndTruncate_ChangeTheResponse) {
    const Bytes response = hex("0102030405069000");
    const Bytes garbage = apply_fault(Fault{Fault::Kind::Garbage, 0}, response);
    EXPECT_EQ(garbage.size(), 18u);
    EXPECT_EQ(Bytes(garbage.end() - 2, garbage.end()), hex("dead"));
    EXPECT_EQ(apply_fault(Fault{Fault::Kind::Truncate, 0}, response), hex("01020304"));
    EXPECT_EQ(apply_fault(Fault{Fault::Kind::Truncate, 0}, hex("9000")), hex("90"));
    EXPECT_EQ(apply_fault(Fault{}, response), response);
}

}  // namespace
}  // namespace tk::vcard::test
