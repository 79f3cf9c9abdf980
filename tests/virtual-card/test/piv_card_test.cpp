#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <set>
#include <string>

#include "test_card.hpp"
#include "tlv.hpp"

namespace tk::vcard::test {
namespace {

Bytes sha(const EVP_MD* md, std::string_view message) {
    Bytes out(static_cast<std::size_t>(EVP_MD_get_size(md)));
    unsigned int len = 0;
    EXPECT_EQ(EVP_Digest(message.data(), message.size(), out.data(), &len, md, nullptr), 1);
    return out;
}

// EMSA-PKCS1-v1_5 block for SHA-256 (RFC 8017 9.2), what a host hands the card.
Bytes pkcs1_sha256_block(std::string_view message, std::size_t key_bytes) {
    const Bytes digest_info = hex("3031300d060960864801650304020105000420");
    const Bytes hash = sha(EVP_sha256(), message);
    Bytes block{0x00, 0x01};
    block.resize(key_bytes - digest_info.size() - hash.size() - 1, 0xFF);
    block.push_back(0x00);
    append(block, digest_info);
    append(block, hash);
    return block;
}

bool rsa_sha256_verifies(EVP_PKEY* key, std::string_view message, ByteView signature) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    const bool ok = ctx != nullptr &&
                    EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
                    EVP_DigestVerify(ctx, signature.data(), signature.size(),
                                     reinterpret_cast<const unsigned char*>(message.data()),
                                     message.size()) == 1;
    EVP_MD_CTX_free(ctx);
    return ok;
}

Bytes get_data_apdu(std::string_view tag_hex, bool with_le) {
    const Bytes tag = hex(tag_hex);
    Bytes apdu = hex("00cb3fff");
    apdu.push_back(static_cast<std::uint8_t>(tag.size() + 2));
    apdu.push_back(0x5C);
    apdu.push_back(static_cast<std::uint8_t>(tag.size()));
    append(apdu, tag);
    if (with_le) {
        apdu.push_back(0x00);
    }
    return apdu;
}

class PivCardTest : public CardFixture {
  protected:
    Bytes read_object(std::string_view tag_hex) {
        const Bytes tag = hex(tag_hex);
        Bytes request{0x5C, static_cast<std::uint8_t>(tag.size())};
        append(request, tag);
        return exchange(0xCB, 0x3F, 0xFF, request);
    }
    Bytes sign_rsa(std::uint8_t slot, std::string_view message, std::uint16_t* status) {
        return authenticate(alg::kRsa2048, slot, 0x81, pkcs1_sha256_block(message, 256), status);
    }
};

// --- SELECT -------------------------------------------------------------------------------

TEST_F(PivCardTest, Select_FullAid_ReturnsApplicationPropertyTemplate) {
    const Bytes r = tx("00a4040009a00000030800001000 00");
    ASSERT_EQ(status_of(r), 0x9000);
    const Bytes body = data_of(r);
    const auto outer = parse_tlvs(body);
    ASSERT_EQ(outer.size(), 1u);
    ASSERT_EQ(outer[0].tag, 0x61u);
    const auto items = parse_tlvs(outer[0].value);
    const Tlv* pix = find_tlv(items, 0x4F);
    ASSERT_NE(pix, nullptr);
    EXPECT_EQ(Bytes(pix->value.begin(), pix->value.end()), hex("000010000100"));
    const Tlv* authority = find_tlv(items, 0x79);
    ASSERT_NE(authority, nullptr);
    EXPECT_EQ(Bytes(authority->value.begin(), authority->value.end()), hex("4f05a000000308"));
    const Tlv* label = find_tlv(items, 0x50);
    ASSERT_NE(label, nullptr);
    EXPECT_NE(std::string(label->value.begin(), label->value.end()).rfind("PivApplet v", 0), 0u);
    const Tlv* algorithms = find_tlv(items, 0xAC);
    ASSERT_NE(algorithms, nullptr);
    std::set<std::uint8_t> offered;
    for (const Tlv& t : parse_tlvs(algorithms->value)) {
        if (t.tag == 0x80) {
            offered.insert(t.value[0]);
        }
    }
    EXPECT_TRUE(offered.count(alg::kEccP256) && offered.count(alg::kEccP384) &&
                offered.count(alg::kRsa2048) && offered.count(alg::k3Des));
    EXPECT_TRUE(card.application_selected());
}

TEST_F(PivCardTest, Select_RidWithoutLe_SelectsPiv) {
    const Bytes r = tx("00a4040005a000000308");
    EXPECT_EQ(status_of(r), 0x9000);
    EXPECT_EQ(r[0], 0x61);
    EXPECT_TRUE(card.application_selected());
}

TEST_F(PivCardTest, Select_FullElevenByteAidWithLe_SelectsPiv) {
    EXPECT_EQ(status_of(tx("00a404000ba0000003080000100001 0000")), 0x9000);
}

TEST_F(PivCardTest, Select_ShorterThanRid_NotFound) {
    EXPECT_EQ(status_of(tx("00a4040004a0000003")), 0x6A82);
    EXPECT_FALSE(card.application_selected());
}

TEST_F(PivCardTest, Select_ForeignAid_NotFoundAndPivStaysSelected) {
    select();
    verify_pin();
    EXPECT_EQ(status_of(tx("00a4040006a0000000010100")), 0x6A82);
    EXPECT_EQ(status_of(tx("00a4040c07627601ff000000")), 0x6A82);
    EXPECT_TRUE(card.application_selected());
    EXPECT_EQ(status_of(tx("0020008000")), 0x9000) << "PIN state survives a failed SELECT";
}

TEST_F(PivCardTest, Select_P2NoResponseData_ReturnsOnlyStatus) {
    EXPECT_EQ(tx("00a4040c05a000000308"), hex("9000"));
}

TEST_F(PivCardTest, Commands_BeforeSelect_AreRefused) {
    EXPECT_EQ(status_of(tx_bytes(get_data_apdu("7e", true))), 0x6A82);
    EXPECT_EQ(status_of(tx("0020008000")), 0x6D00);
    EXPECT_EQ(status_of(tx("00fd000000")), 0x6D00);
}

// --- VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER -----------------------------------

TEST_F(PivCardTest, Verify_EmptyFourByteForm_ReportsTriesWithoutUsingOne) {
    select();
    EXPECT_EQ(tx("00200080"), hex("63c3"));
    EXPECT_EQ(tx("00200080"), hex("63c3"));
    EXPECT_EQ(state.pin_tries_left, 3);
}

TEST_F(PivCardTest, Verify_EmptyFiveByteForm_ReportsTriesWithoutUsingOne) {
    select();
    EXPECT_EQ(tx("0020008000"), hex("63c3"));
    EXPECT_EQ(state.pin_tries_left, 3);
    verify_pin();
    EXPECT_EQ(tx("0020008000"), hex("9000"));
}

TEST_F(PivCardTest, Verify_WrongPin_DecrementsAndReportsTriesLeft) {
    select();
    EXPECT_EQ(tx("0020008008 313131313131ffff"), hex("63c2"));
    EXPECT_EQ(state.pin_tries_left, 2);
    EXPECT_EQ(persist_count, 1);
    EXPECT_EQ(tx("0020008000"), hex("63c2"));
    EXPECT_FALSE(card.pin_verified());
}

TEST_F(PivCardTest, Verify_ThreeWrongPins_BlocksWith6983) {
    select();
    EXPECT_EQ(tx("0020008008 313131313131ffff"), hex("63c2"));
    EXPECT_EQ(tx("0020008008 313131313131ffff"), hex("63c1"));
    EXPECT_EQ(tx("0020008008 313131313131ffff"), hex("63c0"));
    EXPECT_EQ(tx("0020008008 313233343536ffff"), hex("6983")) << "even the right PIN";
    EXPECT_EQ(tx("0020008000"), hex("6983"));
    EXPECT_EQ(tx("00200080"), hex("6983"));
}

TEST_F(PivCardTest, Verify_CorrectPinAfterMiss_RestoresCounter) {
    select();
    EXPECT_EQ(tx("0020008008 313131313131ffff"), hex("63c2"));
    verify_pin();
    EXPECT_EQ(state.pin_tries_left, 3);
    EXPECT_TRUE(card.pin_verified());
}

TEST_F(PivCardTest, Verify_BadPinFormat_RejectedWithoutUsingTry) {
    select();
    EXPECT_EQ(status_of(tx("0020008008 3132333435ffffff")), 0x6A80) << "5 digits";
    EXPECT_EQ(status_of(tx("0020008008 31323334353641ff")), 0x6A80) << "letter";
    EXPECT_EQ(status_of(tx("0020008008 3132333435363700")), 0x6A80) << "padding not FF";
    EXPECT_EQ(status_of(tx("0020008006 313233343536")), 0x6A80) << "unpadded";
    EXPECT_EQ(state.pin_tries_left, 3);
}

TEST_F(PivCardTest, Verify_ResetSecurityStatus_LogsOut) {
    select();
    verify_pin();
    EXPECT_EQ(tx("0020ff80"), hex("9000"));
    EXPECT_FALSE(card.pin_verified());
    EXPECT_EQ(tx("0020008000"), hex("63c3"));
}

TEST_F(PivCardTest, Verify_UnsupportedReferences_Rejected) {
    select();
    EXPECT_EQ(status_of(tx("0020000008 313233343536ffff")), 0x6A88) << "global PIN";
    EXPECT_EQ(status_of(tx("0020018008 313233343536ffff")), 0x6A86);
}

TEST_F(PivCardTest, ChangeReferenceData_Pin_NewPinWorks) {
    select();
    EXPECT_EQ(tx("0024008010 313233343536ffff 3635343332313039"), hex("9000"));
    EXPECT_EQ(tx("0020ff80"), hex("9000"));
    EXPECT_EQ(tx("0020008008 313233343536ffff"), hex("63c2"));
    verify_pin("65432109");
}

TEST_F(PivCardTest, ChangeReferenceData_WrongOldPin_UsesTry) {
    select();
    EXPECT_EQ(tx("0024008010 393939393939ffff 3635343332313039"), hex("63c2"));
    EXPECT_EQ(status_of(tx("0024008010 313233343536ffff 3635ffffffffffff")), 0x6A80);
    EXPECT_EQ(state.pin_tries_left, 2);
}

TEST_F(PivCardTest, ChangeReferenceData_Puk_NewPukUnblocks) {
    select();
    EXPECT_EQ(tx("0024008110 3132333435363738 3837363534333231"), hex("9000"));
    EXPECT_EQ(tx("002c008010 3132333435363738 313131313131ffff"), hex("63c2"));
    EXPECT_EQ(tx("002c008010 3837363534333231 313131313131ffff"), hex("9000"));
}

TEST_F(PivCardTest, ResetRetryCounter_WithPuk_UnblocksPin) {
    select();
    for (int i = 0; i < 3; ++i) {
        tx("0020008008 393939393939ffff");
    }
    ASSERT_EQ(tx("0020008000"), hex("6983"));
    EXPECT_EQ(tx("002c008010 3132333435363738 313233343536ffff"), hex("9000"));
    EXPECT_EQ(tx("0020008000"), hex("63c3"));
    verify_pin();
}

TEST_F(PivCardTest, ResetRetryCounter_WrongPukThreeTimes_BlocksPuk) {
    select();
    EXPECT_EQ(tx("002c008010 3131313131313131 313233343536ffff"), hex("63c2"));
    EXPECT_EQ(tx("002c008010 3131313131313131 313233343536ffff"), hex("63c1"));
    EXPECT_EQ(tx("002c008010 3131313131313131 313233343536ffff"), hex("63c0"));
    EXPECT_EQ(tx("002c008010 3132333435363738 313233343536ffff"), hex("6983"));
    EXPECT_EQ(status_of(tx("002c008110 3132333435363738 313233343536ffff")), 0x6A88);
}

// --- GET DATA / PUT DATA -----------------------------------------------------------------

TEST_F(PivCardTest, GetData_Certificate_ReturnedWithAndWithoutLe) {
    select();
    const Bytes& container = state.objects.at(object::kCertAuthentication);
    const Bytes expected = make_tlv(0x53, container);
    ASSERT_GT(expected.size(), 256u);
    for (bool with_le : {false, true}) {
        const Bytes first = tx_bytes(get_data_apdu("5fc105", with_le));
        ASSERT_EQ(first.size(), 258u) << "never more than 256 data bytes to a short APDU";
        ASSERT_EQ(first[256], 0x61);
        Bytes all = data_of(first);
        std::uint16_t status = status_of(first);
        while ((status >> 8) == 0x61) {
            const Bytes part = tx("00c0000000");  // yubico-piv-tool 2.2.0 always asks Le=00
            ASSERT_LE(part.size(), 258u);
            append(all, data_of(part));
            status = status_of(part);
        }
        EXPECT_EQ(status, 0x9000);
        EXPECT_EQ(all, expected);
    }
}

TEST_F(PivCardTest, GetData_EightByteLe_StillReturnsObjectStart) {
    select();
    // OpenSC 0.23 reads with Le=08 first to learn the length.
    const Bytes r = tx("00cb3fff055c035fc10208");
    ASSERT_GE(r.size(), 10u);
    EXPECT_EQ(r[0], 0x53);
}

TEST_F(PivCardTest, GetData_GetResponseHonoursSmallLe) {
    select();
    const Bytes first = tx_bytes(get_data_apdu("5fc105", true));
    ASSERT_EQ(first[256], 0x61);
    const Bytes part = tx("00c0000010");
    EXPECT_EQ(part.size(), 18u);
    EXPECT_EQ(part[16], 0x61);
}

TEST_F(PivCardTest, GetData_Discovery_ComesBackUnderItsOwnTag) {
    select();
    const Bytes r = read_object("7e");
    ASSERT_EQ(status_of(r), 0x9000);
    EXPECT_EQ(data_of(r), hex("7e124f0ba0000003080000100001005f2f024010"));
}

TEST_F(PivCardTest, GetData_KeyHistory_DeclaresRetiredCertificate) {
    select();
    EXPECT_EQ(data_of(read_object("5fc10c")), hex("5308c10101c20100fe00"));
    const Bytes retired = read_object("5fc10d");
    EXPECT_EQ(status_of(retired), 0x9000);
    EXPECT_EQ(read_object("5fc10e"), hex("6a82"));
}

TEST_F(PivCardTest, GetData_Chuid_HasFascnAndNonZeroGuid) {
    select();
    const Bytes r = read_object("5fc102");
    ASSERT_EQ(status_of(r), 0x9000);
    const Bytes body = data_of(r);
    const auto outer = parse_tlvs(body);
    const auto items = parse_tlvs(outer.at(0).value);
    ASSERT_NE(find_tlv(items, 0x30), nullptr);
    const Tlv* guid = find_tlv(items, 0x34);
    ASSERT_NE(guid, nullptr);
    ASSERT_EQ(guid->value.size(), 16u);
    EXPECT_NE(Bytes(guid->value.begin(), guid->value.end()), Bytes(16, 0));
}

TEST_F(PivCardTest, GetData_AbsentPinProtectedObjects_NotFound) {
    select();
    EXPECT_EQ(read_object("5fc103"), hex("6a82"));
    EXPECT_EQ(read_object("5fc109"), hex("6a82"));
    EXPECT_EQ(read_object("5fc121"), hex("6a82"));
    EXPECT_EQ(read_object("5fff00"), hex("6a82"));
}

TEST_F(PivCardTest, GetData_PresentPinProtectedObject_NeedsPin) {
    select();
    state.objects[0x5FC109] = hex("0102");
    EXPECT_EQ(read_object("5fc109"), hex("6982"));
    verify_pin();
    EXPECT_EQ(read_object("5fc109"), hex("530201029000"));
}

TEST_F(PivCardTest, GetData_Malformed_Rejected) {
    select();
    EXPECT_EQ(status_of(tx("00cb3f00055c035fc105")), 0x6A86);
    EXPECT_EQ(status_of(tx("00cb3fff055c045fc105")), 0x6A80);
    EXPECT_EQ(status_of(tx("00cb3fff03 5d01 7e")), 0x6A80);
}

TEST_F(PivCardTest, GetData_ExtendedApdu_AnsweredWhole) {
    select();
    const Bytes r = tx("00cb3fff 000005 5c035fc105 0000");
    ASSERT_EQ(status_of(r), 0x9000);
    EXPECT_EQ(data_of(r), make_tlv(0x53, state.objects.at(object::kCertAuthentication)));
}

TEST_F(PivCardTest, PutData_WithoutManagementAuth_SecurityNotSatisfied) {
    select();
    verify_pin();
    EXPECT_EQ(tx("00db3fff 09 5c035fc109 53020102"), hex("6982"));
    EXPECT_EQ(state.objects.count(0x5FC109), 0u);
}

TEST_F(PivCardTest, PutData_AfterManagementAuth_StoresAndDeletes) {
    select();
    authenticate_management();
    EXPECT_EQ(tx("00db3fff 09 5c035fff00 53020102"), hex("9000"));
    EXPECT_EQ(read_object("5fff00"), hex("530201029000"));
    EXPECT_EQ(persist_count, 1);
    EXPECT_EQ(tx("00db3fff 07 5c035fff00 5300"), hex("9000"));
    EXPECT_EQ(read_object("5fff00"), hex("6a82"));
    EXPECT_EQ(status_of(tx("00db3fff 09 5c035fc105 7e020102")), 0x6A80) << "wrong outer tag";
    EXPECT_EQ(status_of(tx("00db3fff 09 5c03123456 53020102")), 0x6A80) << "not a PIV object";
}

TEST_F(PivCardTest, PutData_Chained_ActsOnConcatenation) {
    select();
    authenticate_management();
    Bytes certificate(600);
    for (std::size_t i = 0; i < certificate.size(); ++i) {
        certificate[i] = static_cast<std::uint8_t>(i * 7);
    }
    Bytes request = hex("5c035fc105");
    put_tlv(request, 0x53, certificate_container(certificate));
    EXPECT_EQ(exchange(0xDB, 0x3F, 0xFF, request), hex("9000"));
    const Bytes back = read_object("5fc105");
    EXPECT_EQ(data_of(back), make_tlv(0x53, certificate_container(certificate)));
}

TEST_F(PivCardTest, Chaining_CommandWithOtherInsAfterFragment_DropsTheChain) {
    select();
    authenticate_management();
    EXPECT_EQ(tx("10db3fff 05 5c035fff00"), hex("9000"));
    EXPECT_EQ(status_of(tx("00fd000000")), 0x9000);
    EXPECT_EQ(status_of(tx("00db3fff 04 53020102")), 0x6A80) << "first fragment was dropped";
}

// --- GENERAL AUTHENTICATE: private-key operations -----------------------------------------

TEST_F(PivCardTest, Sign_Rsa9AAfterVerify_VerifiesWithCertificateKey) {
    select();
    verify_pin();
    std::uint16_t status = 0;
    const Bytes signature = sign_rsa(slot::kAuthentication, "bid document", &status);
    ASSERT_EQ(status, 0x9000);
    ASSERT_EQ(signature.size(), 256u);
    Pkey pub = certificate_public_key(state, slot::kAuthentication);
    EXPECT_TRUE(rsa_sha256_verifies(pub.get(), "bid document", signature));
    EXPECT_FALSE(rsa_sha256_verifies(pub.get(), "other document", signature));
}

TEST_F(PivCardTest, Sign_Rsa9AWithoutPin_SecurityNotSatisfied) {
    select();
    std::uint16_t status = 0;
    sign_rsa(slot::kAuthentication, "x", &status);
    EXPECT_EQ(status, 0x6982);
}

TEST_F(PivCardTest, Sign_RsaResult_ComesBackThroughGetResponse) {
    select();
    verify_pin();
    Bytes request = hex("7c820106 8200 81820100");
    append(request, pkcs1_sha256_block("m", 256));
    Bytes fragment{0x10, 0x87, 0x07, 0x9A, 0xFF};
    fragment.insert(fragment.end(), request.begin(), request.begin() + 255);
    EXPECT_EQ(tx_bytes(fragment), hex("9000"));
    Bytes last{0x00, 0x87, 0x07, 0x9A, static_cast<std::uint8_t>(request.size() - 255)};
    last.insert(last.end(), request.begin() + 255, request.end());
    const Bytes first = tx_bytes(last);  // no Le, as yubico-piv-tool 2.2.0 sends it
    ASSERT_EQ(first.size(), 258u);
    EXPECT_EQ(Bytes(first.begin(), first.begin() + 4), hex("7c820104"));
    EXPECT_EQ(Bytes(first.end() - 2, first.end()), hex("6108"));
    const Bytes rest = tx("00c0000008");
    EXPECT_EQ(rest.size(), 10u);
    EXPECT_EQ(status_of(rest), 0x9000);
}

TEST_F(PivCardTest, Sign_9CPinAlways_NeedsVerifyRightBefore) {
    select();
    verify_pin();
    std::uint16_t status = 0;
    const Bytes signature = sign_rsa(slot::kSignature, "first", &status);
    ASSERT_EQ(status, 0x9000) << "chained sign right after VERIFY";
    Pkey pub = certificate_public_key(state, slot::kSignature);
    EXPECT_TRUE(rsa_sha256_verifies(pub.get(), "first", signature));

    sign_rsa(slot::kSignature, "second", &status);
    EXPECT_EQ(status, 0x6982) << "the VERIFY was used up";

    verify_pin();
    EXPECT_EQ(tx("0020008000"), hex("9000"));
    sign_rsa(slot::kSignature, "third", &status);
    EXPECT_EQ(status, 0x6982) << "a status query sat between VERIFY and the sign";

    verify_pin();
    read_object("5fc102");
    sign_rsa(slot::kSignature, "fourth", &status);
    EXPECT_EQ(status, 0x6982) << "GET DATA sat between VERIFY and the sign";

    verify_pin();
    sign_rsa(slot::kSignature, "fifth", &status);
    EXPECT_EQ(status, 0x9000);
}

TEST_F(PivCardTest, Sign_9CAfterReset_NeedsNewVerify) {
    select();
    verify_pin();
    card.reset();
    select();
    std::uint16_t status = 0;
    sign_rsa(slot::kSignature, "x", &status);
    EXPECT_EQ(status, 0x6982);
}

TEST_F(PivCardTest, Sign_Ecdsa9EWithoutPin_VerifiesWithCertificateKey) {
    select();
    const Bytes digest = sha(EVP_sha256(), "challenge from the portal");
    std::uint16_t status = 0;
    const Bytes signature =
        authenticate(alg::kEccP256, slot::kCardAuthentication, 0x81, digest, &status);
    ASSERT_EQ(status, 0x9000);
    EXPECT_EQ(signature[0], 0x30) << "DER ECDSA-Sig-Value";
    Pkey pub = certificate_public_key(state, slot::kCardAuthentication);
    EXPECT_TRUE(ecdsa_verifies(pub.get(), digest, signature));
    EXPECT_FALSE(ecdsa_verifies(pub.get(), sha(EVP_sha256(), "other"), signature));
}

TEST_F(PivCardTest, Sign_EcdsaRetiredP384_AcceptsShortAndFullHashes) {
    select();
    verify_pin();
    Pkey pub = certificate_public_key(state, slot::kRetiredFirst);
    for (const EVP_MD* md : {EVP_sha384(), EVP_sha256()}) {
        const Bytes digest = sha(md, "sealed bid");
        std::uint16_t status = 0;
        const Bytes signature =
            authenticate(alg::kEccP384, slot::kRetiredFirst, 0x81, digest, &status);
        ASSERT_EQ(status, 0x9000);
        EXPECT_TRUE(ecdsa_verifies(pub.get(), digest, signature));
    }
}

TEST_F(PivCardTest, Sign_EcdsaHashLongerThanField_IsTruncated) {
    select();
    const Bytes digest = sha(EVP_sha512(), "long hash");
    std::uint16_t status = 0;
    const Bytes signature =
        authenticate(alg::kEccP256, slot::kCardAuthentication, 0x81, digest, &status);
    ASSERT_EQ(status, 0x9000);
    Pkey pub = certificate_public_key(state, slot::kCardAuthentication);
    const Bytes leftmost(digest.begin(), digest.begin() + 32);
    EXPECT_TRUE(ecdsa_verifies(pub.get(), leftmost, signature));
}

TEST_F(PivCardTest, Sign_RetiredKeyWithoutPin_SecurityNotSatisfied) {
    select();
    std::uint16_t status = 0;
    authenticate(alg::kEccP384, slot::kRetiredFirst, 0x81, sha(EVP_sha384(), "x"), &status);
    EXPECT_EQ(status, 0x6982);
}

TEST_F(PivCardTest, Decrypt_Rsa9D_RecoversOpenSslEncryptedKey) {
    select();
    verify_pin();
    Pkey pub = certificate_public_key(state, slot::kKeyManagement);
    const std::string secret = "content-encryption key 0123456789";
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, pub.get(), nullptr);
    ASSERT_NE(ctx, nullptr);
    ASSERT_EQ(EVP_PKEY_encrypt_init(ctx), 1);
    ASSERT_EQ(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING), 1);
    Bytes encrypted(256);
    std::size_t len = encrypted.size();
    ASSERT_EQ(
        EVP_PKEY_encrypt(ctx, encrypted.data(), &len,
                         reinterpret_cast<const unsigned char*>(secret.data()), secret.size()),
        1);
    EVP_PKEY_CTX_free(ctx);
    std::uint16_t status = 0;
    const Bytes block = authenticate(alg::kRsa2048, slot::kKeyManagement, 0x81, encrypted, &status);
    ASSERT_EQ(status, 0x9000);
    ASSERT_EQ(block.size(), 256u);
    EXPECT_EQ(block[0], 0x00);
    EXPECT_EQ(block[1], 0x02);
    const auto zero = std::find(block.begin() + 2, block.end(), 0x00);
    ASSERT_NE(zero, block.end());
    EXPECT_EQ(std::string(zero + 1, block.end()), secret);
}

TEST_F(PivCardTest, Rsa_BlockOfWrongLengthOrAlgorithm_Rejected) {
    select();
    verify_pin();
    std::uint16_t status = 0;
    authenticate(alg::kRsa2048, slot::kAuthentication, 0x81, Bytes(255, 0x01), &status);
    EXPECT_EQ(status, 0x6A80);
    authenticate(alg::kRsa2048, slot::kAuthentication, 0x81, Bytes(256, 0xFF), &status);
    EXPECT_EQ(status, 0x6A80) << "block larger than the modulus";
    authenticate(alg::kRsa3072, slot::kAuthentication, 0x81, Bytes(384, 0x01), &status);
    EXPECT_EQ(status, 0x6A86);
    authenticate(alg::kRsa2048, 0x9F, 0x81, Bytes(256, 0x01), &status);
    EXPECT_EQ(status, 0x6A86);
    authenticate(alg::kRsa2048, 0x83, 0x81, Bytes(256, 0x01), &status);
    EXPECT_EQ(status, 0x6A86) << "empty retired slot";
}

TEST_F(PivCardTest, Ecdh_RetiredP384_MatchesOpenSslDerive) {
    select();
    verify_pin();
    Pkey ephemeral = generate_key(alg::kEccP384);
    std::uint16_t status = 0;
    const Bytes shared = authenticate(alg::kEccP384, slot::kRetiredFirst, 0x85,
                                      ec_public_point(ephemeral.get()), &status);
    ASSERT_EQ(status, 0x9000);
    ASSERT_EQ(shared.size(), 48u);

    Pkey card_pub = certificate_public_key(state, slot::kRetiredFirst);
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, ephemeral.get(), nullptr);
    ASSERT_EQ(EVP_PKEY_derive_init(ctx), 1);
    ASSERT_EQ(EVP_PKEY_derive_set_peer(ctx, card_pub.get()), 1);
    Bytes expected(48);
    std::size_t len = expected.size();
    ASSERT_EQ(EVP_PKEY_derive(ctx, expected.data(), &len), 1);
    EVP_PKEY_CTX_free(ctx);
    EXPECT_EQ(shared, expected);
}

TEST_F(PivCardTest, Ecdh_PointNotOnCurve_Rejected) {
    select();
    Bytes point = ec_public_point(generate_key(alg::kEccP256).get());
    point.back() ^= 0x01;
    std::uint16_t status = 0;
    authenticate(alg::kEccP256, slot::kCardAuthentication, 0x85, point, &status);
    EXPECT_EQ(status, 0x6A80);
    authenticate(alg::kEccP256, slot::kCardAuthentication, 0x85, Bytes(33, 0x02), &status);
    EXPECT_EQ(status, 0x6A80) << "compressed points are not accepted";
}

// --- Management key (9B) -----------------------------------------------------------------

TEST_F(PivCardTest, ManagementAuth_MutualWithDefaultKey_Authenticates) {
    select();
    authenticate_management();
    EXPECT_TRUE(card.management_authenticated());
}

TEST_F(PivCardTest, ManagementAuth_WrongWitness_SecurityNotSatisfied) {
    select();
    ASSERT_EQ(status_of(tx("0087039b047c028000")), 0x9000);
    EXPECT_EQ(tx("0087039b16 7c14 80080000000000000000 81080102030405060708"), hex("6982"));
    EXPECT_FALSE(card.management_authenticated());
    EXPECT_EQ(tx("0087039b16 7c14 80080000000000000000 81080102030405060708"), hex("6982"))
        << "witness is single use";
}

TEST_F(PivCardTest, ManagementAuth_OtherKey_Fails) {
    select();
    const Bytes r1 = tx("0087039b047c028000");
    const Bytes wrong_key = hex("0102030405060708010203040506070801020304050607ff");
    Bytes apdu = hex("0087039b16 7c14 8008");
    append(apdu, block_decrypt(alg::k3Des, wrong_key, ByteView(r1).subspan(4, 8)));
    append(apdu, hex("81080102030405060708"));
    EXPECT_EQ(tx_bytes(apdu), hex("6982"));
}

TEST_F(PivCardTest, ManagementAuth_ChallengeRequest_ServesRandomBytes) {
    select();
    const Bytes a = tx("0087009b047c028100");
    const Bytes b = tx("0087009b047c028100");
    ASSERT_EQ(status_of(a), 0x9000);
    ASSERT_EQ(a.size(), 14u);
    EXPECT_EQ(Bytes(a.begin(), a.begin() + 4), hex("7c0a8108"));
    EXPECT_NE(a, b);
}

TEST_F(PivCardTest, ManagementAuth_ExternalAuthenticate_ChecksResponse) {
    select();
    const Bytes r = tx("0087039b047c028100");
    const Bytes challenge(r.begin() + 4, r.begin() + 12);
    Bytes apdu = hex("0087039b0c 7c0a 8208");
    append(apdu, block_encrypt(alg::k3Des, default_management_key(), challenge));
    EXPECT_EQ(tx_bytes(apdu), hex("9000"));
    EXPECT_TRUE(card.management_authenticated());

    tx("0087039b047c028100");
    EXPECT_EQ(tx("0087039b0c 7c0a 82080000000000000000"), hex("6982"));
    EXPECT_FALSE(card.management_authenticated());
}

TEST_F(PivCardTest, ManagementAuth_WrongAlgorithm_Rejected) {
    select();
    EXPECT_EQ(tx("0087089b047c028000"), hex("6a86"));
}

TEST_F(PivCardTest, SetManagementKey_Aes128_AuthenticatesWithNewKey) {
    select();
    authenticate_management();
    const Bytes aes_key = hex("00112233445566778899aabbccddeeff");
    Bytes apdu = hex("00ffffff13 089b10");
    append(apdu, aes_key);
    ASSERT_EQ(tx_bytes(apdu), hex("9000"));
    EXPECT_EQ(state.management_algorithm, alg::kAes128);
    card.reset();
    select();
    const Bytes r1 = tx("0087089b047c028000");
    ASSERT_EQ(r1.size(), 22u);
    Bytes step2 = hex("0087089b26 7c24 8010");
    append(step2, block_decrypt(alg::kAes128, aes_key, ByteView(r1).subspan(4, 16)));
    append(step2, hex("8110 000102030405060708090a0b0c0d0e0f"));
    const Bytes r2 = tx_bytes(step2);
    ASSERT_EQ(status_of(r2), 0x9000);
    EXPECT_EQ(Bytes(r2.begin() + 4, r2.end() - 2),
              block_encrypt(alg::kAes128, aes_key, hex("000102030405060708090a0b0c0d0e0f")));
}

// --- GENERATE ASYMMETRIC KEY PAIR / IMPORT ------------------------------------------------

TEST_F(PivCardTest, Generate_WithoutManagementAuth_SecurityNotSatisfied) {
    select();
    verify_pin();
    EXPECT_EQ(tx("0047009a05ac03800111"), hex("6982"));
}

TEST_F(PivCardTest, Generate_EcP256_ReturnsPointAndKeySigns) {
    select();
    authenticate_management();
    const Bytes r = tx("0047009a05ac03800111");
    ASSERT_EQ(status_of(r), 0x9000);
    ASSERT_EQ(r.size(), 2u + 3 + 2 + 65);
    EXPECT_EQ(Bytes(r.begin(), r.begin() + 6), hex("7f4943864104"));
    EXPECT_EQ(persist_count, 1);
    EXPECT_EQ(state.keys.at(slot::kAuthentication).algorithm, alg::kEccP256);

    const Bytes point(r.begin() + 5, r.end() - 2);
    verify_pin();
    const Bytes digest = sha(EVP_sha256(), "after generate");
    std::uint16_t status = 0;
    const Bytes signature =
        authenticate(alg::kEccP256, slot::kAuthentication, 0x81, digest, &status);
    ASSERT_EQ(status, 0x9000);
    EXPECT_EQ(ec_public_point(state.keys.at(slot::kAuthentication).key.get()), point);
    EXPECT_TRUE(ecdsa_verifies(state.keys.at(slot::kAuthentication).key.get(), digest, signature));
}

TEST_F(PivCardTest, Generate_EcP384_YubicoShape) {
    select();
    authenticate_management();
    const Bytes r = tx("0047009d05ac03800114");
    ASSERT_EQ(status_of(r), 0x9000);
    EXPECT_EQ(Bytes(r.begin(), r.begin() + 6), hex("7f4963866104"));
}

TEST_F(PivCardTest, Generate_Rsa2048_ModulusThroughGetResponse) {
    select();
    authenticate_management();
    const Bytes first = tx("0047009c05ac03800107");
    ASSERT_EQ(first.size(), 258u);
    EXPECT_EQ(Bytes(first.begin(), first.begin() + 9), hex("7f4982010981820100"));
    EXPECT_EQ(Bytes(first.end() - 2, first.end()), hex("610e"));
    const Bytes rest = tx("00c0000000");
    ASSERT_EQ(rest.size(), 16u);
    EXPECT_EQ(Bytes(rest.end() - 7, rest.end()), hex("820301000190 00"));
    Bytes modulus(first.begin() + 9, first.end() - 2);
    modulus.insert(modulus.end(), rest.begin(), rest.end() - 7);
    EXPECT_EQ(modulus, rsa_modulus(state.keys.at(slot::kSignature).key.get()));
}

TEST_F(PivCardTest, Generate_Rsa3072_SignsWithAlgorithm05) {
    select();
    authenticate_management();
    const Bytes r = exchange(0x47, 0x00, 0x9A, hex("ac03800105"));
    ASSERT_EQ(status_of(r), 0x9000);
    EXPECT_EQ(Bytes(r.begin(), r.begin() + 9), hex("7f4982018981820180"));
    verify_pin();
    std::uint16_t status = 0;
    const Bytes signature = authenticate(alg::kRsa3072, slot::kAuthentication, 0x81,
                                         pkcs1_sha256_block("3072", 384), &status);
    ASSERT_EQ(status, 0x9000);
    EXPECT_EQ(signature.size(), 384u);
    EXPECT_TRUE(
        rsa_sha256_verifies(state.keys.at(slot::kAuthentication).key.get(), "3072", signature));
}

TEST_F(PivCardTest, Generate_PinPolicyNeverInsideAc_SignsWithoutPin) {
    select();
    authenticate_management();
    ASSERT_EQ(status_of(tx("0047009a08ac06800111aa0101")), 0x9000);
    EXPECT_EQ(state.keys.at(slot::kAuthentication).pin_policy, PinPolicy::Never);
    std::uint16_t status = 0;
    authenticate(alg::kEccP256, slot::kAuthentication, 0x81, Bytes(32, 0x42), &status);
    EXPECT_EQ(status, 0x9000);
}

TEST_F(PivCardTest, Generate_BadTemplate_Rejected) {
    select();
    authenticate_management();
    EXPECT_EQ(tx("0047009a05ac03800106"), hex("6a80")) << "RSA-1024 not offered";
    EXPECT_EQ(tx("0047009a03 800111"), hex("6a80")) << "no AC template";
    EXPECT_EQ(tx("0047009b05ac03800111"), hex("6a86")) << "9B is not an asymmetric slot";
    EXPECT_EQ(tx("0047019a05ac03800111"), hex("6a86"));
}

TEST_F(PivCardTest, Import_EcScalar_CardSignsWithThatKey) {
    select();
    authenticate_management();
    const Bytes scalar = hex("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721");
    Bytes apdu = hex("00fe119e22 0620");
    append(apdu, scalar);
    ASSERT_EQ(tx_bytes(apdu), hex("9000"));
    Pkey expected = ec_from_private(alg::kEccP256, scalar);
    const Bytes digest = sha(EVP_sha256(), "imported");
    std::uint16_t status = 0;
    const Bytes signature =
        authenticate(alg::kEccP256, slot::kCardAuthentication, 0x81, digest, &status);
    ASSERT_EQ(status, 0x9000);
    EXPECT_TRUE(ecdsa_verifies(expected.get(), digest, signature));
}

// --- Yubico extensions, error handling, power events --------------------------------------

TEST_F(PivCardTest, YubicoExtensions_VersionAndStableSerial) {
    select();
    EXPECT_EQ(tx("00fd000000"), hex("0504039000"));
    const Bytes serial = tx("00f8000000");
    ASSERT_EQ(serial.size(), 6u);
    EXPECT_EQ(((serial[0] << 24) | (serial[1] << 16) | (serial[2] << 8) | serial[3]) & 0xFFFFFFFF,
              static_cast<int>(state.serial));
    card.reset();
    select();
    EXPECT_EQ(tx("00f8000000"), serial);
    EXPECT_EQ(tx("00f7009a00"), hex("6d00")) << "GET METADATA not offered";
}

TEST_F(PivCardTest, Errors_UnknownInsBadClaMalformed) {
    select();
    EXPECT_EQ(tx("0001000000"), hex("6d00"));
    EXPECT_EQ(tx("80fd000000"), hex("6e00"));
    EXPECT_EQ(tx("0cfd000000"), hex("6e00"));
    EXPECT_EQ(tx("00a404"), hex("6700"));
    EXPECT_EQ(tx("00cb3fff 05 5c035fc1"), hex("6700")) << "Lc longer than the data";
    EXPECT_EQ(tx("00c0000000"), hex("6985")) << "nothing pending";
}

TEST_F(PivCardTest, Reset_ClearsVolatileState) {
    select();
    verify_pin();
    authenticate_management();
    ASSERT_EQ(tx_bytes(get_data_apdu("5fc105", true))[256], 0x61);
    card.reset();
    EXPECT_FALSE(card.application_selected());
    EXPECT_FALSE(card.pin_verified());
    EXPECT_FALSE(card.management_authenticated());
    EXPECT_EQ(tx("00c0000000"), hex("6985")) << "pending response dropped";
    select();
    EXPECT_EQ(tx("0020008000"), hex("63c3"));

    EXPECT_EQ(tx("10db3fff 05 5c035fff00"), hex("9000"));
    card.power_off();
    card.power_on();
    select();
    authenticate_management();
    EXPECT_EQ(status_of(tx("00db3fff 04 53020102")), 0x6A80) << "chain dropped by power cycle";
}

}  // namespace
}  // namespace tk::vcard::test
