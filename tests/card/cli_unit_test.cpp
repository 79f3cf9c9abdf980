// The parts of the `tenderkey` CLI that need no card: the command line, certificate ids, and
// the mapping of every error to the exit status and reason docs/cli.md promises.

#include <gtest/gtest.h>

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "card/errors.hpp"
#include "card/session/readers.hpp"
#include "cli/card_selection.hpp"
#include "cli/command_line.hpp"
#include "cli/exit_status.hpp"
#include "cli/secret_input.hpp"
#include "pcsc/errors.hpp"

namespace tk::cli {
namespace {

CommandLine parse(std::vector<std::string> args) {
    args.insert(args.begin(), "tenderkey");
    std::vector<const char*> argv;
    argv.reserve(args.size());
    for (const std::string& a : args) {
        argv.push_back(a.c_str());
    }
    return parseCommandLine(static_cast<int>(argv.size()), argv.data());
}

template <class Exception>
Failure failureOf(const Exception& e) {
    return describeFailure(std::make_exception_ptr(e));
}

TEST(CliCommandLine, WordsOptionsAndFlags_InAnyOrder) {
    const CommandLine line =
        parse({"--json", "sign", "--cert=9c", "--in", "a b", "--pss", "--out", "sig", "--dev"});
    EXPECT_EQ(line.words, (std::vector<std::string>{"sign"}));
    EXPECT_EQ(line.value("cert"), "9c");
    EXPECT_EQ(line.value("in"), "a b");
    EXPECT_EQ(line.required("out"), "sig");
    EXPECT_TRUE(line.has("json"));
    EXPECT_TRUE(line.has("pss"));
    EXPECT_TRUE(line.has("dev"));
    EXPECT_FALSE(line.has("oaep"));
    EXPECT_THROW((void)line.required("peer"), UsageError);
    ASSERT_NE(findCommand(line.words), nullptr);
    EXPECT_NO_THROW(checkOptions(*findCommand(line.words), line));
}

TEST(CliCommandLine, UnknownRepeatedOrIncompleteOptions_AreUsageErrors) {
    EXPECT_THROW(parse({"certs", "--frobnicate"}), UsageError);
    EXPECT_THROW(parse({"certs", "-x"}), UsageError);
    EXPECT_THROW(parse({"sign", "--cert"}), UsageError);
    EXPECT_THROW(parse({"sign", "--cert", "9a", "--cert", "9c"}), UsageError);
    EXPECT_THROW(parse({"certs", "--json=yes"}), UsageError);
    EXPECT_EQ(parse({"-h"}).flags.count("help"), 1U);
}

TEST(CliCommandLine, OptionOfAnotherCommandOrExtraWord_IsUsageError) {
    const CommandLine oaep = parse({"pin", "status", "--oaep"});
    ASSERT_NE(findCommand(oaep.words), nullptr);
    EXPECT_THROW(checkOptions(*findCommand(oaep.words), oaep), UsageError);
    const CommandLine extra = parse({"pin", "status", "now"});
    EXPECT_THROW(checkOptions(*findCommand(extra.words), extra), UsageError);
    EXPECT_EQ(findCommand(parse({"pin"}).words), nullptr);
    EXPECT_EQ(findCommand(parse({"pin", "reset"}).words), nullptr);
    EXPECT_THROW(commandHelp({"frobnicate"}), UsageError);
}

TEST(CliCommandLine, EveryCommandHasHelpNamingItsOptions) {
    for (const CommandSpec& spec : commandSpecs()) {
        std::vector<std::string> words{std::string(spec.command)};
        if (!spec.subcommand.empty()) {
            words.emplace_back(spec.subcommand);
        }
        const std::string help = commandHelp(words);
        EXPECT_NE(help.find("Usage: tenderkey " + std::string(spec.synopsis)), std::string::npos);
        for (const auto option : spec.options) {
            EXPECT_NE(help.find("--" + std::string(option)), std::string::npos)
                << spec.command << " " << spec.subcommand << ": " << option;
        }
        EXPECT_NE(generalHelp().find(std::string(spec.synopsis)), std::string::npos);
    }
}

TEST(CliCertificateId, CardIdAndSlotOrSlotAlone) {
    const CertificateId full = parseCertificateId("30C8F1D8F1A2146191A7:9C");
    EXPECT_EQ(full.cardId, "30c8f1d8f1a2146191a7");
    EXPECT_EQ(full.slot, "9c");
    const CertificateId slot = parseCertificateId("82");
    EXPECT_FALSE(slot.cardId);
    EXPECT_EQ(slot.slot, "82");
    for (const std::string bad : {"", "9", "9cc", "xx", ":9c", "abc:9z", "ab-c:9c"}) {
        EXPECT_THROW(parseCertificateId(bad), UsageError) << "'" << bad << "'";
    }
}

TEST(CliExitStatus, EveryErrorMapsToItsDocumentedStatusAndReason) {
    struct Case {
        Failure failure;
        ExitStatus status;
        std::string reason;
    };
    const std::vector<Case> cases = {
        {failureOf(UsageError("x")), ExitStatus::Usage, "USAGE"},
        {failureOf(NoCardFound("x")), ExitStatus::NoCard, "NO_CARD"},
        {failureOf(pcsc::NoCard(0x8010000C, "SCardConnect")), ExitStatus::NoCard, "NO_CARD"},
        {failureOf(pcsc::UnknownReader(0x80100009, "SCardConnect")), ExitStatus::NoCard,
         "NO_READER"},
        {failureOf(card::ReaderNotFound("Virtual PCD 00 00", true)), ExitStatus::NoCard,
         "NO_READER"},
        {failureOf(card::PinIncorrect(2)), ExitStatus::PinIncorrect, "PIN_INCORRECT"},
        {failureOf(card::PukIncorrect(1)), ExitStatus::PinIncorrect, "PUK_INCORRECT"},
        {failureOf(card::PinBlocked()), ExitStatus::PinBlocked, "PIN_BLOCKED"},
        {failureOf(card::PukBlocked()), ExitStatus::PinBlocked, "PUK_BLOCKED"},
        {failureOf(card::PinFormat(card::Credential::Pin)), ExitStatus::PinFormat, "PIN_FORMAT"},
        {failureOf(SecretMismatch("x")), ExitStatus::PinFormat, "PIN_MISMATCH"},
        {failureOf(card::CardError(0x6A80, "VERIFY")), ExitStatus::CardError, "CARD_ERROR"},
        {failureOf(card::MalformedData("x")), ExitStatus::CardError, "CARD_ERROR"},
        {failureOf(card::UnsupportedCard("x")), ExitStatus::CardError, "UNSUPPORTED_CARD"},
        {failureOf(pcsc::ServiceNotRunning(0x8010001D, "SCardEstablishContext")),
         ExitStatus::ServiceUnavailable, "SERVICE_UNAVAILABLE"},
        {failureOf(pcsc::InvalidHandle(0x80100003, "SCardTransmit")),
         ExitStatus::ServiceUnavailable, "SERVICE_UNAVAILABLE"},
        {failureOf(pcsc::CardRemoved(0x80100069, "SCardTransmit")), ExitStatus::CardRemoved,
         "CARD_REMOVED"},
        {failureOf(pcsc::CardReset(0x80100068, "SCardBeginTransaction")), ExitStatus::CardRemoved,
         "CARD_REMOVED"},
        {failureOf(card::PinLastAttempt(card::Credential::Pin)), ExitStatus::PinLastAttempt,
         "PIN_LAST_ATTEMPT"},
        {failureOf(card::PinRequired(card::Credential::Pin)), ExitStatus::PinRequired,
         "PIN_REQUIRED"},
        {failureOf(NoSecretSource("x")), ExitStatus::PinRequired, "PIN_REQUIRED"},
        {failureOf(card::PinpadCancelled()), ExitStatus::PinRequired, "PINPAD_CANCELLED"},
        {failureOf(card::PinpadTimeout()), ExitStatus::PinRequired, "PINPAD_TIMEOUT"},
        {failureOf(card::KeyNotFound("x")), ExitStatus::KeyUnusable, "CERTIFICATE_NOT_FOUND"},
        {failureOf(CertificateNotFound("x")), ExitStatus::KeyUnusable, "CERTIFICATE_NOT_FOUND"},
        {failureOf(card::UnsupportedAlgorithm("x")), ExitStatus::KeyUnusable,
         "UNSUPPORTED_ALGORITHM"},
        {failureOf(card::DecryptFailed("x")), ExitStatus::DecryptFailed, "DECRYPT_FAILED"},
        {failureOf(FileError("x")), ExitStatus::FileError, "FILE_ERROR"},
        {failureOf(pcsc::SharingViolation(0x8010000B, "SCardConnect")), ExitStatus::CardInUse,
         "CARD_IN_USE"},
        {failureOf(std::logic_error("x")), ExitStatus::Internal, "INTERNAL"},
    };
    for (const Case& c : cases) {
        EXPECT_EQ(c.failure.status, c.status) << c.reason << ": " << c.failure.message;
        EXPECT_EQ(c.failure.reason, c.reason) << c.failure.message;
        EXPECT_FALSE(c.failure.message.empty()) << c.reason;
        EXPECT_EQ(c.failure.message.find('\n'), std::string::npos) << c.reason;
    }
    // The documented numbers themselves.
    EXPECT_EQ(static_cast<int>(ExitStatus::Usage), 1);
    EXPECT_EQ(static_cast<int>(ExitStatus::NoCard), 2);
    EXPECT_EQ(static_cast<int>(ExitStatus::PinIncorrect), 3);
    EXPECT_EQ(static_cast<int>(ExitStatus::PinBlocked), 4);
    EXPECT_EQ(static_cast<int>(ExitStatus::PinFormat), 5);
    EXPECT_EQ(static_cast<int>(ExitStatus::CardError), 6);
    EXPECT_EQ(static_cast<int>(ExitStatus::ServiceUnavailable), 7);
    EXPECT_EQ(static_cast<int>(ExitStatus::CardRemoved), 8);
    EXPECT_EQ(static_cast<int>(ExitStatus::PinLastAttempt), 9);
    EXPECT_EQ(static_cast<int>(ExitStatus::PinRequired), 10);
    EXPECT_EQ(static_cast<int>(ExitStatus::KeyUnusable), 11);
    EXPECT_EQ(static_cast<int>(ExitStatus::DecryptFailed), 12);
    EXPECT_EQ(static_cast<int>(ExitStatus::FileError), 13);
    EXPECT_EQ(static_cast<int>(ExitStatus::CardInUse), 14);
    EXPECT_EQ(static_cast<int>(ExitStatus::Internal), 70);
}

TEST(CliExitStatus, WrongPin_MessageAndRetriesLeft) {
    const Failure two = failureOf(card::PinIncorrect(2));
    EXPECT_EQ(two.message, "wrong PIN, 2 tries left");
    EXPECT_EQ(two.retriesLeft, 2);
    EXPECT_EQ(failureOf(card::PinIncorrect(1)).message, "wrong PIN, 1 try left");
    EXPECT_EQ(failureOf(card::PinBlocked()).retriesLeft, 0);
    EXPECT_EQ(failureOf(card::PinLastAttempt(card::Credential::Puk)).retriesLeft, 1);
}

// A PIN given in the environment is taken once and then gone from it (the console seam drops the
// variable), so a process the tool starts later cannot inherit it.
TEST(CliSecretInput, EnvironmentPin_ReadThenDroppedFromTheEnvironment) {
    ASSERT_EQ(::setenv("TENDERKEY_PIN", "123456", 1), 0);
    const auto pin = secretFromFileOrEnvironment(parse({"pin", "verify"}), Secret::Pin);
    ASSERT_TRUE(pin.has_value());
    EXPECT_EQ(std::string(pin->begin(), pin->end()), "123456");
    EXPECT_EQ(std::getenv("TENDERKEY_PIN"), nullptr);
    EXPECT_FALSE(secretFromFileOrEnvironment(parse({"pin", "verify"}), Secret::Pin).has_value());
}

}  // namespace
}  // namespace tk::cli
