#include "test_card.hpp"

#include <openssl/evp.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tlv.hpp"

namespace tk::vcard::test {

namespace {
std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}
}  // namespace

const IssuedCard& shared_card() {
    static const IssuedCard card = [] {
        const std::filesystem::path dir = VCARD_TEST_CARD_DIR;
        return IssuedCard{
            CardState::load(dir / "card.json"),
            TestCa::from_pem(read_text(dir / "ca.pem"), read_text(dir / "ca-key.pem"))};
    }();
    return card;
}

CardState fresh_state() {
    return shared_card().state.clone();
}

Bytes hex(std::string_view text) {
    return from_hex(text);
}

std::uint16_t status_of(const Bytes& response) {
    EXPECT_GE(response.size(), 2u);
    if (response.size() < 2) {
        return 0;
    }
    return static_cast<std::uint16_t>((response[response.size() - 2] << 8) | response.back());
}

Bytes data_of(const Bytes& response) {
    return response.size() < 2 ? Bytes{} : Bytes(response.begin(), response.end() - 2);
}

Pkey certificate_public_key(const CardState& state, std::uint8_t slot) {
    const Bytes& container = state.objects.at(slot::certificate_object(slot));
    const auto items = parse_tlvs(container);
    const Tlv* der = find_tlv(items, 0x70);
    EXPECT_NE(der, nullptr);
    Certificate cert = certificate_from_der(der->value);
    return Pkey(X509_get_pubkey(cert.get()));
}

bool ecdsa_verifies(EVP_PKEY* key, ByteView digest, ByteView der_signature) {
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr);
    const bool ok = ctx != nullptr && EVP_PKEY_verify_init(ctx) == 1 &&
                    EVP_PKEY_verify(ctx, der_signature.data(), der_signature.size(), digest.data(),
                                    digest.size()) == 1;
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

Bytes CardFixture::tx(std::string_view hex_apdu) {
    return card.transmit(hex(hex_apdu));
}

Bytes CardFixture::tx_bytes(const Bytes& apdu) {
    return card.transmit(apdu);
}

void CardFixture::select() {
    ASSERT_EQ(status_of(tx("00a4040005a000000308")), 0x9000);
}

void CardFixture::verify_pin(std::string_view pin) {
    Bytes apdu = hex("0020008008");
    append(apdu, pad_reference(pin));
    ASSERT_EQ(status_of(tx_bytes(apdu)), 0x9000);
}

void CardFixture::authenticate_management() {
    const Bytes key = default_management_key();
    const Bytes r1 = tx("008703 9b 04 7c028000");
    ASSERT_EQ(status_of(r1), 0x9000);
    ASSERT_EQ(r1.size(), 14u);
    const Bytes witness = block_decrypt(alg::k3Des, key, ByteView(r1).subspan(4, 8));
    const Bytes challenge = random_bytes(8);
    Bytes apdu = hex("0087039b16 7c14 8008");
    append(apdu, witness);
    append(apdu, hex("8108"));
    append(apdu, challenge);
    const Bytes r2 = tx_bytes(apdu);
    ASSERT_EQ(status_of(r2), 0x9000);
    ASSERT_EQ(Bytes(r2.begin() + 4, r2.end() - 2), block_encrypt(alg::k3Des, key, challenge));
    ASSERT_TRUE(card.management_authenticated());
}

Bytes CardFixture::exchange(std::uint8_t ins, std::uint8_t p1, std::uint8_t p2, ByteView data) {
    std::size_t offset = 0;
    Bytes response;
    do {
        const std::size_t n = std::min<std::size_t>(255, data.size() - offset);
        const bool last = offset + n == data.size();
        Bytes apdu{static_cast<std::uint8_t>(last ? 0x00 : 0x10), ins, p1, p2};
        if (n > 0) {
            apdu.push_back(static_cast<std::uint8_t>(n));
            append(apdu, data.subspan(offset, n));
        }
        if (last) {
            apdu.push_back(0x00);  // Le
        }
        response = card.transmit(apdu);
        offset += n;
        if (!last) {
            EXPECT_EQ(status_of(response), 0x9000) << "chained fragment";
        }
    } while (offset < data.size());
    Bytes out = data_of(response);
    std::uint16_t status = status_of(response);
    while ((status >> 8) == 0x61) {
        EXPECT_LE(out.size() % 256, 256u);
        const Bytes part =
            card.transmit(Bytes{0x00, 0xC0, 0x00, 0x00, static_cast<std::uint8_t>(status & 0xFF)});
        EXPECT_LE(part.size(), 258u) << "more than 256 bytes to a short APDU";
        append(out, data_of(part));
        status = status_of(part);
    }
    out.push_back(static_cast<std::uint8_t>(status >> 8));
    out.push_back(static_cast<std::uint8_t>(status));
    return out;
}

Bytes CardFixture::authenticate(std::uint8_t algorithm, std::uint8_t slot, std::uint8_t tag,
                                ByteView input, std::uint16_t* status) {
    Bytes inner = hex("8200");
    put_tlv(inner, tag, input);
    const Bytes response = exchange(0x87, algorithm, slot, make_tlv(0x7C, inner));
    const std::uint16_t sw = status_of(response);
    if (status != nullptr) {
        *status = sw;
    }
    if (sw != 0x9000) {
        return {};
    }
    const Bytes body = data_of(response);
    const auto outer = parse_tlvs(body);
    EXPECT_EQ(outer.size(), 1u);
    EXPECT_EQ(outer.at(0).tag, 0x7Cu);
    const auto items = parse_tlvs(outer.at(0).value);
    const Tlv* result = find_tlv(items, 0x82);
    EXPECT_NE(result, nullptr);
    return result == nullptr ? Bytes{} : Bytes(result->value.begin(), result->value.end());
}

}  // namespace tk::vcard::test
