#include "pcsc/errors.hpp"

#include <gtest/gtest.h>
#include <winscard.h>

#include <cstdint>
#include <string>
#include <typeinfo>

namespace tk::pcsc {
namespace {

std::uint32_t u32(LONG code) {
    return static_cast<std::uint32_t>(code);
}

// Throws through the mapping and returns what came out, so a test can check the exact type.
template <typename Expected>
void expectMapsTo(LONG code, const char* function) {
    try {
        throwError(u32(code), function);
        FAIL() << "no exception for " << std::hex << u32(code);
    } catch (const Error& e) {
        EXPECT_EQ(typeid(e), typeid(Expected))
            << "code 0x" << std::hex << u32(code) << " became " << typeid(e).name();
        EXPECT_EQ(e.code(), u32(code));
        EXPECT_EQ(e.function(), function);
        EXPECT_NE(std::string(e.what()).find(function), std::string::npos) << e.what();
    }
}

TEST(ErrorMapping, ServiceCodes_ThrowServiceNotRunning) {
    expectMapsTo<ServiceNotRunning>(SCARD_E_NO_SERVICE, "SCardEstablishContext");
    expectMapsTo<ServiceNotRunning>(SCARD_E_SERVICE_STOPPED, "SCardListReaders");
    // pcsc-lite reports a connection to pcscd that broke mid-call this way.
    expectMapsTo<ServiceNotRunning>(SCARD_F_COMM_ERROR, "SCardGetStatusChange");
}

TEST(ErrorMapping, InvalidHandle_ThrowsInvalidHandle) {
    expectMapsTo<InvalidHandle>(SCARD_E_INVALID_HANDLE, "SCardTransmit");
}

TEST(ErrorMapping, ReaderCodes_ThrowReaderErrors) {
    expectMapsTo<NoReaders>(SCARD_E_NO_READERS_AVAILABLE, "SCardListReaders");
    expectMapsTo<ReaderUnavailable>(SCARD_E_READER_UNAVAILABLE, "SCardConnect");
    expectMapsTo<UnknownReader>(SCARD_E_UNKNOWN_READER, "SCardGetStatusChange");
}

TEST(ErrorMapping, CardStateCodes_ThrowCardErrors) {
    expectMapsTo<NoCard>(SCARD_E_NO_SMARTCARD, "SCardConnect");
    expectMapsTo<CardRemoved>(SCARD_W_REMOVED_CARD, "SCardTransmit");
    expectMapsTo<CardReset>(SCARD_W_RESET_CARD, "SCardBeginTransaction");
    expectMapsTo<CardReset>(SCARD_W_UNPOWERED_CARD, "SCardTransmit");
    expectMapsTo<UnresponsiveCard>(SCARD_W_UNRESPONSIVE_CARD, "SCardConnect");
    expectMapsTo<UnresponsiveCard>(SCARD_W_UNSUPPORTED_CARD, "SCardConnect");
}

TEST(ErrorMapping, AccessCodes_ThrowSharingAndTransactionErrors) {
    expectMapsTo<SharingViolation>(SCARD_E_SHARING_VIOLATION, "SCardConnect");
    expectMapsTo<TransactionFailed>(SCARD_E_NOT_TRANSACTED, "SCardEndTransaction");
}

TEST(ErrorMapping, WaitCodes_ThrowCancelledAndTimeout) {
    expectMapsTo<Cancelled>(SCARD_E_CANCELLED, "SCardGetStatusChange");
    expectMapsTo<Cancelled>(SCARD_E_SYSTEM_CANCELLED, "SCardGetStatusChange");
    expectMapsTo<Timeout>(SCARD_E_TIMEOUT, "SCardGetStatusChange");
}

TEST(ErrorMapping, ProtocolAndBufferCodes_ThrowTheirErrors) {
    expectMapsTo<ProtocolMismatch>(SCARD_E_PROTO_MISMATCH, "SCardConnect");
    expectMapsTo<InsufficientBuffer>(SCARD_E_INSUFFICIENT_BUFFER, "SCardTransmit");
    expectMapsTo<InsufficientBuffer>(SCARD_E_PCI_TOO_SMALL, "SCardTransmit");
}

TEST(ErrorMapping, UnsupportedFeature_ThrowsUnsupportedForBothSpellings) {
    expectMapsTo<Unsupported>(SCARD_E_UNSUPPORTED_FEATURE, "SCardControl");
    // The Windows value of SCARD_E_UNSUPPORTED_FEATURE.
    expectMapsTo<Unsupported>(static_cast<LONG>(0x80100022), "SCardControl");
    expectMapsTo<Unsupported>(SCARD_E_READER_UNSUPPORTED, "SCardConnect");
}

TEST(ErrorMapping, OtherCodes_ThrowPlainErrorWithCode) {
    expectMapsTo<Error>(SCARD_E_NO_MEMORY, "SCardTransmit");
    expectMapsTo<Error>(SCARD_F_INTERNAL_ERROR, "SCardConnect");
    expectMapsTo<Error>(static_cast<LONG>(0x12345678), "SCardStatus");
}

TEST(ErrorMapping, Message_NamesFunctionReasonAndHexCode) {
    try {
        throwError(u32(SCARD_W_REMOVED_CARD), "SCardTransmit");
        FAIL();
    } catch (const CardRemoved& e) {
        EXPECT_STREQ(e.what(), "SCardTransmit: the card was removed (0x80100069)");
    }
}

TEST(ErrorMapping, TypedErrors_AreCaughtAsError) {
    EXPECT_THROW(throwError(u32(SCARD_W_RESET_CARD), "SCardTransmit"), Error);
    EXPECT_THROW(throwError(u32(SCARD_E_NO_SERVICE), "SCardEstablishContext"), std::runtime_error);
}

}  // namespace
}  // namespace tk::pcsc
