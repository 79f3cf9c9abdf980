#include "card_issuer.hpp"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <stdexcept>

#include "tlv.hpp"

namespace tk::vcard {

namespace {

struct Deleter {
    void operator()(BIO* p) const noexcept { BIO_free(p); }
    void operator()(X509_NAME* p) const noexcept { X509_NAME_free(p); }
    void operator()(X509_EXTENSION* p) const noexcept { X509_EXTENSION_free(p); }
    void operator()(BIGNUM* p) const noexcept { BN_free(p); }
};
template <typename T>
using Owned = std::unique_ptr<T, Deleter>;

void check(bool ok, const char* what) {
    if (!ok) {
        throw CryptoError(what);
    }
}

void set_random_serial(X509* cert) {
    Bytes serial = random_bytes(16);
    serial[0] = static_cast<std::uint8_t>((serial[0] & 0x7F) | 0x10);  // positive, 16 bytes
    Owned<BIGNUM> bn(BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr));
    check(bn != nullptr && BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) != nullptr,
          "certificate serial");
}

Owned<X509_NAME> make_name(const std::vector<std::pair<std::string, std::string>>& rdns) {
    Owned<X509_NAME> name(X509_NAME_new());
    check(name != nullptr, "X509_NAME_new");
    for (const auto& [field, value] : rdns) {
        // MBSTRING_UTF8 with the default "utf8only" mask gives UTF8String (countryName stays
        // PrintableString by its own table entry).
        check(X509_NAME_add_entry_by_txt(name.get(), field.c_str(), MBSTRING_UTF8,
                                         reinterpret_cast<const unsigned char*>(value.data()),
                                         static_cast<int>(value.size()), -1, 0) == 1,
              "certificate subject");
    }
    return name;
}

void add_extension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
    Owned<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str()));
    check(ext != nullptr && X509_add_ext(cert, ext.get(), -1) == 1, "certificate extension");
}

Certificate new_certificate(EVP_PKEY* subject_key, const X509_NAME* subject, long days) {
    Certificate cert(X509_new());
    check(cert != nullptr, "X509_new");
    check(X509_set_version(cert.get(), X509_VERSION_3) == 1, "X509_set_version");
    set_random_serial(cert.get());
    check(X509_set_subject_name(cert.get(), subject) == 1, "X509_set_subject_name");
    check(X509_gmtime_adj(X509_getm_notBefore(cert.get()), -24L * 3600) != nullptr &&
              X509_time_adj_ex(X509_getm_notAfter(cert.get()), static_cast<int>(days), 0,
                               nullptr) != nullptr,
          "certificate validity");
    check(X509_set_pubkey(cert.get(), subject_key) == 1, "X509_set_pubkey");
    return cert;
}

}  // namespace

TestCa TestCa::create() {
    Pkey key = generate_key(alg::kRsa2048);
    auto name = make_name({{"C", "TW"},
                           {"O", "TenderKey 測試憑證管理中心"},
                           {"CN", "TenderKey Test Organisation CA - G1"}});
    Certificate cert = new_certificate(key.get(), name.get(), 10L * 365 + 2);
    check(X509_set_issuer_name(cert.get(), name.get()) == 1, "X509_set_issuer_name");
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
    add_extension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_extension(cert.get(), &ctx, NID_subject_key_identifier, "hash");
    add_extension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always");
    check(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0, "X509_sign");
    return TestCa(std::move(cert), std::move(key));
}

TestCa TestCa::from_pem(const std::string& cert_pem, const std::string& key_pem) {
    Owned<BIO> bio(BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())));
    check(bio != nullptr, "BIO_new_mem_buf");
    Certificate cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    check(cert != nullptr, "PEM_read_bio_X509");
    return TestCa(std::move(cert), pkey_from_pem(key_pem));
}

std::string TestCa::certificate_pem() const {
    Owned<BIO> bio(BIO_new(BIO_s_mem()));
    check(bio != nullptr && PEM_write_bio_X509(bio.get(), cert_.get()) == 1, "PEM_write_bio_X509");
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(len));
}

std::string TestCa::private_key_pem() const {
    return pkey_to_pem(key_.get());
}

Certificate TestCa::issue(EVP_PKEY* subject_key, const CertificateProfile& profile) const {
    auto name = make_name(profile.subject);
    Certificate cert = new_certificate(subject_key, name.get(), profile.validity_days);
    check(X509_set_issuer_name(cert.get(), X509_get_subject_name(cert_.get())) == 1,
          "X509_set_issuer_name");
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, cert_.get(), cert.get(), nullptr, nullptr, 0);
    add_extension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE");
    add_extension(cert.get(), &ctx, NID_key_usage, "critical," + profile.key_usage);
    if (!profile.extended_key_usage.empty()) {
        add_extension(cert.get(), &ctx, NID_ext_key_usage, profile.extended_key_usage);
    }
    add_extension(cert.get(), &ctx, NID_subject_key_identifier, "hash");
    add_extension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always");
    check(X509_sign(cert.get(), key_.get(), EVP_sha256()) > 0, "X509_sign");
    return cert;
}

Bytes certificate_der(const X509* cert) {
    unsigned char* der = nullptr;
    const int len = i2d_X509(cert, &der);
    check(len > 0, "i2d_X509");
    Bytes out(der, der + len);
    OPENSSL_free(der);
    return out;
}

Certificate certificate_from_der(ByteView der) {
    const unsigned char* p = der.data();
    Certificate cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    check(cert != nullptr, "d2i_X509");
    return cert;
}

Bytes certificate_container(ByteView der) {
    Bytes out;
    put_tlv(out, 0x70, der);
    const std::uint8_t uncompressed[] = {0x00};
    put_tlv(out, 0x71, uncompressed);
    put_tlv(out, 0xFE, {});
    return out;
}

Bytes chuid_object(ByteView guid, const std::string& expiry_yyyymmdd) {
    // FASC-N template used by card management tools for non-government cards.
    static const Bytes kFascn = from_hex("d4e739da739ced39ce739d836858210842108421c84210c3eb");
    Bytes out;
    put_tlv(out, 0x30, kFascn);
    put_tlv(out, 0x34, guid);
    put_tlv(out, 0x35, Bytes(expiry_yyyymmdd.begin(), expiry_yyyymmdd.end()));
    put_tlv(out, 0x3E, {});
    put_tlv(out, 0xFE, {});
    return out;
}

Bytes discovery_object() {
    // PIV AID; PIN usage policy: PIV PIN satisfies access, PIV PIN is the primary PIN.
    Bytes out;
    put_tlv(out, 0x4F, from_hex("a0000003080000100001 00"));
    put_tlv(out, 0x5F2F, from_hex("4010"));
    return out;
}

Bytes key_history_object(std::uint8_t on_card, std::uint8_t off_card) {
    Bytes out;
    put_tlv(out, 0xC1, Bytes{on_card});
    put_tlv(out, 0xC2, Bytes{off_card});
    put_tlv(out, 0xFE, {});
    return out;
}

Bytes ccc_object(ByteView card_identifier) {
    Bytes id = from_hex("a000000116ff02");  // GSC-RID, manufacturer FF, card type 02 (JavaCard)
    append(id, card_identifier);
    Bytes out;
    put_tlv(out, 0xF0, id);
    put_tlv(out, 0xF1, Bytes{0x21});
    put_tlv(out, 0xF2, Bytes{0x21});
    put_tlv(out, 0xF3, {});
    put_tlv(out, 0xF4, Bytes{0x00});
    put_tlv(out, 0xF5, Bytes{0x10});
    for (std::uint32_t tag : {0xF6u, 0xF7u, 0xFAu, 0xFBu, 0xFCu, 0xFDu, 0xFEu}) {
        put_tlv(out, tag, {});
    }
    return out;
}

Bytes default_management_key() {
    return from_hex("010203040506070801020304050607080102030405060708");
}

bool is_valid_pin_block(ByteView block) {
    if (block.size() != CardState::kReferenceBytes) {
        return false;
    }
    std::size_t digits = 0;
    while (digits < block.size() && block[digits] >= '0' && block[digits] <= '9') {
        ++digits;
    }
    if (digits < 6) {
        return false;
    }
    for (std::size_t i = digits; i < block.size(); ++i) {
        if (block[i] != 0xFF) {
            return false;
        }
    }
    return true;
}

namespace {

std::uint8_t rsa_algorithm_for(unsigned bits) {
    switch (bits) {
        case 2048:
            return alg::kRsa2048;
        case 3072:
            return alg::kRsa3072;
        case 4096:
            return alg::kRsa4096;
        default:
            throw std::invalid_argument("RSA size must be 2048, 3072 or 4096");
    }
}

std::string expiry_date(long days_from_now) {
    const std::time_t t = std::time(nullptr) + days_from_now * 24 * 3600;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[16];
    std::strftime(buf, sizeof buf, "%Y%m%d", &tm);
    return buf;
}

struct SlotPlan {
    std::uint8_t ref;
    std::uint8_t algorithm;
    const char* role;
    const char* key_usage;
    const char* extended_key_usage;
};

}  // namespace

IssuedCard issue_card(const IssueOptions& options) {
    const std::uint8_t rsa = rsa_algorithm_for(options.rsa_bits);
    Bytes pin = pad_reference(options.pin);
    if (!is_valid_pin_block(pin)) {
        throw std::invalid_argument("PIN must be 6 to 8 digits");
    }
    if (options.puk.empty() || options.puk.size() > CardState::kReferenceBytes) {
        throw std::invalid_argument("PUK must be 1 to 8 characters");
    }
    if (options.pin_tries < 1 || options.pin_tries > 15 || options.puk_tries < 1 ||
        options.puk_tries > 15) {
        throw std::invalid_argument("retry counters must be between 1 and 15");
    }

    IssuedCard card{CardState{}, TestCa::create()};
    CardState& s = card.state;
    if (options.serial) {
        s.serial = *options.serial;
    } else {
        do {
            const Bytes r = random_bytes(4);
            s.serial = (static_cast<std::uint32_t>(r[0] & 0x7F) << 24) |
                       (static_cast<std::uint32_t>(r[1]) << 16) |
                       (static_cast<std::uint32_t>(r[2]) << 8) | r[3];
        } while (s.serial == 0);
    }
    s.pin = std::move(pin);
    s.puk = pad_reference(options.puk);
    s.pin_tries_max = s.pin_tries_left = options.pin_tries;
    s.puk_tries_max = s.puk_tries_left = options.puk_tries;
    s.management_algorithm = alg::k3Des;
    s.management_key = default_management_key();

    const SlotPlan plans[] = {
        {slot::kAuthentication, rsa, "PIV Authentication", "digitalSignature", "clientAuth"},
        {slot::kSignature, options.signature_algorithm != 0 ? options.signature_algorithm : rsa,
         "Digital Signature", "digitalSignature,nonRepudiation", ""},
        {slot::kKeyManagement, rsa, "Key Management", "keyEncipherment", ""},
        {slot::kCardAuthentication, alg::kEccP256, "Card Authentication", "digitalSignature", ""},
        {slot::kRetiredFirst, alg::kEccP384, "Retired Key Management 1",
         "digitalSignature,keyAgreement", ""},
    };
    const long validity_days = 5 * 365 + 1;
    for (const SlotPlan& plan : plans) {
        SlotKey key{plan.algorithm, generate_key(plan.algorithm),
                    slot::default_pin_policy(plan.ref), 0};
        CertificateProfile profile;
        profile.subject = {{"C", "TW"},
                           {"O", options.organisation},
                           {"OU", options.organisational_unit},
                           {"CN", options.organisation + " " + plan.role}};
        profile.key_usage = plan.key_usage;
        profile.extended_key_usage = plan.extended_key_usage;
        profile.validity_days = validity_days;
        Certificate cert = card.ca.issue(key.key.get(), profile);
        s.objects[slot::certificate_object(plan.ref)] =
            certificate_container(certificate_der(cert.get()));
        s.keys.emplace(plan.ref, std::move(key));
    }

    Bytes guid = random_bytes(16);
    guid[0] |= 0x01;  // never all zero
    s.objects[object::kChuid] = chuid_object(guid, expiry_date(validity_days));
    s.objects[object::kCardCapabilityContainer] = ccc_object(random_bytes(14));
    s.objects[object::kDiscovery] = discovery_object();
    s.objects[object::kKeyHistory] = key_history_object(1, 0);
    return card;
}

}  // namespace tk::vcard
