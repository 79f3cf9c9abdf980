// PIV response parsing (daemon/card/piv) on hostile card answers: the certificate object
// container, the CHUID, and PivToken reading the card (SELECT, CHUID, key history, certificate
// objects, PIN status, a 9E signature) from a card whose every response comes from the input.
//
// Input: responses one after another, each as a 2-byte big-endian length and that many bytes
// (data then SW1 SW2). Once the input is used up the card answers 6A82 (not found).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <span>
#include <vector>

#include "card/errors.hpp"
#include "card/piv/card_identity.hpp"
#include "card/piv/certificate_object.hpp"
#include "card/piv/piv_token.hpp"
#include "crypto/errors.hpp"
#include "pcsc/card_channel.hpp"

namespace {

using tk::card::Bytes;
using tk::card::ByteView;

// A broken expectation: says which one, then aborts (libFuzzer keeps the input as a crash).
void check(bool ok, int line = __builtin_LINE()) {
    if (!ok) {
        std::fprintf(stderr, "%s:%d: expectation failed\n", __FILE__, line);
        std::abort();
    }
}

class ScriptedCard final : public tk::pcsc::CardChannel {
  public:
    explicit ScriptedCard(ByteView script) : script_(script) {}

    Bytes transmitSecret(std::span<const std::uint8_t> command) override {
        return transmit(command);
    }

    Bytes transmit(std::span<const std::uint8_t> command) override {
        check(command.size() >= 4);  // every command APDU has a header
        if (script_.size() < 2) {
            return {0x6A, 0x82};
        }
        std::size_t length = (std::size_t{script_[0]} << 8) | script_[1];
        script_ = script_.subspan(2);
        length = std::min(length, script_.size());
        Bytes response(script_.begin(), script_.begin() + std::ptrdiff_t(length));
        script_ = script_.subspan(length);
        return response;
    }
    std::optional<std::uint32_t> featureControlCode(std::uint8_t) override { return std::nullopt; }
    Bytes control(std::uint32_t, std::span<const std::uint8_t>) override { return {}; }
    Bytes atr() const override { return {0x3B, 0x88, 0x80, 0x01}; }

  private:
    ByteView script_;
};

template <typename F>
void expectCardErrors(F&& f) {
    try {
        f();
    } catch (const tk::card::Error&) {
    } catch (const tk::crypto::Error&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const ByteView input(data, size);

    expectCardErrors([&] {
        if (const auto der = tk::card::piv::certificateFromContainer(input)) {
            check(!der->empty() && der->size() <= tk::card::piv::kMaxCertificateSize);
        }
    });
    const auto chuid = tk::card::piv::parseChuid(input);
    check(!chuid.fascn || chuid.fascn->size() == 25);
    check(!chuid.guid || chuid.guid->size() == 16);

    ScriptedCard card(input);
    tk::card::PivToken token(card);
    expectCardErrors([&] {
        const std::string& id = token.cardId();
        check(id.size() == 20);
        for (const auto& entry : token.certificates()) {
            (void)entry;
        }
    });
    expectCardErrors([&] { (void)token.pinStatus(); });
    expectCardErrors([&] {
        tk::card::SignRequest request;
        request.slot = "9e";
        request.scheme = tk::card::SignatureScheme::Ecdsa;
        request.hash = tk::card::HashAlgorithm::Sha256;
        request.digest.assign(32, 0x5A);
        (void)token.sign(request);
    });
    return 0;
}
