#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "apdu.hpp"
#include "bytes.hpp"
#include "card_state.hpp"
#include "tlv.hpp"

namespace tk::vcard {

// The PIV card application (SP 800-73-4 card edge plus the Yubico extensions that host
// tools rely on). Takes command APDUs, returns response APDUs; knows nothing of sockets.
class PivCard {
  public:
    // Called after every change to persistent state (retry counters, PINs, keys, objects).
    using Persist = std::function<void(const CardState&)>;

    static constexpr std::uint8_t kVersion[3] = {5, 4, 3};
    static constexpr std::size_t kMaxObjectBytes = 16384;
    static constexpr std::size_t kMaxChainedBytes = 65536;

    PivCard(CardState& state, Persist persist);

    // 3B 80 01 81: T=1 only, no historical bytes (see README for why not 3B 80 80 01 01).
    static ByteView atr();

    // Power-up, power-down and warm reset all drop the volatile state: selection,
    // PIN and management-key authentication, chaining, pending response data.
    void power_on() { clear_volatile(); }
    void power_off() { clear_volatile(); }
    void reset() { clear_volatile(); }

    // One command APDU in, one response APDU (data || SW1 SW2) out; never empty.
    Bytes transmit(ByteView command);

    bool application_selected() const { return selected_; }
    bool pin_verified() const { return pin_verified_; }
    bool management_authenticated() const { return management_authenticated_; }
    const CardState& state() const { return state_; }

  private:
    struct Reply {
        Bytes data;
        std::uint16_t sw = sw::kOk;
    };
    struct Chain {
        Chain(std::uint8_t i, std::uint8_t a, std::uint8_t b) : ins(i), p1(a), p2(b) {}
        std::uint8_t ins;
        std::uint8_t p1;
        std::uint8_t p2;
        SecretBytes data;
    };

    void clear_volatile();
    void persist();
    Bytes finish(Reply reply, bool extended);
    Bytes get_response(const CommandApdu& c);
    Reply dispatch(const CommandApdu& c, bool pin_always_armed);

    Reply select(const CommandApdu& c);
    Reply verify(const CommandApdu& c);
    Reply change_reference_data(const CommandApdu& c);
    Reply reset_retry_counter(const CommandApdu& c);
    Reply get_data(const CommandApdu& c);
    Reply put_data(const CommandApdu& c);
    Reply general_authenticate(const CommandApdu& c, bool pin_always_armed);
    Reply management_authenticate(std::uint8_t algorithm, const std::vector<Tlv>& items);
    Reply generate(const CommandApdu& c);
    Reply import_key(const CommandApdu& c);
    Reply set_management_key(const CommandApdu& c);

    // Checks a candidate against PIN or PUK reference data, maintaining the counter.
    Reply check_reference(ByteView candidate, bool is_puk);

    CardState& state_;
    Persist persist_;

    bool selected_ = false;
    bool pin_verified_ = false;
    bool management_authenticated_ = false;
    bool pin_always_armed_ = false;  // the previous command was a successful VERIFY
    std::optional<Chain> chain_;
    Bytes pending_;  // response bytes still to be fetched with GET RESPONSE
    Bytes management_witness_;
    Bytes management_challenge_;
};

}  // namespace tk::vcard
