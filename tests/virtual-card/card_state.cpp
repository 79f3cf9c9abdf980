#include "card_state.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace tk::vcard {

namespace slot {
bool is_asymmetric(std::uint8_t ref) {
    return ref == kAuthentication || ref == kSignature || ref == kKeyManagement ||
           ref == kCardAuthentication || (ref >= kRetiredFirst && ref <= kRetiredLast);
}

PinPolicy default_pin_policy(std::uint8_t ref) {
    switch (ref) {
        case kSignature:
            return PinPolicy::Always;
        case kCardAuthentication:
            return PinPolicy::Never;
        default:
            return PinPolicy::Once;
    }
}

std::uint32_t certificate_object(std::uint8_t ref) {
    switch (ref) {
        case kAuthentication:
            return object::kCertAuthentication;
        case kSignature:
            return object::kCertSignature;
        case kKeyManagement:
            return object::kCertKeyManagement;
        case kCardAuthentication:
            return object::kCertCardAuthentication;
        default:
            if (ref >= kRetiredFirst && ref <= kRetiredLast) {
                return object::kRetiredCertFirst + (ref - kRetiredFirst);
            }
            throw std::invalid_argument("not an asymmetric key reference");
    }
}
}  // namespace slot

namespace {

std::string hex_key(std::uint32_t v, int width) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%0*x", width, v);
    return buf;
}

std::uint32_t parse_hex_key(const std::string& s) {
    std::size_t used = 0;
    const unsigned long v = std::stoul(s, &used, 16);
    if (used != s.size() || v > 0xFFFFFF) {
        throw std::runtime_error("bad hex key in state: " + s);
    }
    return static_cast<std::uint32_t>(v);
}

const char* policy_name(PinPolicy p) {
    switch (p) {
        case PinPolicy::Never:
            return "never";
        case PinPolicy::Always:
            return "always";
        case PinPolicy::Once:
            break;
    }
    return "once";
}

PinPolicy policy_from_name(const std::string& s) {
    if (s == "never") {
        return PinPolicy::Never;
    }
    if (s == "once") {
        return PinPolicy::Once;
    }
    if (s == "always") {
        return PinPolicy::Always;
    }
    throw std::runtime_error("bad pin_policy in state: " + s);
}

Bytes reference_from_json(const nlohmann::json& j, const char* name) {
    Bytes b = from_hex(j.at(name).get<std::string>());
    if (b.size() != CardState::kReferenceBytes) {
        throw std::runtime_error(std::string(name) + " must be 8 bytes");
    }
    return b;
}

}  // namespace

CardState::~CardState() {
    wipe(pin);
    wipe(puk);
    wipe(management_key);
}

Bytes pad_reference(std::string_view text) {
    if (text.size() > CardState::kReferenceBytes) {
        throw std::invalid_argument("PIN/PUK longer than 8 characters");
    }
    Bytes out(text.begin(), text.end());
    out.resize(CardState::kReferenceBytes, 0xFF);
    return out;
}

nlohmann::json CardState::to_json() const {
    nlohmann::json j;
    j["format"] = "tenderkey-vcard-1";
    j["serial"] = serial;
    j["pin"] = to_hex(pin);
    j["puk"] = to_hex(puk);
    j["pin_tries_max"] = pin_tries_max;
    j["pin_tries_left"] = pin_tries_left;
    j["puk_tries_max"] = puk_tries_max;
    j["puk_tries_left"] = puk_tries_left;
    j["management_key"] = {{"algorithm", management_algorithm}, {"key", to_hex(management_key)}};
    nlohmann::json ks = nlohmann::json::object();
    for (const auto& [ref, k] : keys) {
        ks[hex_key(ref, 2)] = {{"algorithm", k.algorithm},
                               {"pin_policy", policy_name(k.pin_policy)},
                               {"touch_policy", k.touch_policy},
                               {"private_key", pkey_to_pem(k.key.get())}};
    }
    j["keys"] = ks;
    nlohmann::json os = nlohmann::json::object();
    for (const auto& [tag, content] : objects) {
        os[hex_key(tag, tag > 0xFFFF ? 6 : tag > 0xFF ? 4 : 2)] = to_hex(content);
    }
    j["objects"] = os;
    return j;
}

CardState CardState::from_json(const nlohmann::json& j) {
    try {
        if (j.value("format", "") != "tenderkey-vcard-1") {
            throw std::runtime_error("not a tenderkey-vcard state (format field)");
        }
        CardState s;
        s.serial = j.at("serial").get<std::uint32_t>();
        s.pin = reference_from_json(j, "pin");
        s.puk = reference_from_json(j, "puk");
        s.pin_tries_max = j.at("pin_tries_max").get<int>();
        s.pin_tries_left = j.at("pin_tries_left").get<int>();
        s.puk_tries_max = j.at("puk_tries_max").get<int>();
        s.puk_tries_left = j.at("puk_tries_left").get<int>();
        if (s.pin_tries_max < 1 || s.pin_tries_max > 15 || s.puk_tries_max < 1 ||
            s.puk_tries_max > 15 || s.pin_tries_left < 0 || s.pin_tries_left > s.pin_tries_max ||
            s.puk_tries_left < 0 || s.puk_tries_left > s.puk_tries_max) {
            throw std::runtime_error("retry counters out of range (1..15)");
        }
        const auto& mk = j.at("management_key");
        s.management_algorithm = mk.at("algorithm").get<std::uint8_t>();
        s.management_key = from_hex(mk.at("key").get<std::string>());
        if (!alg::is_symmetric(s.management_algorithm) ||
            s.management_key.size() != alg::symmetric_key_bytes(s.management_algorithm)) {
            throw std::runtime_error("management key does not match its algorithm");
        }
        for (const auto& [name, k] : j.at("keys").items()) {
            const std::uint32_t ref = parse_hex_key(name);
            if (ref > 0xFF || !slot::is_asymmetric(static_cast<std::uint8_t>(ref))) {
                throw std::runtime_error("bad key slot in state: " + name);
            }
            SlotKey key;
            key.key = pkey_from_pem(k.at("private_key").get<std::string>());
            key.algorithm = k.at("algorithm").get<std::uint8_t>();
            if (piv_algorithm_of(key.key.get()) != key.algorithm) {
                throw std::runtime_error("key in slot " + name + " does not match its algorithm");
            }
            key.pin_policy = policy_from_name(k.value("pin_policy", "once"));
            key.touch_policy = k.value("touch_policy", std::uint8_t{0});
            s.keys.emplace(static_cast<std::uint8_t>(ref), std::move(key));
        }
        for (const auto& [name, content] : j.at("objects").items()) {
            s.objects[parse_hex_key(name)] = from_hex(content.get<std::string>());
        }
        return s;
    } catch (const nlohmann::json::exception& e) {
        throw std::runtime_error(std::string("malformed card state: ") + e.what());
    } catch (const std::invalid_argument& e) {
        throw std::runtime_error(std::string("malformed card state: ") + e.what());
    }
}

CardState CardState::clone() const {
    CardState c;
    c.serial = serial;
    c.pin = pin;
    c.puk = puk;
    c.pin_tries_max = pin_tries_max;
    c.pin_tries_left = pin_tries_left;
    c.puk_tries_max = puk_tries_max;
    c.puk_tries_left = puk_tries_left;
    c.management_algorithm = management_algorithm;
    c.management_key = management_key;
    for (const auto& [ref, k] : keys) {
        c.keys.emplace(ref,
                       SlotKey{k.algorithm, share_pkey(k.key.get()), k.pin_policy, k.touch_policy});
    }
    c.objects = objects;
    return c;
}

void write_file_atomically(const std::filesystem::path& path, std::string_view text,
                           unsigned mode) {
    std::filesystem::path tmp = path;
    tmp += ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        throw std::runtime_error("cannot create " + tmp.string() + ": " + std::strerror(errno));
    }
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            const int err = errno;
            ::close(fd);
            throw std::runtime_error("cannot write " + tmp.string() + ": " + std::strerror(err));
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        throw std::runtime_error("cannot flush " + tmp.string() + ": " + std::strerror(errno));
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        throw std::runtime_error("cannot rename " + tmp.string() + ": " + std::strerror(errno));
    }
}

void CardState::save(const std::filesystem::path& path) const {
    std::string text = to_json().dump(2);
    text.push_back('\n');
    write_file_atomically(path, text, 0600);
    OPENSSL_cleanse(text.data(), text.size());
}

CardState CardState::load(const std::filesystem::path& path) {
    std::ifstream in(path);
    if (!in) {
        throw std::runtime_error("cannot read card state " + path.string());
    }
    std::stringstream buf;
    buf << in.rdbuf();
    std::string text = buf.str();
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    OPENSSL_cleanse(text.data(), text.size());
    if (j.is_discarded()) {
        throw std::runtime_error("card state " + path.string() + " is not valid JSON");
    }
    return from_json(j);
}

}  // namespace tk::vcard
