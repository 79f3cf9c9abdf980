// The `tenderkey` binary against the real stack (tests/harness/with-cards): what an
// administrator or a script sees. Outputs are parsed with nlohmann::json, signatures verified
// with the `openssl` command, exit statuses compared with docs/cli.md.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <string>

#include <nlohmann/json.hpp>

#include "support/harness.hpp"
#include "support/openssl_checks.hpp"
#include "support/process.hpp"

namespace tk::test {
namespace {

using nlohmann::json;

// Exit statuses of docs/cli.md.
constexpr int kOk = 0;
constexpr int kUsage = 1;
constexpr int kNoCard = 2;
constexpr int kPinIncorrect = 3;
constexpr int kPinBlocked = 4;
constexpr int kPinFormat = 5;
constexpr int kServiceUnavailable = 7;
constexpr int kPinLastAttempt = 9;
constexpr int kPinRequired = 10;
constexpr int kKeyUnusable = 11;

std::string describe(const ProcessResult& r) {
    return "exit " + std::to_string(r.exitCode) + "\n--- stdout\n" + r.out + "--- stderr\n" + r.err;
}

json parse(const ProcessResult& r) {
    try {
        return json::parse(r.out);
    } catch (const json::exception& e) {
        ADD_FAILURE() << "not JSON: " << e.what() << "\n" << describe(r);
        return json::object();
    }
}

std::size_t lineCount(const std::string& text) {
    return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

// `openssl ARGS...` must succeed.
ProcessResult openssl(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"openssl"};
    argv.insert(argv.end(), args.begin(), args.end());
    ProcessResult r = runProcess(argv);
    EXPECT_EQ(r.exitCode, 0) << "openssl failed\n" << describe(r);
    return r;
}

class Cli : public ::testing::Test {
  protected:
    ApduLog log_{0};

    // PIN in a file, as a script would keep it.
    std::string pinFile(const std::string& value) {
        std::string path = scratchPath("pin-" + value);
        writeBytes(path, std::vector<unsigned char>(value.begin(), value.end()));
        return path;
    }

    // The certificate of `slot` as PEM, and its public key, through the CLI.
    std::string publicKeyOf(const std::string& slot) {
        const ProcessResult r = runTenderkey({"certs", "--cert", slot, "--pem"});
        EXPECT_EQ(r.exitCode, kOk) << describe(r);
        const std::string certPath = scratchPath(slot + ".pem");
        writeBytes(certPath, std::vector<unsigned char>(r.out.begin(), r.out.end()));
        std::string keyPath = scratchPath(slot + "-pub.pem");
        openssl({"x509", "-in", certPath, "-pubkey", "-noout", "-out", keyPath});
        return keyPath;
    }

    std::string cardId() {
        const json certs = parse(runTenderkey({"--json", "certs"}));
        return certs.at("certificates").at(0).at("cardId").get<std::string>();
    }
};

// ------------------------------------------------------------------------------ basics

TEST_F(Cli, VersionAndHelp_EveryCommandExplainsItself) {
    const ProcessResult version = runTenderkey({"--version"});
    EXPECT_EQ(version.exitCode, kOk);
    EXPECT_EQ(version.out.rfind("tenderkey ", 0), 0U) << version.out;
    EXPECT_EQ(parse(runTenderkey({"--json", "--version"})).at("version"),
              version.out.substr(10, version.out.size() - 11));
    const ProcessResult help = runTenderkey({"--help"});
    EXPECT_EQ(help.exitCode, kOk);
    for (const std::string command : {"readers", "certs", "pin status", "pin verify", "pin change",
                                      "pin unblock", "puk change", "sign", "decrypt", "derive"}) {
        EXPECT_NE(help.out.find("tenderkey " + command), std::string::npos) << command;
    }
    for (const std::vector<std::string>& args :
         std::vector<std::vector<std::string>>{{"sign", "--help"},
                                               {"pin", "--help"},
                                               {"help", "decrypt"},
                                               {"puk", "change", "-h"},
                                               {"certs", "--help"}}) {
        const ProcessResult r = runTenderkey(args);
        EXPECT_EQ(r.exitCode, kOk) << describe(r);
        EXPECT_NE(r.out.find("Usage: tenderkey"), std::string::npos) << describe(r);
    }
    EXPECT_NE(runTenderkey({"sign", "--help"}).out.find("--pss"), std::string::npos);
}

TEST_F(Cli, UsageErrors_ExitOneWithOneLineMessage) {
    const std::vector<std::vector<std::string>> wrong = {
        {},
        {"frobnicate"},
        {"pin"},
        {"pin", "status", "--oaep"},
        {"sign", "--in", "x", "--out", "y"},
        {"sign", "--cert", "9c", "--in"},
        {"sign", "--cert", "zz", "--in", "x", "--out", "y"},
        {"decrypt", "--cert", "9d", "--hash", "SHA-256", "--in", "x", "--out", "y"},
        {"readers", "extra"},
    };
    const std::size_t mark = log_.mark();
    for (const auto& args : wrong) {
        const ProcessResult r = runTenderkey(args);
        EXPECT_EQ(r.exitCode, kUsage) << describe(r);
        EXPECT_EQ(lineCount(r.err), 1U) << describe(r);
        EXPECT_EQ(r.err.rfind("tenderkey: ", 0), 0U) << describe(r);
    }
    const json error = parse(runTenderkey({"--json", "sign"}));
    EXPECT_EQ(error.at("error").at("reason"), "USAGE");
    EXPECT_EQ(error.at("error").at("exitCode"), kUsage);
    EXPECT_EQ(log_.apduCountSince(mark), 0U) << log_.describeSince(mark);
}

// ---------------------------------------------------------------------- readers and certs

TEST_F(Cli, Readers_WithoutDev_VirtualReadersHidden) {
    const ProcessResult text = runProcess({TK_TENDERKEY_BIN, "readers"});
    EXPECT_EQ(text.exitCode, kOk) << describe(text);
    EXPECT_EQ(text.out.find("Virtual PCD"), std::string::npos) << describe(text);
    EXPECT_NE(text.out.find("--dev"), std::string::npos) << describe(text);
    const ProcessResult json = runProcess({TK_TENDERKEY_BIN, "--json", "readers"});
    const auto document = parse(json);
    EXPECT_TRUE(document.at("readers").empty());
    EXPECT_EQ(document.at("hiddenReaders"), 2);
    const ProcessResult sign =
        runProcess({TK_TENDERKEY_BIN, "pin", "status", "--reader", readerName(0)});
    EXPECT_EQ(sign.exitCode, kNoCard) << describe(sign);
}

TEST_F(Cli, Readers_Json_CardIdAtrAndEmptySecondReader) {
    const ProcessResult r = runTenderkey({"--json", "readers"});
    ASSERT_EQ(r.exitCode, kOk) << describe(r);
    const json document = parse(r);
    const json& readers = document.at("readers");
    ASSERT_EQ(readers.size(), 2U) << r.out;
    EXPECT_EQ(readers[0].at("name"), readerName(0));
    EXPECT_EQ(readers[0].at("cardPresent"), true);
    EXPECT_EQ(readers[0].at("pinpad"), false);
    EXPECT_EQ(readers[0].at("card").at("type"), "piv");
    EXPECT_EQ(readers[0].at("card").at("atr"), "3b800181");
    EXPECT_EQ(readers[0].at("card").at("id"), cardId());
    EXPECT_EQ(readers[1].at("cardPresent"), false);
    EXPECT_TRUE(readers[1].at("card").is_null());
}

TEST_F(Cli, Certs_Json_FiveCertificatesWithUtf8SubjectsAndMatchingKeys) {
    const ProcessResult r = runTenderkey({"--json", "certs"});
    ASSERT_EQ(r.exitCode, kOk) << describe(r);
    const json document = parse(r);
    const json& certs = document.at("certificates");
    ASSERT_EQ(certs.size(), 5U) << r.out;
    const std::vector<std::pair<std::string, std::string>> expected = {{"9a", "RSA-2048"},
                                                                       {"9c", "RSA-2048"},
                                                                       {"9d", "RSA-2048"},
                                                                       {"9e", "EC-P256"},
                                                                       {"82", "EC-P384"}};
    for (std::size_t i = 0; i < expected.size(); ++i) {
        const json& c = certs[i];
        EXPECT_EQ(c.at("slot"), expected[i].first);
        EXPECT_EQ(c.at("keyAlgorithm"), expected[i].second);
        EXPECT_EQ(c.at("id"), c.at("cardId").get<std::string>() + ":" + expected[i].first);
        EXPECT_NE(c.at("subject").get<std::string>().find("O=國立臺灣大學"), std::string::npos)
            << c.at("subject");
        EXPECT_EQ(opensslKeyDescription(base64DecodeBytes(c.at("der"))), expected[i].second);
        EXPECT_GE(c.at("expiresInDays").get<int>(), 1800);
        // The certificate facts of certificates.list, e.g. the fingerprint OpenSSL computes.
        EXPECT_EQ(c.at("fingerprintSha256"),
                  card::toHex(
                      opensslDigest(card::HashAlgorithm::Sha256, base64DecodeBytes(c.at("der")))));
        EXPECT_EQ(c.at("subjectAttributes").at(0), json({{"type", "C"}, {"value", "TW"}}));
    }
    EXPECT_EQ(certs[0].at("clientAuth"), true);
    EXPECT_EQ(certs[1].at("pinPolicy"), "always");
    EXPECT_EQ(certs[3].at("pinPolicy"), "never");
    EXPECT_EQ(certs[2].at("keyUsage"), json::array({"keyEncipherment"}));
    // Text output names the same ids.
    const ProcessResult text = runTenderkey({"certs"});
    EXPECT_NE(text.out.find(certs[1].at("id").get<std::string>()), std::string::npos);
    EXPECT_NE(text.out.find("    sha-256  " + certs[1].at("fingerprintSha256").get<std::string>()),
              std::string::npos)
        << text.out;
}

// ----------------------------------------------------------------------------------- PIN

TEST_F(Cli, PinStatus_TextAndJson_UseNoTry) {
    const std::size_t mark = log_.mark();
    const ProcessResult text = runTenderkey({"pin", "status"});
    EXPECT_EQ(text.exitCode, kOk) << describe(text);
    EXPECT_EQ(text.out, "PIN: 3 tries left\n");
    const ProcessResult r = runTenderkey({"--json", "pin", "status"});
    const json document = parse(r);
    EXPECT_EQ(document.at("retriesLeft"), 3);
    EXPECT_EQ(document.at("blocked"), false);
    EXPECT_EQ(document.at("reader"), readerName(0));
    EXPECT_EQ(pinPresentations(log_.apdusSince(mark)), 0U) << log_.describeSince(mark);
    EXPECT_EQ(cardStatusField(0, "pin_tries"), "3");
}

TEST_F(Cli, WrongPin_ExitThreeWithTriesLeftThenLastTryAndBlock) {
    const ProcessResult first = runTenderkey({"pin", "verify"}, {{"TENDERKEY_PIN", "000000"}});
    EXPECT_EQ(first.exitCode, kPinIncorrect) << describe(first);
    EXPECT_EQ(first.err, "tenderkey: wrong PIN, 2 tries left\n");
    const ProcessResult second =
        runTenderkey({"--json", "pin", "verify", "--pin-file", pinFile("000000")});
    EXPECT_EQ(second.exitCode, kPinIncorrect) << describe(second);
    const json error = parse(second).at("error");
    EXPECT_EQ(error.at("reason"), "PIN_INCORRECT");
    EXPECT_EQ(error.at("retriesLeft"), 1);

    // One try left: refused without --last-attempt, and the card is not asked.
    const std::size_t mark = log_.mark();
    const ProcessResult refused = runTenderkey({"pin", "verify"}, {{"TENDERKEY_PIN", "123456"}});
    EXPECT_EQ(refused.exitCode, kPinLastAttempt) << describe(refused);
    EXPECT_EQ(pinPresentations(log_.apdusSince(mark)), 0U) << log_.describeSince(mark);

    const ProcessResult blocked =
        runTenderkey({"pin", "verify", "--last-attempt"}, {{"TENDERKEY_PIN", "000000"}});
    EXPECT_EQ(blocked.exitCode, kPinBlocked) << describe(blocked);
    EXPECT_NE(blocked.err.find("blocked"), std::string::npos);
    const json status = parse(runTenderkey({"--json", "pin", "status"}));
    EXPECT_EQ(status.at("blocked"), true);

    const ProcessResult unblock = runTenderkey(
        {"pin", "unblock"}, {{"TENDERKEY_PUK", "12345678"}, {"TENDERKEY_NEW_PIN", "112233"}});
    EXPECT_EQ(unblock.exitCode, kOk) << describe(unblock);
    EXPECT_EQ(runTenderkey({"pin", "verify", "--pin-file", pinFile("112233")}).exitCode, kOk);
}

TEST_F(Cli, PinFormat_ExitFiveAndTheCardIsNotAsked) {
    const std::size_t mark = log_.mark();
    const std::string data = scratchPath("data");
    writeBytes(data, randomBytes(10));
    for (const std::string bad : {"12345", "123456789", "12345a"}) {
        const ProcessResult verify = runTenderkey({"pin", "verify"}, {{"TENDERKEY_PIN", bad}});
        EXPECT_EQ(verify.exitCode, kPinFormat) << describe(verify);
        const ProcessResult sign =
            runTenderkey({"sign", "--cert", "9c", "--in", data, "--out", scratchPath("sig")},
                         {{"TENDERKEY_PIN", bad}});
        EXPECT_EQ(sign.exitCode, kPinFormat) << describe(sign);
        const ProcessResult change = runTenderkey(
            {"pin", "change"}, {{"TENDERKEY_PIN", "123456"}, {"TENDERKEY_NEW_PIN", bad}});
        EXPECT_EQ(change.exitCode, kPinFormat) << describe(change);
    }
    for (const LoggedApdu& a : log_.apdusSince(mark)) {
        EXPECT_NE(a.ins, 0x20) << "VERIFY sent: " << a.line;
        EXPECT_NE(a.ins, 0x24) << "CHANGE REFERENCE DATA sent: " << a.line;
    }
    EXPECT_EQ(cardStatusField(0, "pin_tries"), "3");
}

TEST_F(Cli, NoPinAnywhere_ExitTenWithoutTouchingThePin) {
    const std::size_t mark = log_.mark();
    const ProcessResult r = runTenderkey({"--json", "pin", "verify"});
    EXPECT_EQ(r.exitCode, kPinRequired) << describe(r);
    EXPECT_EQ(parse(r).at("error").at("reason"), "PIN_REQUIRED");
    EXPECT_NE(r.err.find("TENDERKEY_PIN"), std::string::npos) << describe(r);
    EXPECT_EQ(pinPresentations(log_.apdusSince(mark)), 0U) << log_.describeSince(mark);
}

TEST_F(Cli, PinAndPukChange_RoundTripsThroughEnvironmentVariables) {
    EXPECT_EQ(runTenderkey({"pin", "change"},
                           {{"TENDERKEY_PIN", "123456"}, {"TENDERKEY_NEW_PIN", "99887766"}})
                  .exitCode,
              kOk);
    EXPECT_EQ(runTenderkey({"pin", "verify"}, {{"TENDERKEY_PIN", "99887766"}}).exitCode, kOk);
    EXPECT_EQ(runTenderkey({"pin", "verify"}, {{"TENDERKEY_PIN", "123456"}}).exitCode,
              kPinIncorrect);
    const ProcessResult puk =
        runTenderkey({"--json", "puk", "change"},
                     {{"TENDERKEY_PUK", "12345678"}, {"TENDERKEY_NEW_PUK", "11223344"}});
    EXPECT_EQ(puk.exitCode, kOk) << describe(puk);
    EXPECT_EQ(parse(puk).at("changed"), true);
    const ProcessResult oldPuk = runTenderkey(
        {"pin", "unblock"}, {{"TENDERKEY_PUK", "12345678"}, {"TENDERKEY_NEW_PIN", "123456"}});
    EXPECT_EQ(oldPuk.exitCode, kPinIncorrect) << describe(oldPuk);
    EXPECT_EQ(oldPuk.err, "tenderkey: wrong PUK, 2 tries left\n");
    EXPECT_EQ(runTenderkey({"pin", "unblock"},
                           {{"TENDERKEY_PUK", "11223344"}, {"TENDERKEY_NEW_PIN", "123456"}})
                  .exitCode,
              kOk);
    EXPECT_EQ(runTenderkey({"pin", "verify"}, {{"TENDERKEY_PIN", "123456"}}).exitCode, kOk);
    EXPECT_EQ(cardStatusField(0, "pin_verified"), "0");
}

// ------------------------------------------------------------------ sign / decrypt / derive

TEST_F(Cli, Sign_RsaAndEcdsa_VerifiedByOpensslCommand) {
    const std::string data = scratchPath("data");
    writeBytes(data, randomBytes(5000));
    const std::string pin = pinFile("123456");
    struct Case {
        std::string cert;
        std::string hash;
        std::vector<std::string> extra;
        std::vector<std::string> sigopts;
    };
    const std::string id = cardId();
    for (const Case& c :
         {Case{"9c", "SHA-256", {}, {}}, Case{id + ":9a", "SHA-384", {}, {}},
          Case{"9c",
               "SHA-512",
               {"--pss"},
               {"-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:-1"}},
          Case{"9e", "SHA-256", {}, {}}, Case{"82", "SHA-384", {}, {}},
          Case{"82", "SHA-256", {}, {}}}) {
        const std::string slot = c.cert.substr(c.cert.size() - 2);
        const std::string sig = scratchPath("sig-" + slot + "-" + c.hash);
        std::vector<std::string> args{"sign", "--cert", c.cert, "--hash",     c.hash, "--in",
                                      data,   "--out",  sig,    "--pin-file", pin};
        args.insert(args.end(), c.extra.begin(), c.extra.end());
        const ProcessResult r = runTenderkey(args);
        ASSERT_EQ(r.exitCode, kOk) << describe(r);
        std::string digest = "-" + c.hash;
        digest.erase(std::remove(digest.begin(), digest.end(), '-'), digest.end());
        std::vector<std::string> verify{"dgst",       "-" + digest, "-verify", publicKeyOf(slot),
                                        "-signature", sig};
        verify.insert(verify.end(), c.sigopts.begin(), c.sigopts.end());
        verify.push_back(data);
        const ProcessResult checked = openssl(verify);
        EXPECT_NE(checked.out.find("Verified OK"), std::string::npos) << describe(checked);
        // The check can fail: a changed signature is rejected.
        auto bad = readBytes(sig);
        bad[bad.size() / 2] ^= 0x01;
        writeBytes(sig + ".bad", bad);
        verify[5] = sig + ".bad";
        EXPECT_NE(runProcess([&] {
                      std::vector<std::string> a{"openssl"};
                      a.insert(a.end(), verify.begin(), verify.end());
                      return a;
                  }())
                      .exitCode,
                  0)
            << c.cert;
    }
    EXPECT_EQ(cardStatusField(0, "pin_verified"), "0");
}

TEST_F(Cli, Sign_Json_ReportsIdAlgorithmAndP1363Signature) {
    const std::string data = scratchPath("data");
    const auto content = randomBytes(100);
    writeBytes(data, content);
    const std::string sig = scratchPath("sig");
    const ProcessResult r =
        runTenderkey({"--json", "sign", "--cert", "9e", "--p1363", "--in", data, "--out", sig});
    ASSERT_EQ(r.exitCode, kOk) << describe(r);
    const json document = parse(r);
    EXPECT_EQ(document.at("certificateId"), cardId() + ":9e");
    EXPECT_EQ(document.at("algorithm"), "ECDSA");
    EXPECT_EQ(document.at("hash"), "SHA-256");
    EXPECT_EQ(document.at("signatureEncoding"), "p1363");
    const auto rs = readBytes(sig);
    ASSERT_EQ(rs.size(), 64U);
    EXPECT_EQ(base64DecodeBytes(document.at("signature")), card::Bytes(rs.begin(), rs.end()));
    const json certs = parse(runTenderkey({"--json", "certs", "--cert", "9e"}));
    const card::Bytes cert = base64DecodeBytes(certs.at("certificates").at(0).at("der"));
    EXPECT_TRUE(opensslVerifies(cert, card::SignatureScheme::Ecdsa, card::HashAlgorithm::Sha256,
                                content, opensslP1363ToDer(rs)));
}

TEST_F(Cli, Sign_CertificateNotOnTheCard_ExitElevenAndNoPinSent) {
    const std::string data = scratchPath("data");
    writeBytes(data, randomBytes(10));
    const std::size_t mark = log_.mark();
    const ProcessResult otherCard = runTenderkey(
        {"sign", "--cert", "00112233445566778899:9c", "--in", data, "--out", scratchPath("sig")},
        {{"TENDERKEY_PIN", "123456"}});
    EXPECT_EQ(otherCard.exitCode, kKeyUnusable) << describe(otherCard);
    const ProcessResult noKey =
        runTenderkey({"--json", "sign", "--cert", "9b", "--in", data, "--out", scratchPath("sig")},
                     {{"TENDERKEY_PIN", "123456"}});
    EXPECT_EQ(noKey.exitCode, kKeyUnusable) << describe(noKey);
    EXPECT_EQ(parse(noKey).at("error").at("reason"), "CERTIFICATE_NOT_FOUND");
    const ProcessResult pssOnEc =
        runTenderkey({"sign", "--cert", "9e", "--pss", "--in", data, "--out", scratchPath("sig")});
    EXPECT_EQ(pssOnEc.exitCode, kUsage) << describe(pssOnEc);
    EXPECT_EQ(pinPresentations(log_.apdusSince(mark)), 0U) << log_.describeSince(mark);
}

TEST_F(Cli, Decrypt_Pkcs1AndOaep_RecoverWhatOpensslEncrypted) {
    const std::string key = publicKeyOf("9d");
    const auto plaintext = randomBytes(64);
    const std::string plain = scratchPath("plain");
    writeBytes(plain, plaintext);
    struct Case {
        std::vector<std::string> opensslOptions;
        std::vector<std::string> cliOptions;
    };
    for (const Case& c : {Case{{}, {}},
                          Case{{"-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt",
                                "rsa_oaep_md:sha256", "-pkeyopt", "rsa_mgf1_md:sha256"},
                               {"--oaep"}},
                          Case{{"-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt",
                                "rsa_oaep_md:sha512", "-pkeyopt", "rsa_mgf1_md:sha512"},
                               {"--oaep", "--hash", "SHA-512"}}}) {
        const std::string enc = scratchPath("enc");
        std::vector<std::string> encrypt{"pkeyutl", "-encrypt", "-pubin", "-inkey", key,
                                         "-in",     plain,      "-out",   enc};
        encrypt.insert(encrypt.end(), c.opensslOptions.begin(), c.opensslOptions.end());
        openssl(encrypt);
        const std::string out = scratchPath("dec");
        std::vector<std::string> args{"--json", "decrypt", "--cert", "9d",
                                      "--in",   enc,       "--out",  out};
        args.insert(args.end(), c.cliOptions.begin(), c.cliOptions.end());
        const ProcessResult r = runTenderkey(args, {{"TENDERKEY_PIN", "123456"}});
        ASSERT_EQ(r.exitCode, kOk) << describe(r);
        EXPECT_EQ(parse(r).at("length"), plaintext.size());
        EXPECT_EQ(readBytes(out), plaintext);
        struct stat st {};
        ASSERT_EQ(::stat(out.c_str(), &st), 0);
        EXPECT_EQ(st.st_mode & 0777, 0600U);
    }
    EXPECT_EQ(cardStatusField(0, "pin_verified"), "0");
}

TEST_F(Cli, Derive_P384_MatchesOpensslPkeyutlDerive) {
    const std::string cardKey = publicKeyOf("82");
    const std::string peer = scratchPath("peer.pem");
    const std::string peerPublic = scratchPath("peer-pub.pem");
    openssl({"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", peer});
    openssl({"pkey", "-in", peer, "-pubout", "-out", peerPublic});
    const std::string expected = scratchPath("expected");
    openssl({"pkeyutl", "-derive", "-inkey", peer, "-peerkey", cardKey, "-out", expected});
    const std::string secret = scratchPath("secret");
    const ProcessResult r =
        runTenderkey({"derive", "--cert", "82", "--peer", peerPublic, "--out", secret},
                     {{"TENDERKEY_PIN", "123456"}});
    ASSERT_EQ(r.exitCode, kOk) << describe(r);
    EXPECT_EQ(readBytes(secret), readBytes(expected));
    EXPECT_EQ(readBytes(secret).size(), 48U);
}

// -------------------------------------------------------------------- the environment

TEST_F(Cli, PcscdStopped_ExitSeven) {
    controlPcscd("stop");
    const ProcessResult r = runTenderkey({"--json", "pin", "status"});
    EXPECT_EQ(r.exitCode, kServiceUnavailable) << describe(r);
    EXPECT_EQ(parse(r).at("error").at("reason"), "SERVICE_UNAVAILABLE");
}

TEST_F(Cli, EmptyOrUnknownReader_ExitTwo) {
    controlCard(0, "remove");
    waitForCard(0, false);
    const ProcessResult status = runTenderkey({"pin", "status", "--reader", readerName(0)});
    EXPECT_EQ(status.exitCode, kNoCard) << describe(status);
    const ProcessResult any = runTenderkey({"--json", "certs"});
    EXPECT_EQ(any.exitCode, kNoCard) << describe(any);
    EXPECT_EQ(parse(any).at("error").at("reason"), "NO_CARD");
    const ProcessResult unknown =
        runTenderkey({"pin", "status", "--reader", "No Such Reader 00 00"});
    EXPECT_EQ(unknown.exitCode, kNoCard) << describe(unknown);
}

// ---------------------------------------------------------------------------- two cards

class CliTwoCards : public ::testing::Test {};

TEST_F(CliTwoCards, TwoCards_SlotAloneIsAmbiguousReaderOrCardIdChooses) {
    const std::string data = scratchPath("data");
    writeBytes(data, randomBytes(100));
    const ProcessResult ambiguous = runTenderkey({"pin", "status"});
    EXPECT_EQ(ambiguous.exitCode, kUsage) << describe(ambiguous);
    EXPECT_NE(ambiguous.err.find("--reader"), std::string::npos) << describe(ambiguous);

    const json second = parse(runTenderkey({"--json", "certs", "--reader", readerName(1)}));
    const json& cert = second.at("certificates").at(1);
    ASSERT_EQ(cert.at("slot"), "9c");
    const json first = parse(runTenderkey({"--json", "certs", "--reader", readerName(0)}));
    EXPECT_NE(first.at("certificates").at(0).at("cardId"), cert.at("cardId"));
    const json all = parse(runTenderkey({"--json", "certs"}));
    EXPECT_EQ(all.at("certificates").size(), 10U);

    const std::string sig = scratchPath("sig");
    const ProcessResult signed_ =
        runTenderkey({"--json", "sign", "--cert", cert.at("id"), "--in", data, "--out", sig},
                     {{"TENDERKEY_PIN", "123456"}});
    ASSERT_EQ(signed_.exitCode, kOk) << describe(signed_);
    EXPECT_EQ(parse(signed_).at("reader"), readerName(1));
    const auto sigBytes = readBytes(sig);
    EXPECT_TRUE(opensslVerifies(base64DecodeBytes(cert.at("der")),
                                card::SignatureScheme::RsaPkcs1v15, card::HashAlgorithm::Sha256,
                                readBytes(data), card::Bytes(sigBytes.begin(), sigBytes.end())));
}

}  // namespace
}  // namespace tk::test
