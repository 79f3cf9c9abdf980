#include "service/error_mapping.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <random>

#include "card/errors.hpp"
#include "card/session/readers.hpp"
#include "crypto/errors.hpp"
#include "pcsc/errors.hpp"
#include "service/api_failure.hpp"
#include "service/client_text.hpp"
#include "service/reasons.hpp"

namespace tk::service {
namespace {

std::string swHex(std::uint16_t sw) {
    char text[5];
    std::snprintf(text, sizeof text, "%04x", static_cast<unsigned>(sw));
    return text;
}

ApiError internal(std::string_view method, std::string_view what) {
    const std::string id = newCorrelationId();
    spdlog::error("INTERNAL error in {} (correlation id {}): {}", clientText(method), id, what);
    return makeError(Reason::Internal, {}, {{"correlationId", id}});
}

nlohmann::json outcome(bool reachedCard) {
    return {{"outcome", reachedCard ? "unknown" : "none"}};
}

// SCARD_E_COMM_DATA_LOST: the card is still there (the session checked) but its answer was
// cut short or unreadable. The card misbehaved, the daemon did not.
bool communicationFailure(const pcsc::Error& e) {
    return e.code() == 0x8010002Fu;
}

}  // namespace

std::string newCorrelationId() {
    static thread_local std::mt19937_64 generator{std::random_device{}()};
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(generator()));
    return text;
}

ApiError errorFromException(const std::exception_ptr& error, bool reachedCard,
                            std::string_view method) {
    try {
        std::rethrow_exception(error);
    } catch (const ApiFailure& e) {
        return e.error();
    } catch (const CardSwapped& e) {
        return makeError(Reason::CardRemoved, e.what(), outcome(false));
    } catch (const JobAbandoned& e) {
        return makeError(Reason::Timeout, e.what(), outcome(reachedCard));
    }
    // ---- card layer: one reason per class
    catch (const card::PinFormat& e) {
        return makeError(Reason::PinFormat, e.what(),
                         {{"field", e.credential() == card::Credential::Pin ? "pin" : "puk"}});
    } catch (const card::PinRequired& e) {
        return makeError(Reason::PinRequired, e.what());
    } catch (const card::PinLastAttempt& e) {
        return makeError(Reason::PinLastAttempt, e.what(), {{"retriesLeft", e.retriesLeft()}});
    } catch (const card::PinIncorrect& e) {
        return makeError(Reason::PinIncorrect, {}, {{"retriesLeft", e.retriesLeft()}});
    } catch (const card::PinBlocked&) {
        return makeError(Reason::PinBlocked, {}, {{"retriesLeft", 0}});
    } catch (const card::PukIncorrect& e) {
        return makeError(Reason::PukIncorrect, {}, {{"retriesLeft", e.retriesLeft()}});
    } catch (const card::PukBlocked&) {
        return makeError(Reason::PukBlocked, {}, {{"retriesLeft", 0}});
    } catch (const card::PinpadCancelled&) {
        return makeError(Reason::PinpadCancelled);
    } catch (const card::PinpadTimeout&) {
        return makeError(Reason::PinpadTimeout);
    } catch (const card::CardError& e) {
        return makeError(Reason::CardError, e.what(), {{"sw", swHex(e.sw())}});
    } catch (const card::MalformedData& e) {
        // The card said 90 00 but its data is unusable (or a signature did not verify): the
        // status word was fine, the answer was not.
        spdlog::warn("{}: unusable answer from the card: {}", clientText(method), e.what());
        return makeError(Reason::CardError, e.what(), {{"sw", "9000"}});
    } catch (const card::UnsupportedCard& e) {
        return makeError(Reason::UnsupportedCard, e.what());
    } catch (const card::KeyNotFound& e) {
        return makeError(Reason::CertificateNotFound, e.what());
    } catch (const card::UnsupportedAlgorithm& e) {
        return makeError(Reason::UnsupportedAlgorithm, e.what());
    } catch (const card::InvalidInput& e) {
        return makeError(Reason::InvalidParams, e.what());
    } catch (const card::DecryptFailed&) {
        return makeError(Reason::DecryptFailed);
    } catch (const card::ReaderNotFound& e) {
        return makeError(Reason::CardRemoved, e.what(), outcome(reachedCard));
    } catch (const card::Error& e) {
        return internal(method, e.what());
    }
    // ---- PC/SC
    catch (const pcsc::ServiceNotRunning& e) {
        return makeError(Reason::ServiceUnavailable, e.what());
    } catch (const pcsc::InvalidHandle& e) {
        return makeError(Reason::ServiceUnavailable, e.what());
    } catch (const pcsc::CardRemoved& e) {
        return makeError(Reason::CardRemoved, e.what(), outcome(reachedCard));
    } catch (const pcsc::CardReset& e) {
        return makeError(Reason::CardRemoved, e.what(), outcome(reachedCard));
    } catch (const pcsc::NoCard& e) {
        return makeError(Reason::CardRemoved, e.what(), outcome(reachedCard));
    } catch (const pcsc::UnknownReader& e) {
        return makeError(Reason::CardRemoved, e.what(), outcome(reachedCard));
    } catch (const pcsc::ReaderUnavailable& e) {
        return makeError(Reason::CardRemoved, e.what(), outcome(reachedCard));
    } catch (const pcsc::ProtocolMismatch& e) {
        // Seen after another application reset the card: the session reconnects next time.
        return makeError(Reason::CardRemoved, e.what(), outcome(reachedCard));
    } catch (const pcsc::UnresponsiveCard& e) {
        return makeError(Reason::UnsupportedCard, e.what());
    } catch (const pcsc::Error& e) {
        if (communicationFailure(e)) {
            // No status word arrived: "0000" is none that ISO 7816 defines.
            spdlog::warn("{}: unusable answer from the card: {}", clientText(method), e.what());
            return makeError(Reason::CardError, e.what(), {{"sw", "0000"}});
        }
        return internal(method, std::string(e.what()) + " (" + e.function() + ")");
    }
    // ---- anything else is a defect
    catch (const crypto::Error& e) {
        return internal(method, e.what());
    } catch (const std::exception& e) {
        return internal(method, e.what());
    } catch (...) {
        return internal(method, "unknown exception");
    }
}

}  // namespace tk::service
