#include "support/fake_piv_card.hpp"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <memory>

#include "card/tlv.hpp"

namespace tk::test {

namespace {

const Bytes kFullAid = {0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00};

Bytes withSw(Bytes data, std::uint16_t sw) {
    data.push_back(static_cast<std::uint8_t>(sw >> 8));
    data.push_back(static_cast<std::uint8_t>(sw & 0xFF));
    return data;
}

Bytes swOnly(std::uint16_t sw) {
    return withSw({}, sw);
}

Bytes pad8(const std::string& value) {
    Bytes out(8, 0xFF);
    std::copy(value.begin(), value.end(), out.begin());
    return out;
}

std::uint32_t certificateObject(std::uint8_t keyRef) {
    switch (keyRef) {
        case 0x9A:
            return 0x5FC105;
        case 0x9C:
            return 0x5FC10A;
        case 0x9D:
            return 0x5FC10B;
        case 0x9E:
            return 0x5FC101;
        default:
            return 0x5FC10D + static_cast<std::uint32_t>(keyRef - 0x82);
    }
}

std::uint8_t algorithmIdOf(EVP_PKEY* key) {
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
        switch (EVP_PKEY_get_bits(key)) {
            case 1024:
                return 0x06;
            case 2048:
                return 0x07;
            case 3072:
                return 0x05;
            case 4096:
                return 0x16;
            default:
                return 0x00;
        }
    }
    switch (EVP_PKEY_get_bits(key)) {
        case 256:
            return 0x11;
        case 384:
            return 0x14;
        default:
            return 0x00;
    }
}

Bytes gzip(ByteView input) {
    z_stream s{};
    deflateInit2(&s, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
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

}  // namespace

Bytes hex(const std::string& text) {
    std::string compact;
    for (const char c : text) {
        if (!std::isspace(static_cast<unsigned char>(c))) {
            compact.push_back(c);
        }
    }
    return card::fromHex(compact);
}

FakePivCard::FakePivCard() {
    setPin("123456");
    setPuk("12345678");
}

void FakePivCard::putObject(std::uint32_t tag, Bytes contents) {
    objects_[tag] = std::move(contents);
}

void FakePivCard::removeObject(std::uint32_t tag) {
    objects_.erase(tag);
}

void FakePivCard::putCertificate(std::uint8_t keyRef, ByteView der, bool compress) {
    Bytes contents;
    const Bytes body = compress ? gzip(der) : Bytes(der.begin(), der.end());
    card::appendTlv(contents, 0x70, body);
    const std::uint8_t info[] = {static_cast<std::uint8_t>(compress ? 0x01 : 0x00)};
    card::appendTlv(contents, 0x71, info);
    card::appendTlv(contents, 0xFE, {});
    putObject(certificateObject(keyRef), std::move(contents));
}

void FakePivCard::putKey(std::uint8_t keyRef, KeyPtr key) {
    keys_[keyRef] = std::move(key);
}

void FakePivCard::setChuid(std::optional<Bytes> fascn, std::optional<Bytes> guid) {
    Bytes contents;
    if (fascn) {
        card::appendTlv(contents, 0x30, *fascn);
    }
    if (guid) {
        card::appendTlv(contents, 0x34, *guid);
    }
    card::appendTlv(contents, 0x35, bytesOf("20300101"));
    card::appendTlv(contents, 0x3E, {});
    card::appendTlv(contents, 0xFE, {});
    putObject(0x5FC102, std::move(contents));
}

void FakePivCard::setKeyHistory(int retiredOnCard) {
    Bytes contents;
    const std::uint8_t onCard[] = {static_cast<std::uint8_t>(retiredOnCard)};
    const std::uint8_t offCard[] = {0};
    card::appendTlv(contents, 0xC1, onCard);
    card::appendTlv(contents, 0xC2, offCard);
    card::appendTlv(contents, 0xFE, {});
    putObject(0x5FC10C, std::move(contents));
}

void FakePivCard::setPin(const std::string& pin, int retries) {
    pin_ = pad8(pin);
    pinRetries_ = retries;
    pinMax_ = std::max(3, retries);
}

void FakePivCard::setPuk(const std::string& puk, int retries) {
    puk_ = pad8(puk);
    pukRetries_ = retries;
    pukMax_ = std::max(3, retries);
}

bool FakePivCard::pinMatches(const std::string& pin) const {
    return pin_ == pad8(pin);
}

bool FakePivCard::pukMatches(const std::string& puk) const {
    return puk_ == pad8(puk);
}

void FakePivCard::reset() {
    selected_ = false;
    pinVerified_ = false;
    lastWasVerifyOk_ = false;
    chaining_ = false;
}

void FakePivCard::setPinpadEntries(std::vector<std::string> entries) {
    pinpadEntries_.assign(entries.begin(), entries.end());
}

void FakePivCard::clearLog() {
    transmitted_.clear();
    secretTransmits_.clear();
    cardSaw_.clear();
    controls_.clear();
    featureQueries_ = 0;
}

Bytes FakePivCard::transmit(std::span<const std::uint8_t> command) {
    const std::size_t index = transmitted_.size();
    transmitted_.emplace_back(command.begin(), command.end());
    if (interceptor) {
        if (auto answer = interceptor(index, command)) {
            return *answer;
        }
    }
    return process(command);
}

Bytes FakePivCard::transmitSecret(std::span<const std::uint8_t> command) {
    secretTransmits_.push_back(transmitted_.size());
    return transmit(command);
}

std::optional<std::uint32_t> FakePivCard::featureControlCode(std::uint8_t feature) {
    ++featureQueries_;
    const auto it = features_.find(feature);
    if (it == features_.end()) {
        return std::nullopt;
    }
    return it->second;
}

Bytes FakePivCard::control(std::uint32_t code, std::span<const std::uint8_t> input) {
    controls_.emplace_back(code, Bytes(input.begin(), input.end()));
    const auto is = [&](std::uint8_t feature) {
        const auto it = features_.find(feature);
        return it != features_.end() && it->second == code;
    };
    if (is(0x06)) {
        return pinpad(input, false);
    }
    if (is(0x07)) {
        return pinpad(input, true);
    }
    throw FakeTransportError("control code not supported by this reader");
}

Bytes FakePivCard::atr() const {
    return {0x3B, 0x80, 0x01, 0x81};
}

Bytes FakePivCard::pinpad(ByteView s, bool modify) {
    // PIN_VERIFY_STRUCTURE: 19 bytes before abData; PIN_MODIFY_STRUCTURE: 24.
    const std::size_t header = modify ? 24 : 19;
    if (s.size() < header) {
        return swOnly(0x6B80);
    }
    const std::size_t lengthAt = header - 4;
    const std::uint32_t dataLength = s[lengthAt] | (s[lengthAt + 1] << 8) |
                                     (s[lengthAt + 2] << 16) |
                                     (static_cast<std::uint32_t>(s[lengthAt + 3]) << 24);
    if (dataLength != s.size() - header) {
        return swOnly(0x6B80);
    }
    if (pinpadOutcome_) {
        return swOnly(*pinpadOutcome_);
    }
    Bytes apdu(s.begin() + static_cast<std::ptrdiff_t>(header), s.end());
    const auto nextEntry = [&]() -> std::optional<std::string> {
        if (pinpadEntries_.empty()) {
            return std::nullopt;
        }
        std::string e = pinpadEntries_.front();
        pinpadEntries_.pop_front();
        return e;
    };
    const auto place = [&](const std::string& value, std::size_t offset) {
        std::copy(value.begin(), value.end(),
                  apdu.begin() + 5 + static_cast<std::ptrdiff_t>(offset));
    };
    if (!modify) {
        const auto entry = nextEntry();
        if (!entry) {
            return swOnly(0x6400);
        }
        place(*entry, 0);
    } else {
        const std::uint8_t confirm = s[9];
        if (confirm & 0x02) {
            const auto current = nextEntry();
            if (!current) {
                return swOnly(0x6400);
            }
            place(*current, s[5]);
        }
        const auto fresh = nextEntry();
        if (!fresh) {
            return swOnly(0x6400);
        }
        if (confirm & 0x01) {
            const auto again = nextEntry();
            if (!again) {
                return swOnly(0x6400);
            }
            if (*again != *fresh) {
                return swOnly(0x6402);
            }
        }
        place(*fresh, s[6]);
    }
    const Bytes response = process(apdu);
    return Bytes(response.end() - 2, response.end());
}

Bytes FakePivCard::process(ByteView apdu) {
    cardSaw_.emplace_back(apdu.begin(), apdu.end());
    if (apdu.size() < 4) {
        return swOnly(0x6700);
    }
    Command c{apdu[0], apdu[1], apdu[2], apdu[3], {}};
    if (apdu.size() > 5) {
        const std::size_t lc = apdu[4];
        if (lc == 0 || apdu.size() < 5 + lc || apdu.size() > 6 + lc) {
            return swOnly(0x6700);
        }
        c.data.assign(apdu.begin() + 5, apdu.begin() + 5 + static_cast<std::ptrdiff_t>(lc));
    }
    if ((c.cla & ~0x10) != 0x00) {
        return swOnly(0x6E00);
    }
    if (c.cla & 0x10) {
        if (!chaining_) {
            chaining_ = true;
            chainVerifyBefore_ = lastWasVerifyOk_;
            chain_ = Command{0x00, c.ins, c.p1, c.p2, {}};
        } else if (chain_.ins != c.ins || chain_.p1 != c.p1 || chain_.p2 != c.p2) {
            chaining_ = false;
            lastWasVerifyOk_ = false;
            return swOnly(0x6883);  // the last command of the chain was expected
        }
        chain_.data.insert(chain_.data.end(), c.data.begin(), c.data.end());
        return swOnly(0x9000);
    }
    bool verifyBefore = lastWasVerifyOk_;
    if (chaining_ && (chain_.ins != c.ins || chain_.p1 != c.p1 || chain_.p2 != c.p2)) {
        // Another command interrupts the chain: the chain is abandoned and the command runs.
        chaining_ = false;
        chain_ = Command{};
        verifyBefore = false;
    }
    if (chaining_) {
        chaining_ = false;
        verifyBefore = chainVerifyBefore_;
        chain_.data.insert(chain_.data.end(), c.data.begin(), c.data.end());
        c.data = std::move(chain_.data);
        chain_ = Command{};
    }
    Bytes response = dispatch(c, verifyBefore);
    const std::uint16_t sw =
        static_cast<std::uint16_t>((response[response.size() - 2] << 8) | response.back());
    lastWasVerifyOk_ = c.ins == 0x20 && c.p1 == 0x00 && !c.data.empty() && sw == 0x9000;
    return response;
}

Bytes FakePivCard::dispatch(const Command& c, bool verifyBefore) {
    if (c.ins == 0xA4) {
        return select(c);
    }
    if (!selected_) {
        return swOnly(0x6D00);
    }
    switch (c.ins) {
        case 0xCB:
            return getData(c);
        case 0x20:
            return verify(c);
        case 0x24:
            return changeReferenceData(c);
        case 0x2C:
            return resetRetryCounter(c);
        case 0x87:
            return generalAuthenticate(c, verifyBefore);
        default:
            return swOnly(0x6D00);
    }
}

Bytes FakePivCard::select(const Command& c) {
    if (c.p1 != 0x04 || c.data.size() < 5 || c.data.size() > kFullAid.size() ||
        !std::equal(c.data.begin(), c.data.end(), kFullAid.begin())) {
        return swOnly(0x6A82);
    }
    selected_ = true;
    Bytes apt = hex("4F0600001000010079074F05A000000308");
    return withSw(card::encodeTlv(0x61, apt), 0x9000);
}

Bytes FakePivCard::getData(const Command& c) {
    if (c.p1 != 0x3F || c.p2 != 0xFF) {
        return swOnly(0x6A86);
    }
    std::optional<card::Tlv> tag;
    try {
        tag = card::findTlv(c.data, 0x5C);
    } catch (const card::TlvError&) {
        return swOnly(0x6A80);
    }
    if (!tag || tag->value.empty() || tag->value.size() > 3) {
        return swOnly(0x6A80);
    }
    std::uint32_t id = 0;
    for (const std::uint8_t b : tag->value) {
        id = (id << 8) | b;
    }
    const auto it = objects_.find(id);
    if (it == objects_.end()) {
        return swOnly(0x6A82);
    }
    return withSw(card::encodeTlv(0x53, it->second), 0x9000);
}

Bytes FakePivCard::verify(const Command& c) {
    if (c.p2 != 0x80) {
        return swOnly(0x6A88);
    }
    if (c.p1 == 0xFF) {
        if (!logoutSupported_ || !c.data.empty()) {
            return swOnly(0x6A86);
        }
        pinVerified_ = false;
        return swOnly(0x9000);
    }
    if (c.p1 != 0x00) {
        return swOnly(0x6A86);
    }
    if (c.data.empty()) {
        if (pinRetries_ == 0) {
            return swOnly(0x6983);
        }
        return pinVerified_ ? swOnly(0x9000)
                            : swOnly(static_cast<std::uint16_t>(0x63C0 | pinRetries_));
    }
    if (c.data.size() != 8) {
        return swOnly(0x6A80);
    }
    if (pinRetries_ == 0) {
        return swOnly(0x6983);
    }
    if (c.data == pin_) {
        pinRetries_ = pinMax_;
        pinVerified_ = true;
        return swOnly(0x9000);
    }
    --pinRetries_;
    pinVerified_ = false;
    return swOnly(static_cast<std::uint16_t>(0x63C0 | pinRetries_));
}

Bytes FakePivCard::changeReferenceData(const Command& c) {
    if (c.p1 != 0x00 || (c.p2 != 0x80 && c.p2 != 0x81)) {
        return swOnly(0x6A86);
    }
    if (c.data.size() != 16) {
        return swOnly(0x6A80);
    }
    Bytes& reference = c.p2 == 0x80 ? pin_ : puk_;
    int& retries = c.p2 == 0x80 ? pinRetries_ : pukRetries_;
    const int max = c.p2 == 0x80 ? pinMax_ : pukMax_;
    if (retries == 0) {
        return swOnly(0x6983);
    }
    if (!std::equal(reference.begin(), reference.end(), c.data.begin())) {
        --retries;
        if (c.p2 == 0x80) {
            pinVerified_ = false;
        }
        return swOnly(static_cast<std::uint16_t>(0x63C0 | retries));
    }
    reference.assign(c.data.begin() + 8, c.data.end());
    retries = max;
    return swOnly(0x9000);
}

Bytes FakePivCard::resetRetryCounter(const Command& c) {
    if (c.p1 != 0x00 || c.p2 != 0x80) {
        return swOnly(0x6A88);
    }
    if (c.data.size() != 16) {
        return swOnly(0x6A80);
    }
    if (pukRetries_ == 0) {
        return swOnly(0x6983);
    }
    if (!std::equal(puk_.begin(), puk_.end(), c.data.begin())) {
        --pukRetries_;
        return swOnly(static_cast<std::uint16_t>(0x63C0 | pukRetries_));
    }
    pukRetries_ = pukMax_;
    pin_.assign(c.data.begin() + 8, c.data.end());
    pinRetries_ = pinMax_;
    return swOnly(0x9000);
}

Bytes FakePivCard::generalAuthenticate(const Command& c, bool verifyBefore) {
    const auto it = keys_.find(c.p2);
    if (it == keys_.end()) {
        return swOnly(0x6A88);
    }
    EVP_PKEY* key = it->second.get();
    if (c.p1 != algorithmIdOf(key)) {
        return swOnly(0x6A86);
    }
    const bool allowed =
        c.p2 == 0x9E || (c.p2 == 0x9C ? (verifyBefore && pinVerified_) : pinVerified_);
    if (!allowed) {
        return swOnly(0x6982);
    }
    std::optional<card::Tlv> response, challenge, exponentiation;
    try {
        const auto outer = card::parseTlv(c.data);
        if (outer.tag != 0x7C || outer.encoded.size() != c.data.size()) {
            return swOnly(0x6A80);
        }
        response = card::findTlv(outer.value, 0x82);
        challenge = card::findTlv(outer.value, 0x81);
        exponentiation = card::findTlv(outer.value, 0x85);
    } catch (const card::TlvError&) {
        return swOnly(0x6A80);
    }
    if (!response || !response->value.empty() || (!challenge == !exponentiation)) {
        return swOnly(0x6A80);
    }
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new(key, nullptr),
                                                                    EVP_PKEY_CTX_free);
    Bytes result;
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
        const auto k = static_cast<std::size_t>(EVP_PKEY_get_size(key));
        if (!challenge || challenge->value.size() != k) {
            return swOnly(0x6A80);
        }
        std::size_t length = k;
        result.resize(k);
        if (EVP_PKEY_decrypt_init(ctx.get()) != 1 ||
            EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_NO_PADDING) != 1 ||
            EVP_PKEY_decrypt(ctx.get(), result.data(), &length, challenge->value.data(),
                             challenge->value.size()) != 1) {
            ERR_clear_error();
            return swOnly(0x6A80);
        }
        result.resize(length);
    } else if (challenge) {
        const auto field = static_cast<std::size_t>((EVP_PKEY_get_bits(key) + 7) / 8);
        // Like PivApplet: a hash no longer than the field, which the host truncates.
        if (challenge->value.empty() || challenge->value.size() > field) {
            return swOnly(0x6A80);
        }
        std::size_t length = static_cast<std::size_t>(EVP_PKEY_get_size(key));
        result.resize(length);
        if (EVP_PKEY_sign_init(ctx.get()) != 1 ||
            EVP_PKEY_sign(ctx.get(), result.data(), &length, challenge->value.data(),
                          challenge->value.size()) != 1) {
            ERR_clear_error();
            return swOnly(0x6A80);
        }
        result.resize(length);
    } else {
        try {
            result = opensslEcdh(it->second, exponentiation->value);
        } catch (const std::exception&) {
            ERR_clear_error();
            return swOnly(0x6A80);
        }
    }
    Bytes inner;
    card::appendTlv(inner, 0x82, result);
    return withSw(card::encodeTlv(0x7C, inner), 0x9000);
}

StandardCard::StandardCard() {
    CertificateSpec spec;
    spec.commonName = "Authentication";
    spec.extendedKeyUsage = "clientAuth";
    cert9a = makeCertificate(rsa2048a(), spec);
    spec = {};
    spec.commonName = "Signature";
    spec.keyUsage = "critical,digitalSignature,nonRepudiation";
    cert9c = makeCertificate(rsa2048b(), spec);
    spec = {};
    spec.commonName = "Key Management";
    spec.keyUsage = "critical,keyAgreement";
    cert9d = makeCertificate(p256a(), spec);
    spec = {};
    spec.commonName = "Card Authentication";
    cert9e = makeCertificate(p256b(), spec);

    card.putCertificate(0x9A, cert9a);
    card.putKey(0x9A, rsa2048a());
    card.putCertificate(0x9C, cert9c);
    card.putKey(0x9C, rsa2048b());
    card.putCertificate(0x9D, cert9d);
    card.putKey(0x9D, p256a());
    card.putCertificate(0x9E, cert9e);
    card.putKey(0x9E, p256b());
    card.setChuid(std::nullopt, hex("000102030405060708090a0b0c0d0e0f"));
}

}  // namespace tk::test
