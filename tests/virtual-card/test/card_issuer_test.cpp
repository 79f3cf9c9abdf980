#include <openssl/x509v3.h>

#include "test_card.hpp"
#include "tlv.hpp"

namespace tk::vcard::test {
namespace {

Certificate slot_certificate(const CardState& state, std::uint8_t slot_ref) {
    const auto items = parse_tlvs(state.objects.at(slot::certificate_object(slot_ref)));
    EXPECT_EQ(items.size(), 3u);
    EXPECT_EQ(Bytes(items.at(1).value.begin(), items.at(1).value.end()), hex("00"));
    EXPECT_EQ(items.at(2).tag, 0xFEu);
    return certificate_from_der(items.at(0).value);
}

std::string subject_entry(X509* cert, int nid, int* type = nullptr) {
    X509_NAME* name = X509_get_subject_name(cert);
    const int index = X509_NAME_get_index_by_NID(name, nid, -1);
    if (index < 0) {
        return {};
    }
    const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
    if (type != nullptr) {
        *type = ASN1_STRING_type(value);
    }
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                       static_cast<std::size_t>(ASN1_STRING_length(value)));
}

TEST(CardIssuer, FreshCard_HoldsTheExpectedKeys) {
    const CardState& s = shared_card().state;
    EXPECT_EQ(s.keys.at(slot::kAuthentication).algorithm, alg::kRsa2048);
    EXPECT_EQ(s.keys.at(slot::kSignature).algorithm, alg::kRsa2048);
    EXPECT_EQ(s.keys.at(slot::kKeyManagement).algorithm, alg::kRsa2048);
    EXPECT_EQ(s.keys.at(slot::kCardAuthentication).algorithm, alg::kEccP256);
    EXPECT_EQ(s.keys.at(slot::kRetiredFirst).algorithm, alg::kEccP384);
    EXPECT_EQ(s.keys.at(slot::kSignature).pin_policy, PinPolicy::Always);
    EXPECT_EQ(s.keys.at(slot::kCardAuthentication).pin_policy, PinPolicy::Never);
    EXPECT_EQ(s.pin, hex("313233343536ffff"));
    EXPECT_EQ(s.puk, hex("3132333435363738"));
    EXPECT_EQ(s.pin_tries_left, 3);
    EXPECT_NE(s.serial, 0u);
    EXPECT_EQ(s.objects.at(object::kKeyHistory), hex("c10101c20100fe00"));
}

TEST(CardIssuer, Certificates_IssuedByTestCaInTheCardProfile) {
    const IssuedCard& card = shared_card();
    EVP_PKEY* ca_key = X509_get0_pubkey(card.ca.certificate());
    struct Expected {
        std::uint8_t slot;
        std::uint32_t key_usage;
        bool client_auth;
    };
    const Expected expected[] = {
        {slot::kAuthentication, KU_DIGITAL_SIGNATURE, true},
        {slot::kSignature, KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION, false},
        {slot::kKeyManagement, KU_KEY_ENCIPHERMENT, false},
        {slot::kCardAuthentication, KU_DIGITAL_SIGNATURE, false},
        {slot::kRetiredFirst, KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT, false},
    };
    for (const Expected& e : expected) {
        SCOPED_TRACE(e.slot);
        Certificate cert = slot_certificate(card.state, e.slot);
        EXPECT_EQ(X509_verify(cert.get(), ca_key), 1);
        EXPECT_EQ(X509_get_version(cert.get()), X509_VERSION_3);
        EXPECT_EQ(X509_get_key_usage(cert.get()), e.key_usage);
        EXPECT_EQ((X509_get_extension_flags(cert.get()) & EXFLAG_CA) != 0, false);
        EXPECT_EQ((X509_get_extension_flags(cert.get()) & EXFLAG_BCONS) != 0, true);
        EXPECT_EQ(X509_get_extended_key_usage(cert.get()) == XKU_SSL_CLIENT, e.client_auth);
        EXPECT_NE(X509_get0_subject_key_id(cert.get()), nullptr);
        EXPECT_NE(X509_get0_authority_key_id(cert.get()), nullptr);
        int type = 0;
        EXPECT_EQ(subject_entry(cert.get(), NID_organizationName, &type), "國立臺灣大學");
        EXPECT_EQ(type, V_ASN1_UTF8STRING);
        EXPECT_EQ(subject_entry(cert.get(), NID_countryName), "TW");
        EXPECT_EQ(X509_cmp_current_time(X509_get0_notBefore(cert.get())), -1);
        int days = 0;
        int seconds = 0;
        ASSERT_EQ(ASN1_TIME_diff(&days, &seconds, X509_get0_notBefore(cert.get()),
                                 X509_get0_notAfter(cert.get())),
                  1);
        EXPECT_GE(days, 5 * 365);
        EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(cert.get()), card.state.keys.at(e.slot).key.get()),
                  1);
    }
}

TEST(CardIssuer, Options_PinPukTriesAndSerial) {
    IssueOptions options;
    options.pin = "87654321";
    options.puk = "abcdefgh";
    options.pin_tries = 5;
    options.puk_tries = 2;
    options.serial = 424242;
    const IssuedCard card = issue_card(options);
    EXPECT_EQ(card.state.pin, hex("3837363534333231"));
    EXPECT_EQ(card.state.puk, hex("6162636465666768"));
    EXPECT_EQ(card.state.pin_tries_left, 5);
    EXPECT_EQ(card.state.puk_tries_max, 2);
    EXPECT_EQ(card.state.serial, 424242u);
}

TEST(CardIssuer, Options_InvalidRejected) {
    IssueOptions short_pin;
    short_pin.pin = "12345";
    EXPECT_THROW(issue_card(short_pin), std::invalid_argument);
    IssueOptions odd_rsa;
    odd_rsa.rsa_bits = 1024;
    EXPECT_THROW(issue_card(odd_rsa), std::invalid_argument);
    IssueOptions tries;
    tries.pin_tries = 0;
    EXPECT_THROW(issue_card(tries), std::invalid_argument);
}

TEST(CardIssuer, PinBlock_FormatRules) {
    EXPECT_TRUE(is_valid_pin_block(hex("313233343536ffff")));
    EXPECT_TRUE(is_valid_pin_block(hex("3132333435363738")));
    EXPECT_FALSE(is_valid_pin_block(hex("3132333435ffffff")));
    EXPECT_FALSE(is_valid_pin_block(hex("313233343536ff31")));
    EXPECT_FALSE(is_valid_pin_block(hex("313233343536")));
}

}  // namespace
}  // namespace tk::vcard::test
