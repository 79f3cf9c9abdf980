#include <gtest/gtest.h>

#include <openssl/evp.h>

#include "crypto/ecdsa.hpp"
#include "crypto/errors.hpp"
#include "support/fake_piv_card.hpp"

namespace tk::crypto {
namespace {

using card::Bytes;
using card::HashAlgorithm;
using card::SignatureScheme;
using test::hex;

Bytes opensslEcdsaSign(const test::KeyPtr& key, const Bytes& digest) {
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
        EVP_PKEY_CTX_new(key.get(), nullptr), EVP_PKEY_CTX_free);
    std::size_t length = static_cast<std::size_t>(EVP_PKEY_get_size(key.get()));
    Bytes out(length);
    EXPECT_EQ(EVP_PKEY_sign_init(ctx.get()), 1);
    EXPECT_EQ(EVP_PKEY_sign(ctx.get(), out.data(), &length, digest.data(), digest.size()), 1);
    out.resize(length);
    return out;
}

TEST(Ecdsa, DerToP1363AndBack_OpenSslSignature) {
    const Bytes cert = test::makeCertificate(test::p384());
    const Bytes d = test::opensslDigest(HashAlgorithm::Sha384, test::bytesOf("tender"));
    for (int i = 0; i < 8; ++i) {  // several signatures, so short r or s values occur too
        const Bytes der = opensslEcdsaSign(test::p384(), d);
        const Bytes rs = ecdsaDerToP1363(der, 48);
        ASSERT_EQ(rs.size(), 96u);
        const Bytes back = ecdsaP1363ToDer(rs);
        EXPECT_EQ(back, der);
        EXPECT_TRUE(
            test::opensslVerify(cert, SignatureScheme::Ecdsa, HashAlgorithm::Sha384, d, back));
    }
}

TEST(Ecdsa, SmallValues_LeftPaddedToField) {
    const Bytes rs = ecdsaDerToP1363(hex("3006 020101 020102"), 32);
    Bytes expected(64, 0x00);
    expected[31] = 0x01;
    expected[63] = 0x02;
    EXPECT_EQ(rs, expected);
    EXPECT_EQ(ecdsaP1363ToDer(expected), hex("3006020101020102"));
}

TEST(Ecdsa, HighBitValues_GetSignByteInDer) {
    Bytes rs(64, 0x00);
    rs[0] = 0x80;
    rs[63] = 0x7F;
    const Bytes der = ecdsaP1363ToDer(rs);
    EXPECT_EQ(Bytes(der.begin(), der.begin() + 5), hex("3026022100"));
    EXPECT_EQ(ecdsaDerToP1363(der, 32), rs);
}

TEST(Ecdsa, MalformedDer_Throws) {
    const char* cases[] = {
        "",
        "3007 02020001 020102",   // r with a needless leading zero (not canonical)
        "3006 020101 020102 00",  // trailing byte
        "3006 020181 020102",     // negative r
        "3006 020100 020102",     // zero r
        "3005 020101 0201",       // truncated
        "3106 020101 020102",     // SET, not SEQUENCE
        "3081 06 020101 020102",  // non-minimal length (not DER)
    };
    for (const char* c : cases) {
        EXPECT_THROW(ecdsaDerToP1363(hex(c), 32), Error) << c;
    }
}

TEST(Ecdsa, ValueLongerThanField_Throws) {
    Bytes rs(96, 0x11);  // 48-byte values
    EXPECT_THROW(ecdsaDerToP1363(ecdsaP1363ToDer(rs), 32), Error);
}

TEST(Ecdsa, P1363Malformed_Throws) {
    EXPECT_THROW(ecdsaP1363ToDer(Bytes(63, 1)), Error);
    EXPECT_THROW(ecdsaP1363ToDer(Bytes{}), Error);
    EXPECT_THROW(ecdsaP1363ToDer(Bytes(64, 0)), Error);
}

TEST(Ecdsa, CardInput_TruncatedToFieldMatchesOpenSslVerification) {
    const Bytes cert = test::makeCertificate(test::p256a());
    const Bytes d = test::opensslDigest(HashAlgorithm::Sha384, test::bytesOf("tender"));
    const Bytes input = ecdsaCardInput(d, 32);
    ASSERT_EQ(input, Bytes(d.begin(), d.begin() + 32));
    // Signed over the truncated hash, verified by OpenSSL over the full SHA-384 digest.
    const Bytes der = opensslEcdsaSign(test::p256a(), input);
    EXPECT_TRUE(test::opensslVerify(cert, SignatureScheme::Ecdsa, HashAlgorithm::Sha384, d, der));
}

TEST(Ecdsa, CardInput_ShortDigestUnchanged) {
    const Bytes d(32, 0xAB);
    EXPECT_EQ(ecdsaCardInput(d, 48), d);
}

}  // namespace
}  // namespace tk::crypto
