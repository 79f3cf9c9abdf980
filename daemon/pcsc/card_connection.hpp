#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "pcsc/card_channel.hpp"
#include "pcsc/context.hpp"
#include "pcsc/disposition.hpp"
#include "pcsc/features.hpp"

namespace tk::pcsc {

enum class Protocol : std::uint8_t {
    T0,
    T1,
    Raw,
};

// One shared connection to the card in one reader (SCardConnect with SCARD_SHARE_SHARED,
// T=0 or T=1, whichever pcscd negotiates; it prefers T=1).
//
// Shared, because other applications (the user's browser PKCS#11 module, a tool of the card
// issuer) use the same card; exclusivity for a sequence of APDUs comes from a Transaction.
// Not thread-safe: one connection belongs to one strand of work at a time.
// Nothing here logs: commands and responses carry PINs and decrypted data.
class CardConnection final : public CardChannel {
  public:
    // Throws NoCard, SharingViolation, UnknownReader, ServiceNotRunning, ...
    CardConnection(std::shared_ptr<const Context> context, std::string reader);
    // Disconnects with disconnectDisposition(), unless disconnect() already did.
    ~CardConnection() noexcept override;
    CardConnection(const CardConnection&) = delete;
    CardConnection& operator=(const CardConnection&) = delete;
    CardConnection(CardConnection&&) = delete;
    CardConnection& operator=(CardConnection&&) = delete;

    Bytes transmit(std::span<const std::uint8_t> command) override;
    Bytes transmitSecret(std::span<const std::uint8_t> command) override;
    // Asks the reader once (CM_IOCTL_GET_FEATURE_REQUEST) and remembers the answer for the
    // life of this connection. A reader that does not support the request has no features.
    std::optional<std::uint32_t> featureControlCode(std::uint8_t feature) override;
    Bytes control(std::uint32_t code, std::span<const std::uint8_t> input) override;
    // Asks pcscd (SCardStatus), so a removed or reset card shows up here as an exception.
    Bytes atr() const override;

    // Makes the handle usable again after CardReset (another application reset the card):
    // card-side state is gone, so the caller re-selects its application afterwards.
    // `initialization` Reset also resets the card now.
    void reconnect(Disposition initialization = Disposition::Leave);

    // What disconnecting does to the card. Leave (the default) keeps it as other applications
    // expect; Reset when the card must not stay PIN-verified after we let go of it.
    void setDisconnectDisposition(Disposition disposition) noexcept { disposition_ = disposition; }
    Disposition disconnectDisposition() const noexcept { return disposition_; }

    // Disconnects now and reports a failure (for example a reset that did not happen), which
    // the destructor cannot. Afterwards every call throws InvalidHandle.
    void disconnect();

    const std::string& reader() const noexcept { return reader_; }
    Protocol protocol() const noexcept { return protocol_; }
    // The SCARDHANDLE, for the classes of this layer (Transaction).
    std::uintptr_t handle() const noexcept { return card_; }

  private:
    Bytes transmitRaw(std::span<const std::uint8_t> command);

    std::shared_ptr<const Context> context_;
    std::string reader_;
    std::uintptr_t card_ = 0;
    Protocol protocol_ = Protocol::T1;
    Disposition disposition_ = Disposition::Leave;
    std::optional<FeatureMap> features_;
    Bytes receiveBuffer_;
};

}  // namespace tk::pcsc
