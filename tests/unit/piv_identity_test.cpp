#include <gtest/gtest.h>

#include <zlib.h>

#include "card/errors.hpp"
#include "card/piv/card_identity.hpp"
#include "card/piv/certificate_object.hpp"
#include "card/tlv.hpp"
#include "support/fake_piv_card.hpp"

namespace tk::card::piv {
namespace {

using test::hex;

// FASC-N as yubico-piv-tool writes it into the CHUIDs it generates (non-federal, all nines).
const Bytes kNonFederalFascn = hex("D4E739DA739CED39CE739D836858210842108421C84210C3EB");

// Encodes 40 FASC-N characters (values 0..15) as 5-bit groups with odd parity.
Bytes encodeFascn(const std::vector<std::uint8_t>& chars) {
    Bytes out(25, 0);
    std::size_t bit = 0;
    for (const std::uint8_t c : chars) {
        int ones = 0;
        for (int i = 0; i < 5; ++i) {
            int b = 0;
            if (i < 4) {
                b = (c >> i) & 1;
                ones += b;
            } else {
                b = (ones % 2 == 0) ? 1 : 0;
            }
            if (b) {
                out[bit / 8] |= static_cast<std::uint8_t>(0x80 >> (bit % 8));
            }
            ++bit;
        }
    }
    return out;
}

std::vector<std::uint8_t> fascnChars(const std::string& agency, const std::string& system,
                                     const std::string& credential) {
    std::vector<std::uint8_t> c;
    const auto digits = [&](const std::string& s) {
        for (const char ch : s) {
            c.push_back(static_cast<std::uint8_t>(ch - '0'));
        }
    };
    c.push_back(0xB);
    digits(agency);
    c.push_back(0xD);
    digits(system);
    c.push_back(0xD);
    digits(credential);
    c.push_back(0xD);
    digits("1");
    c.push_back(0xD);
    digits("1");
    c.push_back(0xD);
    digits("0000000000");
    digits("1");
    digits("0000");
    digits("1");
    c.push_back(0xF);
    c.push_back(0x0);  // LRC (not checked)
    return c;
}

std::string expectedId(const std::string& label, const Bytes& value) {
    Bytes input(label.begin(), label.end());
    input.insert(input.end(), value.begin(), value.end());
    const Bytes h = test::opensslDigest(HashAlgorithm::Sha256, input);
    return toHex(ByteView(h).first(10));
}

TEST(PivFascn, YubicoTemplate_IsNonFederal) {
    EXPECT_TRUE(isNonFederalFascn(kNonFederalFascn));
}

TEST(PivFascn, EncoderMatchesYubicoTemplateForNines) {
    // Sanity of the test's own encoder against the known value (first 17 characters).
    const Bytes mine = encodeFascn(fascnChars("9999", "9999", "999999"));
    EXPECT_EQ(Bytes(mine.begin(), mine.begin() + 10),
              Bytes(kNonFederalFascn.begin(), kNonFederalFascn.begin() + 10));
    EXPECT_TRUE(isNonFederalFascn(mine));
}

TEST(PivFascn, FederalAgency_IsNotNonFederal) {
    EXPECT_FALSE(isNonFederalFascn(encodeFascn(fascnChars("1234", "0001", "000123"))));
    EXPECT_FALSE(isNonFederalFascn(encodeFascn(fascnChars("9999", "9999", "999998"))));
}

TEST(PivFascn, ParityErrorOrWrongLength_IsNotNonFederal) {
    Bytes broken = kNonFederalFascn;
    broken[3] ^= 0x10;
    EXPECT_FALSE(isNonFederalFascn(broken));
    EXPECT_FALSE(isNonFederalFascn(Bytes(kNonFederalFascn.begin(), kNonFederalFascn.end() - 1)));
}

TEST(PivCardId, FromGuid_DocumentedDerivation) {
    const Bytes guid = hex("00112233445566778899aabbccddeeff");
    const std::string id = deriveCardId({kNonFederalFascn, guid}, {});
    EXPECT_EQ(id, expectedId("piv-guid:", guid));
    EXPECT_EQ(id.size(), 20u);
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(PivCardId, ZeroGuid_FallsBackToFederalFascn) {
    const Bytes fascn = encodeFascn(fascnChars("1234", "0001", "000123"));
    EXPECT_EQ(deriveCardId({fascn, Bytes(16, 0)}, {}), expectedId("piv-fascn:", fascn));
}

TEST(PivCardId, NonFederalFascnNoGuid_FallsBackToCertificates) {
    const std::vector<IdentityCertificate> certs = {{0x9A, hex("3003020101")},
                                                    {0x9C, hex("30020500")}};
    const Bytes expectedInput = hex("9A 00000005 3003020101 9C 00000004 30020500");
    EXPECT_EQ(deriveCardId({kNonFederalFascn, std::nullopt}, certs),
              expectedId("piv-certs:", expectedInput));
}

TEST(PivCardId, Certificates_SlotAndContentMatter) {
    const Bytes der = hex("3003020101");
    const std::vector<IdentityCertificate> a = {{0x9A, der}};
    const std::vector<IdentityCertificate> b = {{0x9C, der}};
    EXPECT_NE(deriveCardId({}, a), deriveCardId({}, b));
    EXPECT_EQ(deriveCardId({}, a), deriveCardId({}, a));
}

TEST(PivChuid, ParsesIdentifiersAndToleratesGarbage) {
    const Bytes guid = hex("0102030405060708090a0b0c0d0e0f10");
    Bytes chuid;
    appendTlv(chuid, 0x30, kNonFederalFascn);
    appendTlv(chuid, 0x34, guid);
    appendTlv(chuid, 0x3E, {});
    const ChuidIdentifiers ids = parseChuid(chuid);
    EXPECT_EQ(ids.fascn, kNonFederalFascn);
    EXPECT_EQ(ids.guid, guid);
    const ChuidIdentifiers broken = parseChuid(hex("3410 0102"));
    EXPECT_FALSE(broken.fascn);
    EXPECT_FALSE(broken.guid);
    // Well-formed TLV but a GUID or FASC-N of the wrong length counts as absent.
    const ChuidIdentifiers wrongLength = parseChuid(hex("3403 010203 3002 0102"));
    EXPECT_FALSE(wrongLength.fascn);
    EXPECT_FALSE(wrongLength.guid);
}

Bytes container(const Bytes& body, std::uint8_t info) {
    Bytes out;
    appendTlv(out, 0x70, body);
    const std::uint8_t i[] = {info};
    appendTlv(out, 0x71, i);
    appendTlv(out, 0xFE, {});
    return out;
}

Bytes gzipOf(const Bytes& input) {
    z_stream s{};
    deflateInit2(&s, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
    Bytes out(deflateBound(&s, static_cast<uLong>(input.size())) + 32);
    s.next_in = const_cast<Bytef*>(input.data());
    s.avail_in = static_cast<uInt>(input.size());
    s.next_out = out.data();
    s.avail_out = static_cast<uInt>(out.size());
    deflate(&s, Z_FINISH);
    out.resize(out.size() - s.avail_out);
    deflateEnd(&s);
    return out;
}

TEST(PivCertificateObject, PlainAndGzip) {
    const Bytes der = test::makeCertificate(test::p256a());
    EXPECT_EQ(certificateFromContainer(container(der, 0x00)), der);
    const Bytes compressed = gzipOf(der);
    ASSERT_NE(compressed, der);
    EXPECT_EQ(certificateFromContainer(container(compressed, 0x01)), der);
}

TEST(PivCertificateObject, EmptyContainer_NoCertificate) {
    EXPECT_FALSE(certificateFromContainer({}));
    EXPECT_FALSE(certificateFromContainer(container({}, 0x00)));
}

TEST(PivCertificateObject, BrokenGzip_MalformedData) {
    EXPECT_THROW(certificateFromContainer(container(hex("1f8b0800deadbeef"), 0x01)), MalformedData);
}

TEST(PivCertificateObject, DecompressionBomb_Refused) {
    const Bytes huge(kMaxCertificateSize + 1, 0x41);
    EXPECT_THROW(certificateFromContainer(container(gzipOf(huge), 0x01)), MalformedData);
}

TEST(PivCertificateObject, MalformedTlv_MalformedData) {
    EXPECT_THROW(certificateFromContainer(hex("7082 0100 30")), MalformedData);
}

}  // namespace
}  // namespace tk::card::piv
