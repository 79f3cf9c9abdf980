#include "piv_card.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstdio>
#include <exception>

#include "card_crypto.hpp"
#include "card_issuer.hpp"

namespace tk::vcard {

namespace {

// Raised inside the card to answer with a status word and no data.
struct StatusError {
    std::uint16_t sw;
};

[[noreturn]] void fail(std::uint16_t status) {
    throw StatusError{status};
}

constexpr std::uint8_t kPivAid[] = {0xA0, 0x00, 0x00, 0x03, 0x08, 0x00,
                                    0x00, 0x10, 0x00, 0x01, 0x00};
constexpr std::uint8_t kAtr[] = {0x3B, 0x80, 0x01, 0x81};
constexpr char kLabel[] = "TenderKey Virtual PIV";

// Objects whose reading needs the PIN (SP 800-73-4 Part 1 Table 3).
bool is_pin_protected(std::uint32_t tag) {
    return tag == 0x5FC103 || tag == 0x5FC108 || tag == 0x5FC109 || tag == 0x5FC121;
}

bool is_data_object(std::uint32_t tag) {
    return (tag >= 0x5FC101 && tag <= 0x5FC123) || (tag >= 0x5FFF00 && tag <= 0x5FFF15) ||
           tag == object::kDiscovery || tag == object::kBiometricGroupTemplate;
}

// Discovery and BIT come back under their own tag; everything else inside 53.
std::uint32_t outer_tag(std::uint32_t tag) {
    return tag == object::kDiscovery || tag == object::kBiometricGroupTemplate ? tag : 0x53;
}

std::vector<Tlv> parse_or_fail(ByteView data) {
    try {
        return parse_tlvs(data);
    } catch (const TlvError&) {
        fail(sw::kWrongData);
    }
}

std::uint32_t object_tag_from(const Tlv& t) {
    if (t.tag != 0x5C || t.value.empty() || t.value.size() > 3) {
        fail(sw::kWrongData);
    }
    std::uint32_t tag = 0;
    for (std::uint8_t b : t.value) {
        tag = (tag << 8) | b;
    }
    return tag;
}

Bytes template_7c(std::uint32_t tag, ByteView value) {
    return make_tlv(0x7C, make_tlv(tag, value));
}

std::uint8_t policy_byte(const Tlv* t, std::uint8_t max) {
    if (t == nullptr) {
        return 0;
    }
    if (t->value.size() != 1 || t->value[0] > max) {
        fail(sw::kWrongData);
    }
    return t->value[0];
}

Bytes public_key_template(const SlotKey& key) {
    Bytes inner;
    if (alg::is_rsa(key.algorithm)) {
        put_tlv(inner, 0x81, rsa_modulus(key.key.get()));
        put_tlv(inner, 0x82, rsa_public_exponent(key.key.get()));
    } else {
        put_tlv(inner, 0x86, ec_public_point(key.key.get()));
    }
    return make_tlv(0x7F49, inner);
}

}  // namespace

PivCard::PivCard(CardState& state, Persist persist) : state_(state), persist_(std::move(persist)) {}

ByteView PivCard::atr() {
    return kAtr;
}

void PivCard::clear_volatile() {
    selected_ = false;
    pin_verified_ = false;
    management_authenticated_ = false;
    pin_always_armed_ = false;
    chain_.reset();
    wipe(pending_);
    wipe(management_witness_);
    wipe(management_challenge_);
}

void PivCard::persist() {
    if (persist_) {
        persist_(state_);
    }
}

Bytes PivCard::transmit(ByteView command) {
    std::optional<CommandApdu> parsed = CommandApdu::parse(command);
    if (!parsed) {
        chain_.reset();
        wipe(pending_);
        pin_always_armed_ = false;
        return {0x67, 0x00};
    }
    CommandApdu& c = *parsed;
    // Command data may hold PINs and keys: wiped however the command ends.
    struct WipeOnExit {
        explicit WipeOnExit(Bytes& d) : data(d) {}
        Bytes& data;
        WipeOnExit(const WipeOnExit&) = delete;
        WipeOnExit& operator=(const WipeOnExit&) = delete;
        WipeOnExit(WipeOnExit&&) = delete;
        WipeOnExit& operator=(WipeOnExit&&) = delete;
        ~WipeOnExit() { wipe(data); }
    } wipe_on_exit(c.data);

    const bool chained = (c.cla & 0x10) != 0;
    if ((c.cla & ~0x10) != 0) {
        chain_.reset();
        pin_always_armed_ = false;
        return {0x6E, 0x00};
    }
    if (c.ins == 0xC0 && !chained) {
        return get_response(c);
    }
    wipe(pending_);

    if (chained) {
        if (!chain_ || chain_->ins != c.ins || chain_->p1 != c.p1 || chain_->p2 != c.p2) {
            chain_.emplace(c.ins, c.p1, c.p2);
        }
        if (chain_->data.get().size() + c.data.size() > kMaxChainedBytes) {
            chain_.reset();
            return {0x67, 0x00};
        }
        append(chain_->data.get(), c.data);
        return {0x90, 0x00};
    }
    if (chain_) {
        if (chain_->ins == c.ins && chain_->p1 == c.p1 && chain_->p2 == c.p2) {
            Bytes whole = std::move(chain_->data.get());
            append(whole, c.data);
            wipe(c.data);
            c.data = std::move(whole);
        }
        chain_.reset();
    }

    const bool armed = pin_always_armed_;
    pin_always_armed_ = false;
    Reply reply;
    try {
        reply = dispatch(c, armed);
    } catch (const StatusError& e) {
        reply = Reply{{}, e.sw};
    } catch (const std::exception& e) {
        std::fprintf(stderr, "tenderkey-vcard: INS %02X failed: %s\n", c.ins, e.what());
        reply = Reply{{}, sw::kNoPreciseDiagnosis};
    }
    return finish(std::move(reply), c.extended);
}

Bytes PivCard::finish(Reply reply, bool extended) {
    Bytes out;
    if (extended || reply.data.size() <= 256) {
        out = std::move(reply.data);
        out.push_back(static_cast<std::uint8_t>(reply.sw >> 8));
        out.push_back(static_cast<std::uint8_t>(reply.sw));
        return out;
    }
    out.assign(reply.data.begin(), reply.data.begin() + 256);
    pending_.assign(reply.data.begin() + 256, reply.data.end());
    wipe(reply.data);
    out.push_back(0x61);
    out.push_back(static_cast<std::uint8_t>(std::min<std::size_t>(pending_.size(), 256)));
    return out;
}

Bytes PivCard::get_response(const CommandApdu& c) {
    if (c.p1 != 0 || c.p2 != 0) {
        return {0x6A, 0x86};
    }
    if (pending_.empty()) {
        return {0x69, 0x85};
    }
    const std::size_t limit = c.extended ? 65536 : 256;
    const std::size_t wanted = c.le_present ? c.ne : 256;
    const std::size_t n = std::min({wanted, limit, pending_.size()});
    Bytes out(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(n));
    Bytes rest(pending_.begin() + static_cast<std::ptrdiff_t>(n), pending_.end());
    wipe(pending_);
    pending_ = std::move(rest);
    if (pending_.empty()) {
        out.push_back(0x90);
        out.push_back(0x00);
    } else {
        out.push_back(0x61);
        out.push_back(static_cast<std::uint8_t>(std::min<std::size_t>(pending_.size(), 256)));
    }
    return out;
}

PivCard::Reply PivCard::dispatch(const CommandApdu& c, bool pin_always_armed) {
    if (c.ins == 0xA4) {
        return select(c);
    }
    if (!selected_) {
        // Host tools probe for the Discovery object before selecting; "not found" makes them
        // select the application, as a card with another default application would.
        fail(c.ins == 0xCB ? sw::kNotFound : sw::kInsNotSupported);
    }
    switch (c.ins) {
        case 0x20:
            return verify(c);
        case 0x24:
            return change_reference_data(c);
        case 0x2C:
            return reset_retry_counter(c);
        case 0xCB:
            return get_data(c);
        case 0xDB:
            return put_data(c);
        case 0x87:
            return general_authenticate(c, pin_always_armed);
        case 0x47:
            return generate(c);
        case 0xFD:
            return Reply{Bytes(std::begin(kVersion), std::end(kVersion))};
        case 0xF8:
            return Reply{{static_cast<std::uint8_t>(state_.serial >> 24),
                          static_cast<std::uint8_t>(state_.serial >> 16),
                          static_cast<std::uint8_t>(state_.serial >> 8),
                          static_cast<std::uint8_t>(state_.serial)}};
        case 0xFE:
            return import_key(c);
        case 0xFF:
            return set_management_key(c);
        default:
            fail(sw::kInsNotSupported);  // F7 GET METADATA deliberately answers 6D 00 too
    }
}

PivCard::Reply PivCard::select(const CommandApdu& c) {
    if (c.p1 != 0x04 || (c.p2 != 0x00 && c.p2 != 0x0C)) {
        fail(sw::kWrongP1P2);
    }
    // Right-truncated AIDs down to the 5-byte RID select PIV; anything else leaves the
    // current selection alone.
    if (c.data.size() < 5 || c.data.size() > sizeof kPivAid ||
        !std::equal(c.data.begin(), c.data.end(), std::begin(kPivAid))) {
        fail(sw::kNotFound);
    }
    selected_ = true;
    if (c.p2 == 0x0C) {
        return {};
    }
    Bytes apt;
    put_tlv(apt, 0x4F, ByteView(kPivAid).subspan(5));
    put_tlv(apt, 0x79, make_tlv(0x4F, ByteView(kPivAid).first(5)));
    put_tlv(apt, 0x50, ByteView(reinterpret_cast<const std::uint8_t*>(kLabel), sizeof kLabel - 1));
    Bytes algorithms;
    for (std::uint8_t a : {alg::k3Des, alg::kAes128, alg::kAes192, alg::kAes256, alg::kRsa2048,
                           alg::kRsa3072, alg::kRsa4096, alg::kEccP256, alg::kEccP384}) {
        put_tlv(algorithms, 0x80, Bytes{a});
    }
    put_tlv(algorithms, 0x06, Bytes{0x00});
    put_tlv(apt, 0xAC, algorithms);
    return Reply{make_tlv(0x61, apt)};
}

PivCard::Reply PivCard::check_reference(ByteView candidate, bool is_puk) {
    Bytes& reference = is_puk ? state_.puk : state_.pin;
    int& left = is_puk ? state_.puk_tries_left : state_.pin_tries_left;
    const int max = is_puk ? state_.puk_tries_max : state_.pin_tries_max;
    if (candidate.size() == reference.size() &&
        CRYPTO_memcmp(candidate.data(), reference.data(), reference.size()) == 0) {
        if (left != max) {
            left = max;
            persist();
        }
        return {};
    }
    --left;
    persist();
    return Reply{{}, static_cast<std::uint16_t>(sw::kWrongPinBase | left)};
}

PivCard::Reply PivCard::verify(const CommandApdu& c) {
    if (c.p1 != 0x00 && c.p1 != 0xFF) {
        fail(sw::kWrongP1P2);
    }
    if (c.p2 != 0x80) {
        fail(sw::kRefDataNotFound);
    }
    if (c.p1 == 0xFF) {  // reset security status (SP 800-73-4)
        if (!c.data.empty()) {
            fail(sw::kWrongLength);
        }
        pin_verified_ = false;
        return {};
    }
    if (state_.pin_tries_left == 0) {
        fail(sw::kAuthBlocked);
    }
    if (c.data.empty()) {  // status query: uses no try
        if (pin_verified_) {
            return {};
        }
        return Reply{{}, static_cast<std::uint16_t>(sw::kWrongPinBase | state_.pin_tries_left)};
    }
    if (!is_valid_pin_block(c.data)) {
        fail(sw::kWrongData);
    }
    Reply r = check_reference(c.data, false);
    pin_verified_ = r.sw == sw::kOk;
    pin_always_armed_ = pin_verified_;
    return r;
}

PivCard::Reply PivCard::change_reference_data(const CommandApdu& c) {
    if (c.p1 != 0x00) {
        fail(sw::kWrongP1P2);
    }
    if (c.p2 != 0x80 && c.p2 != 0x81) {
        fail(sw::kRefDataNotFound);
    }
    const bool is_puk = c.p2 == 0x81;
    if ((is_puk ? state_.puk_tries_left : state_.pin_tries_left) == 0) {
        fail(sw::kAuthBlocked);
    }
    if (c.data.size() != 2 * CardState::kReferenceBytes) {
        fail(sw::kWrongData);
    }
    const ByteView old_value = ByteView(c.data).first(CardState::kReferenceBytes);
    const ByteView new_value = ByteView(c.data).subspan(CardState::kReferenceBytes);
    if (!is_puk && (!is_valid_pin_block(old_value) || !is_valid_pin_block(new_value))) {
        fail(sw::kWrongData);
    }
    Reply r = check_reference(old_value, is_puk);
    if (r.sw != sw::kOk) {
        if (!is_puk) {
            pin_verified_ = false;
        }
        return r;
    }
    Bytes& reference = is_puk ? state_.puk : state_.pin;
    wipe(reference);
    reference.assign(new_value.begin(), new_value.end());
    if (!is_puk) {
        pin_verified_ = true;
    }
    persist();
    return {};
}

PivCard::Reply PivCard::reset_retry_counter(const CommandApdu& c) {
    if (c.p1 != 0x00) {
        fail(sw::kWrongP1P2);
    }
    if (c.p2 != 0x80) {
        fail(sw::kRefDataNotFound);
    }
    if (state_.puk_tries_left == 0) {
        fail(sw::kAuthBlocked);
    }
    if (c.data.size() != 2 * CardState::kReferenceBytes) {
        fail(sw::kWrongData);
    }
    const ByteView new_pin = ByteView(c.data).subspan(CardState::kReferenceBytes);
    if (!is_valid_pin_block(new_pin)) {
        fail(sw::kWrongData);
    }
    Reply r = check_reference(ByteView(c.data).first(CardState::kReferenceBytes), true);
    if (r.sw != sw::kOk) {
        return r;
    }
    wipe(state_.pin);
    state_.pin.assign(new_pin.begin(), new_pin.end());
    state_.pin_tries_left = state_.pin_tries_max;
    pin_verified_ = false;
    persist();
    return {};
}

PivCard::Reply PivCard::get_data(const CommandApdu& c) {
    if (c.p1 != 0x3F || c.p2 != 0xFF) {
        fail(sw::kWrongP1P2);
    }
    const std::vector<Tlv> items = parse_or_fail(c.data);
    if (items.size() != 1) {
        fail(sw::kWrongData);
    }
    const std::uint32_t tag = object_tag_from(items[0]);
    const auto it = state_.objects.find(tag);
    if (it == state_.objects.end()) {
        fail(sw::kNotFound);
    }
    if (is_pin_protected(tag) && !pin_verified_) {
        fail(sw::kSecurityNotSatisfied);
    }
    return Reply{make_tlv(outer_tag(tag), it->second)};
}

PivCard::Reply PivCard::put_data(const CommandApdu& c) {
    if (c.p1 != 0x3F || c.p2 != 0xFF) {
        fail(sw::kWrongP1P2);
    }
    if (!management_authenticated_) {
        fail(sw::kSecurityNotSatisfied);
    }
    const std::vector<Tlv> items = parse_or_fail(c.data);
    if (items.size() != 2) {
        fail(sw::kWrongData);
    }
    const std::uint32_t tag = object_tag_from(items[0]);
    if (!is_data_object(tag) || items[1].tag != outer_tag(tag)) {
        fail(sw::kWrongData);
    }
    if (items[1].value.size() > kMaxObjectBytes) {
        fail(sw::kNotEnoughMemory);
    }
    if (items[1].value.empty()) {
        state_.objects.erase(tag);
    } else {
        state_.objects[tag].assign(items[1].value.begin(), items[1].value.end());
    }
    persist();
    return {};
}

PivCard::Reply PivCard::general_authenticate(const CommandApdu& c, bool pin_always_armed) {
    const std::vector<Tlv> outer = parse_or_fail(c.data);
    if (outer.size() != 1 || outer[0].tag != 0x7C) {
        fail(sw::kWrongData);
    }
    const std::vector<Tlv> items = parse_or_fail(outer[0].value);
    if (c.p2 == slot::kManagement) {
        return management_authenticate(c.p1, items);
    }
    if (!slot::is_asymmetric(c.p2)) {
        fail(sw::kWrongP1P2);
    }
    const auto it = state_.keys.find(c.p2);
    if (it == state_.keys.end() || it->second.algorithm != c.p1) {
        fail(sw::kWrongP1P2);
    }
    SlotKey& key = it->second;
    const bool allowed = key.pin_policy == PinPolicy::Never ||
                         (key.pin_policy == PinPolicy::Once && pin_verified_) ||
                         (key.pin_policy == PinPolicy::Always && pin_always_armed);
    if (!allowed) {
        fail(sw::kSecurityNotSatisfied);
    }
    const Tlv* response = find_tlv(items, 0x82);
    const Tlv* challenge = find_tlv(items, 0x81);
    const Tlv* exponentiation = find_tlv(items, 0x85);
    if (response == nullptr || !response->value.empty() || items.size() != 2 ||
        (challenge == nullptr) == (exponentiation == nullptr)) {
        fail(sw::kWrongData);
    }
    Bytes result;
    try {
        if (challenge != nullptr && alg::is_rsa(key.algorithm)) {
            if (challenge->value.size() != alg::rsa_bits(key.algorithm) / 8) {
                fail(sw::kWrongData);
            }
            result = rsa_raw_private(key.key.get(), challenge->value);
        } else if (challenge != nullptr) {
            // Any hash up to 64 bytes: shorter is used as is, longer is truncated to the
            // order's bit length as FIPS 186-4 prescribes.
            if (challenge->value.empty() || challenge->value.size() > 64) {
                fail(sw::kWrongData);
            }
            result = ecdsa_sign_digest(key.key.get(), challenge->value);
        } else {
            if (!alg::is_ec(key.algorithm) ||
                exponentiation->value.size() != 2 * alg::ec_field_bytes(key.algorithm) + 1) {
                fail(sw::kWrongData);
            }
            result = ecdh_shared_x(key.key.get(), exponentiation->value);
        }
    } catch (const CryptoError&) {
        fail(sw::kWrongData);  // RSA block >= modulus, EC point not on the curve
    }
    Reply r{template_7c(0x82, result)};
    wipe(result);
    return r;
}

PivCard::Reply PivCard::management_authenticate(std::uint8_t algorithm,
                                                const std::vector<Tlv>& items) {
    if (algorithm == alg::k3DesDefault && state_.management_algorithm == alg::k3Des) {
        algorithm = alg::k3Des;
    }
    if (algorithm != state_.management_algorithm) {
        fail(sw::kWrongP1P2);
    }
    const std::size_t block = alg::symmetric_block_bytes(algorithm);
    const Bytes& key = state_.management_key;
    const Tlv* witness = find_tlv(items, 0x80);
    const Tlv* challenge = find_tlv(items, 0x81);
    const Tlv* response = find_tlv(items, 0x82);
    const auto empty = [](const Tlv* t) { return t != nullptr && t->value.empty(); };
    const auto filled = [block](const Tlv* t) {
        if (t == nullptr || t->value.empty()) {
            return false;
        }
        if (t->value.size() != block) {
            fail(sw::kWrongData);
        }
        return true;
    };

    // Mutual authentication, step 1: the card encrypts a random witness.
    if (empty(witness) && challenge == nullptr && response == nullptr) {
        management_authenticated_ = false;
        wipe(management_witness_);
        management_witness_ = random_bytes(block);
        return Reply{template_7c(0x80, block_encrypt(algorithm, key, management_witness_))};
    }
    // Step 2: the host returns the decrypted witness and a challenge for the card; the
    // response element may be requested with 82 00 or left out (yubico-piv-tool).
    if (filled(witness) && filled(challenge) && (response == nullptr || empty(response))) {
        const bool ok =
            management_witness_.size() == block &&
            CRYPTO_memcmp(witness->value.data(), management_witness_.data(), block) == 0;
        wipe(management_witness_);
        management_authenticated_ = ok;
        if (!ok) {
            fail(sw::kSecurityNotSatisfied);
        }
        return Reply{template_7c(0x82, block_encrypt(algorithm, key, challenge->value))};
    }
    // External authentication, step 1: a plain random challenge (OpenSC also uses this
    // as its random number source).
    if (empty(challenge) && witness == nullptr && response == nullptr) {
        management_authenticated_ = false;
        wipe(management_challenge_);
        management_challenge_ = random_bytes(block);
        return Reply{template_7c(0x81, management_challenge_)};
    }
    // External authentication, step 2: the host's encryption of that challenge.
    if (filled(response) && witness == nullptr && challenge == nullptr) {
        bool ok = management_challenge_.size() == block;
        if (ok) {
            const Bytes expected = block_encrypt(algorithm, key, management_challenge_);
            ok = CRYPTO_memcmp(expected.data(), response->value.data(), block) == 0;
        }
        wipe(management_challenge_);
        management_authenticated_ = ok;
        if (!ok) {
            fail(sw::kSecurityNotSatisfied);
        }
        return {};
    }
    // Internal authentication: the card proves it holds the key; authenticates nobody.
    if (filled(challenge) && empty(response) && witness == nullptr) {
        return Reply{template_7c(0x82, block_encrypt(algorithm, key, challenge->value))};
    }
    fail(sw::kWrongData);
}

PivCard::Reply PivCard::generate(const CommandApdu& c) {
    if (c.p1 != 0x00 || !slot::is_asymmetric(c.p2)) {
        fail(sw::kWrongP1P2);
    }
    if (!management_authenticated_) {
        fail(sw::kSecurityNotSatisfied);
    }
    const std::vector<Tlv> outer = parse_or_fail(c.data);
    if (outer.size() != 1 || outer[0].tag != 0xAC) {
        fail(sw::kWrongData);
    }
    const std::vector<Tlv> items = parse_or_fail(outer[0].value);
    const Tlv* algorithm = find_tlv(items, 0x80);
    if (algorithm == nullptr || algorithm->value.size() != 1 ||
        !(alg::is_rsa(algorithm->value[0]) || alg::is_ec(algorithm->value[0]))) {
        fail(sw::kWrongData);
    }
    const std::uint8_t pin_policy = policy_byte(find_tlv(items, 0xAA), 3);
    const std::uint8_t touch_policy = policy_byte(find_tlv(items, 0xAB), 3);
    SlotKey key{
        algorithm->value[0], generate_key(algorithm->value[0]),
        pin_policy == 0 ? slot::default_pin_policy(c.p2) : static_cast<PinPolicy>(pin_policy),
        touch_policy};
    Reply r{public_key_template(key)};
    state_.keys.insert_or_assign(c.p2, std::move(key));
    persist();
    return r;
}

PivCard::Reply PivCard::import_key(const CommandApdu& c) {
    if (!slot::is_asymmetric(c.p2) || !(alg::is_rsa(c.p1) || alg::is_ec(c.p1))) {
        fail(sw::kWrongP1P2);
    }
    if (!management_authenticated_) {
        fail(sw::kSecurityNotSatisfied);
    }
    const std::vector<Tlv> items = parse_or_fail(c.data);
    const std::uint8_t pin_policy = policy_byte(find_tlv(items, 0xAA), 3);
    const std::uint8_t touch_policy = policy_byte(find_tlv(items, 0xAB), 3);
    Pkey imported;
    try {
        if (alg::is_rsa(c.p1)) {
            const Tlv* parts[5];
            for (std::uint32_t tag = 1; tag <= 5; ++tag) {
                parts[tag - 1] = find_tlv(items, tag);
                if (parts[tag - 1] == nullptr) {
                    fail(sw::kWrongData);
                }
            }
            imported = rsa_from_crt(parts[0]->value, parts[1]->value, parts[2]->value,
                                    parts[3]->value, parts[4]->value);
        } else {
            const Tlv* scalar = find_tlv(items, 0x06);
            if (scalar == nullptr) {
                fail(sw::kWrongData);
            }
            imported = ec_from_private(c.p1, scalar->value);
        }
    } catch (const CryptoError&) {
        fail(sw::kWrongData);
    }
    if (piv_algorithm_of(imported.get()) != c.p1) {
        fail(sw::kWrongData);
    }
    state_.keys.insert_or_assign(c.p2, SlotKey{c.p1, std::move(imported),
                                               pin_policy == 0 ? slot::default_pin_policy(c.p2)
                                                               : static_cast<PinPolicy>(pin_policy),
                                               touch_policy});
    persist();
    return {};
}

PivCard::Reply PivCard::set_management_key(const CommandApdu& c) {
    if (c.p1 != 0xFF || (c.p2 != 0xFF && c.p2 != 0xFE)) {
        fail(sw::kWrongP1P2);
    }
    if (!management_authenticated_) {
        fail(sw::kSecurityNotSatisfied);
    }
    // <algorithm> 9B <length> <key>
    if (c.data.size() < 3 || c.data[1] != slot::kManagement || !alg::is_symmetric(c.data[0]) ||
        c.data[2] != alg::symmetric_key_bytes(c.data[0]) || c.data.size() != 3u + c.data[2]) {
        fail(sw::kWrongData);
    }
    wipe(state_.management_key);
    state_.management_algorithm = c.data[0];
    state_.management_key.assign(c.data.begin() + 3, c.data.end());
    persist();
    return {};
}

}  // namespace tk::vcard
