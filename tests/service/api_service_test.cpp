#include <gtest/gtest.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>

#include <stdexcept>

#include "fakes/service_fixture.hpp"
#include "pcsc/errors.hpp"
#include "service/base64.hpp"
#include "support/test_keys.hpp"

namespace tk::test {
namespace {

using nlohmann::json;

// INS bytes of the PIV commands, to aim faults at one command.
constexpr std::uint8_t kInsVerify = 0x20;
constexpr std::uint8_t kInsGeneralAuthenticate = 0x87;
constexpr std::uint8_t kInsSelect = 0xA4;

Bytes sha256(std::string_view text) {
    return opensslDigest(card::HashAlgorithm::Sha256, bytesOf(std::string(text)));
}

// A standard card whose 9D key is RSA with keyEncipherment (the standard one is EC).
std::unique_ptr<StandardCard> cardWithRsaDecryptionKey() {
    auto card = std::make_unique<StandardCard>();
    CertificateSpec spec;
    spec.commonName = "Key Management";
    spec.keyUsage = "critical,keyEncipherment";
    card->cert9d = makeCertificate(rsa3072(), spec);
    card->card.putCertificate(0x9D, card->cert9d);
    card->card.putKey(0x9D, rsa3072());
    card->card.setChuid(std::nullopt, hex("101112131415161718191a1b1c1d1e1f"));
    return card;
}

class ApiService : public ServiceFixture {
  protected:
    void SetUp() override {
        startService();
        addReaderWithCard(kReader, std::make_unique<StandardCard>());
        cardId = cardIdIn(kReader);
        backend->card(kReader).card.clearLog();
        identification = backend->transactions(kReader);
    }

    // Transactions on the card since it was identified.
    int cardUses() { return backend->transactions(kReader) - identification; }

    std::string cert(const std::string& slot) const { return cardId + ":" + slot; }
    std::size_t apdusSent() { return backend->card(kReader).card.transmitted().size(); }

    std::string cardId;
    int identification = 0;
};

TEST_F(ApiService, ReadersListShowsTheIdentifiedCard) {
    backend->addReader(kReader2);
    settle();
    const Answer answer = call("readers.list", json::object());
    ASSERT_TRUE(answer.result);
    const json& readers = (*answer.result)["readers"];
    ASSERT_EQ(readers.size(), 2u);
    EXPECT_EQ(readers[0]["name"], kReader);
    EXPECT_EQ(readers[0]["cardPresent"], true);
    EXPECT_EQ(readers[0]["pinpad"], false);
    EXPECT_EQ(readers[0]["card"]["type"], "piv");
    EXPECT_EQ(readers[0]["card"]["id"].get<std::string>().size(), 20u);
    EXPECT_EQ(readers[0]["card"]["label"], "Authentication");  // CN of the 9A certificate
    EXPECT_EQ(readers[0]["card"]["atr"], card::toHex(backend->card(kReader).card.atr()));
    EXPECT_EQ(
        readers[1],
        (json{{"name", kReader2}, {"cardPresent", false}, {"pinpad", false}, {"card", nullptr}}));
    EXPECT_EQ(service->readerCount(), 2);
}

TEST_F(ApiService, CertificatesListReadsNoCardAndComputesUsableFor) {
    const Answer answer = call("certificates.list", json::object());
    ASSERT_TRUE(answer.result);
    const json& list = (*answer.result)["certificates"];
    ASSERT_EQ(list.size(), 4u);
    EXPECT_EQ(list[0]["id"], cert("9a"));
    EXPECT_EQ(list[0]["usableFor"], json({"register"}));
    EXPECT_EQ(list[1]["slot"], "9c");
    EXPECT_EQ(list[1]["usableFor"], json({"sign"}));
    EXPECT_EQ(list[1]["label"], "Digital Signature");
    EXPECT_EQ(service::decodeBase64(list[1]["der"].get<std::string>()),
              backend->card(kReader).cert9c);
    EXPECT_EQ(list[2]["keyAlgorithm"], "EC-P256");
    EXPECT_EQ(list[2]["usableFor"], json({"decrypt"}));
    EXPECT_EQ(list[3]["slot"], "9e");
    EXPECT_EQ(list[3]["usableFor"], json::array());  // no-PIN key, not enabled
    EXPECT_EQ(apdusSent(), 0u);

    const Answer byReader = call("certificates.list", {{"reader", kReader}});
    ASSERT_TRUE(byReader.result);
    EXPECT_EQ(*byReader.result, *answer.result);
}

TEST_F(ApiService, CertificatesListForAReaderSaysWhyItIsEmpty) {
    backend->addReader(kReader2);
    settle();
    EXPECT_EQ(call("certificates.list", {{"reader", kReader2}}).reason(), "NO_CARD");
    EXPECT_EQ(call("certificates.list", {{"reader", "Other 00 00"}}).reason(), "NO_READER");

    auto foreign = std::make_unique<StandardCard>();
    foreign->card.interceptor = [](std::size_t, ByteView apdu) -> std::optional<Bytes> {
        if (apdu.size() > 1 && apdu[1] == kInsSelect) {
            return Bytes{0x6A, 0x82};  // no PIV application
        }
        return std::nullopt;
    };
    backend->insert(kReader2, std::move(foreign));
    settle();
    EXPECT_EQ(call("certificates.list", {{"reader", kReader2}}).reason(), "UNSUPPORTED_CARD");
    const Answer readers = call("readers.list", json::object());
    EXPECT_EQ((*readers.result)["readers"][1]["card"],
              (json{{"id", nullptr},
                    {"type", "unknown"},
                    {"atr", card::toHex(backend->card(kReader2).card.atr())},
                    {"label", ""}}));
    // Without a reader, the unknown card adds nothing.
    EXPECT_EQ((*call("certificates.list", json::object()).result)["certificates"].size(), 4u);
}

TEST_F(ApiService, PinStatusConsumesNoTry) {
    const Answer answer = call("pin.status", {{"cardId", cardId}});
    ASSERT_TRUE(answer.result) << answer.reason();
    EXPECT_EQ(*answer.result, (json{{"retriesLeft", 3}, {"blocked", false}, {"pinpad", false}}));
    EXPECT_EQ(backend->card(kReader).card.pinRetries(), 3);
    EXPECT_EQ(call("pin.status", {{"cardId", "0000"}}).reason(), "NO_CARD");
}

TEST_F(ApiService, WrongPinCountsDownThenLastAttemptProtectionThenBlocked) {
    const auto verify = [&](const std::string& pin, bool lastAttempt = false) {
        json params{{"cardId", cardId}, {"pin", pin}};
        if (lastAttempt) {
            params["lastAttempt"] = true;
        }
        return call("pin.verify", params);
    };
    Answer a = verify("654321");
    EXPECT_EQ(a.reason(), "PIN_INCORRECT");
    EXPECT_EQ(a.data(), (json{{"retriesLeft", 2}}));
    a = verify("654321");
    EXPECT_EQ(a.data(), (json{{"retriesLeft", 1}}));

    backend->card(kReader).card.clearLog();
    a = verify("123456");  // right PIN, but one try left and no lastAttempt
    EXPECT_EQ(a.reason(), "PIN_LAST_ATTEMPT");
    EXPECT_EQ(a.data(), (json{{"retriesLeft", 1}}));
    EXPECT_EQ(backend->card(kReader).card.pinRetries(), 1);
    for (const Bytes& apdu : backend->card(kReader).card.transmitted()) {
        EXPECT_FALSE(apdu.size() > 5 && apdu[1] == kInsVerify) << "a PIN was presented";
    }

    a = verify("654321", true);  // the wrong PIN uses the last try: 63C0
    EXPECT_EQ(a.reason(), "PIN_BLOCKED");
    EXPECT_EQ(a.data(), (json{{"retriesLeft", 0}}));
    EXPECT_EQ(*call("pin.status", {{"cardId", cardId}}).result,
              (json{{"retriesLeft", 0}, {"blocked", true}, {"pinpad", false}}));
    EXPECT_EQ(verify("123456", true).reason(), "PIN_BLOCKED");

    // The PUK counter of this card was never seen: the PUK goes only with lastAttempt.
    const Answer unknownCounter =
        call("pin.unblock", {{"cardId", cardId}, {"puk", "12345678"}, {"newPin", "135790"}});
    EXPECT_EQ(unknownCounter.reason(), "PIN_LAST_ATTEMPT");
    EXPECT_EQ(backend->card(kReader).card.pinRetries(), 0);
    const Answer unblocked = call(
        "pin.unblock",
        {{"cardId", cardId}, {"puk", "12345678"}, {"newPin", "135790"}, {"lastAttempt", true}});
    ASSERT_TRUE(unblocked.result) << unblocked.reason();
    EXPECT_EQ(*unblocked.result, (json{{"unblocked", true}}));
    const Answer verified = verify("135790");
    ASSERT_TRUE(verified.result) << verified.reason();
    EXPECT_EQ(*verified.result, (json{{"verified", true}}));
    EXPECT_FALSE(backend->card(kReader).card.pinVerified()) << "PIN state left behind";
}

TEST_F(ApiService, PinFormatAndPinRequiredLeaveTheCardUntouched) {
    const std::vector<std::pair<json, std::string>> cases{
        {{{"cardId", cardId}, {"pin", "12345"}}, "pin"},
        {{{"cardId", cardId}, {"pin", "123456789"}}, "pin"},
        {{{"cardId", cardId}, {"pin", "12ab56"}}, "pin"},
        {{{"cardId", cardId}, {"pin", ""}}, "pin"},
    };
    for (const auto& [params, field] : cases) {
        EXPECT_EQ(call("pin.verify", json(params)).data(), (json{{"field", field}}));
    }
    EXPECT_EQ(call("pin.change", {{"cardId", cardId}, {"pin", "123456"}, {"newPin", "12"}}).data(),
              (json{{"field", "newPin"}}));
    EXPECT_EQ(call("pin.change", {{"cardId", cardId}, {"pin", "1"}, {"newPin", "123456"}}).data(),
              (json{{"field", "pin"}}));
    EXPECT_EQ(
        call("pin.unblock", {{"cardId", cardId}, {"puk", "1234567"}, {"newPin", "123456"}}).data(),
        (json{{"field", "puk"}}));
    EXPECT_EQ(
        call("puk.change", {{"cardId", cardId}, {"puk", "12345678"}, {"newPuk", "123456"}}).data(),
        (json{{"field", "newPuk"}}));
    const Answer format = call("sign", {{"certificateId", cert("9c")},
                                        {"pin", "abc"},
                                        {"digest", service::encodeBase64(sha256("x"))}});
    EXPECT_EQ(format.reason(), "PIN_FORMAT");
    EXPECT_EQ(format.error->code, -32031);
    EXPECT_EQ(apdusSent(), 0u);
    EXPECT_EQ(cardUses(), 0);

    // Without a PIN the answer is PIN_REQUIRED with the PIN's tries left, read from the card
    // (VERIFY without a data field); no PIN reaches it.
    for (const Answer& required :
         {call("pin.verify", {{"cardId", cardId}}), call("pin.change", {{"cardId", cardId}}),
          call("sign",
               {{"certificateId", cert("9c")}, {"digest", service::encodeBase64(sha256("x"))}})}) {
        EXPECT_EQ(required.reason(), "PIN_REQUIRED");
        EXPECT_EQ(required.data(), (json{{"retriesLeft", 3}}));
    }
    EXPECT_TRUE(backend->card(kReader).card.secretTransmits().empty()) << "a PIN was sent";
}

TEST_F(ApiService, PinAndPukChange) {
    Answer a = call("pin.change", {{"cardId", cardId}, {"pin", "123456"}, {"newPin", "24680135"}});
    ASSERT_TRUE(a.result) << a.reason();
    EXPECT_EQ(*a.result, (json{{"changed", true}}));
    EXPECT_TRUE(backend->card(kReader).card.pinMatches("24680135"));
    a = call(
        "puk.change",
        {{"cardId", cardId}, {"puk", "12345678"}, {"newPuk", "87654321"}, {"lastAttempt", true}});
    ASSERT_TRUE(a.result) << a.reason();
    EXPECT_TRUE(backend->card(kReader).card.pukMatches("87654321"));
    a = call(
        "pin.unblock",
        {{"cardId", cardId}, {"puk", "12345678"}, {"newPin", "135790"}, {"lastAttempt", true}});
    EXPECT_EQ(a.reason(), "PUK_INCORRECT");
    EXPECT_EQ(a.data(), (json{{"retriesLeft", 2}}));
}

TEST_F(ApiService, PukCounter_KnownCountGoesWithoutLastAttemptUntilOneIsLeft) {
    const auto unblock = [&](const char* puk, bool lastAttempt) {
        json params{{"cardId", cardId}, {"puk", puk}, {"newPin", "135790"}};
        if (lastAttempt) {
            params["lastAttempt"] = true;
        }
        return call("pin.unblock", params);
    };
    EXPECT_EQ(unblock("87654321", true).data(), (json{{"retriesLeft", 2}}));
    EXPECT_EQ(unblock("87654321", false).data(), (json{{"retriesLeft", 1}}));
    backend->card(kReader).card.clearLog();
    const Answer last = unblock("12345678", false);
    EXPECT_EQ(last.reason(), "PIN_LAST_ATTEMPT");
    EXPECT_EQ(last.data(), (json{{"retriesLeft", 1}}));
    EXPECT_EQ(apdusSent(), 0u);
    // The right PUK with lastAttempt: accepted, and the limit is now known to be at least 3.
    ASSERT_TRUE(unblock("12345678", true).result);
    const service::state::CardState known = options.cardStates->get(cardId);
    EXPECT_EQ(known.pukRetriesLeft, std::optional<int>(3));
    EXPECT_EQ(known.pukRetryLimitAtLeast, std::optional<int>(3));
    EXPECT_EQ(unblock("87654321", false).data(), (json{{"retriesLeft", 2}}));
}

TEST_F(ApiService, LastAttempt_FromOriginWithoutManage_IgnoredAndPinNotSent) {
    const service::Capabilities signer = service::Capabilities::defaults();
    const auto sign = [&](const char* pin) {
        return call("sign",
                    {{"certificateId", cert("9c")},
                     {"pin", pin},
                     {"digest", service::encodeBase64(sha256("x"))},
                     {"lastAttempt", true}},
                    signer);
    };
    EXPECT_EQ(sign("654321").data(), (json{{"retriesLeft", 2}}));
    EXPECT_EQ(sign("654321").data(), (json{{"retriesLeft", 1}}));
    backend->card(kReader).card.clearLog();
    EXPECT_EQ(sign("654321").reason(), "PIN_LAST_ATTEMPT");
    EXPECT_EQ(sign("123456").reason(), "PIN_LAST_ATTEMPT");
    for (const Bytes& apdu : backend->card(kReader).card.transmitted()) {
        EXPECT_FALSE(apdu.size() > 5 && apdu[1] == kInsVerify) << "a PIN was presented";
    }
    EXPECT_EQ(backend->card(kReader).card.pinRetries(), 1);
    // With manage the same request spends the last try.
    const Answer managed = call("sign", {{"certificateId", cert("9c")},
                                         {"pin", "123456"},
                                         {"digest", service::encodeBase64(sha256("x"))},
                                         {"lastAttempt", true}});
    EXPECT_TRUE(managed.result) << managed.reason();
}

TEST_F(ApiService, SignRawRsaSignaturesVerifyWithOpenSsl) {
    const Bytes digest = sha256("bid document");
    Answer a = call("sign", {{"certificateId", cert("9c")},
                             {"pin", "123456"},
                             {"digest", service::encodeBase64(digest)}});
    ASSERT_TRUE(a.result) << a.reason() << " " << (a.error ? a.error->message : "");
    EXPECT_EQ((*a.result)["algorithm"], "RSASSA-PKCS1-v1_5");
    EXPECT_EQ((*a.result)["hash"], "SHA-256");
    EXPECT_EQ(service::decodeBase64((*a.result)["certificate"].get<std::string>()),
              backend->card(kReader).cert9c);
    Bytes signature = *service::decodeBase64((*a.result)["signature"].get<std::string>());
    EXPECT_TRUE(opensslVerify(backend->card(kReader).cert9c, card::SignatureScheme::RsaPkcs1v15,
                              card::HashAlgorithm::Sha256, digest, signature));
    EXPECT_FALSE(backend->card(kReader).card.pinVerified());

    // data instead of digest, PSS, SHA-384: the daemon hashes.
    const std::string content = "the content itself";
    a = call("sign", {{"certificateId", cert("9c")},
                      {"pin", "123456"},
                      {"hash", "SHA-384"},
                      {"algorithm", "RSA-PSS"},
                      {"data", service::encodeBase64(bytesOf(content))}});
    ASSERT_TRUE(a.result) << a.reason();
    EXPECT_EQ((*a.result)["algorithm"], "RSA-PSS");
    EXPECT_EQ((*a.result)["hash"], "SHA-384");
    signature = *service::decodeBase64((*a.result)["signature"].get<std::string>());
    EXPECT_TRUE(opensslVerify(
        backend->card(kReader).cert9c, card::SignatureScheme::RsaPss, card::HashAlgorithm::Sha384,
        opensslDigest(card::HashAlgorithm::Sha384, bytesOf(content)), signature));
}

TEST_F(ApiService, SignEcdsaWithANoPinKeyWhenEnabledInDerAndP1363) {
    service->stop(std::chrono::milliseconds(0));
    options.allowNoPinKeys = true;
    startService();
    addReaderWithCard(kReader, std::make_unique<StandardCard>());
    const std::string id = cardIdIn(kReader);
    const Bytes digest = sha256("ecdsa");
    // A PIN given for a no-PIN key is ignored and never sent, even a malformed one.
    Answer a = call("sign", {{"certificateId", id + ":9e"},
                             {"pin", "not a pin"},
                             {"digest", service::encodeBase64(digest)}});
    ASSERT_TRUE(a.result) << a.reason();
    EXPECT_EQ((*a.result)["algorithm"], "ECDSA");
    const Bytes der = *service::decodeBase64((*a.result)["signature"].get<std::string>());
    EXPECT_EQ(der[0], 0x30);
    EXPECT_TRUE(opensslVerify(backend->card(kReader).cert9e, card::SignatureScheme::Ecdsa,
                              card::HashAlgorithm::Sha256, digest, der));
    for (const Bytes& apdu : backend->card(kReader).card.transmitted()) {
        EXPECT_FALSE(apdu.size() > 1 && apdu[1] == kInsVerify && apdu.size() > 5);
    }

    a = call("sign", {{"certificateId", id + ":9e"},
                      {"digest", service::encodeBase64(digest)},
                      {"algorithm", "ECDSA"},
                      {"signatureEncoding", "p1363"}});
    ASSERT_TRUE(a.result) << a.reason();
    const Bytes rs = *service::decodeBase64((*a.result)["signature"].get<std::string>());
    ASSERT_EQ(rs.size(), 64u);
    // r||s -> DER with OpenSSL's own encoder, then verified.
    ECDSA_SIG* sig = ECDSA_SIG_new();
    ECDSA_SIG_set0(sig, BN_bin2bn(rs.data(), 32, nullptr), BN_bin2bn(rs.data() + 32, 32, nullptr));
    unsigned char* out = nullptr;
    const int length = i2d_ECDSA_SIG(sig, &out);
    const Bytes fromRs(out, out + length);
    OPENSSL_free(out);
    ECDSA_SIG_free(sig);
    EXPECT_TRUE(opensslVerify(backend->card(kReader).cert9e, card::SignatureScheme::Ecdsa,
                              card::HashAlgorithm::Sha256, digest, fromRs));
}

TEST_F(ApiService, SignRefusesKeysOutsideUsableForAndWrongAlgorithms) {
    const std::string digest = service::encodeBase64(sha256("x"));
    const auto sign = [&](const std::string& slot, const json& extra = json::object()) {
        json params{{"certificateId", cert(slot)}, {"pin", "123456"}, {"digest", digest}};
        params.update(extra);
        return call("sign", params);
    };
    EXPECT_EQ(sign("9a").reason(), "KEY_USAGE");  // registration key never signs
    EXPECT_EQ(sign("9d").reason(), "KEY_USAGE");  // decryption only
    EXPECT_EQ(sign("9e").reason(), "KEY_USAGE");  // no-PIN key, not enabled
    Answer a = sign("9c", {{"algorithm", "ECDSA"}});
    EXPECT_EQ(a.reason(), "UNSUPPORTED_ALGORITHM");
    EXPECT_EQ(a.data(), (json{{"field", "algorithm"}}));
    a = sign("9c", {{"signatureEncoding", "p1363"}});  // RSA key, algorithm left out
    EXPECT_EQ(a.reason(), "INVALID_PARAMS");
    EXPECT_EQ(a.data(), (json{{"field", "signatureEncoding"}}));
    a = sign("9c", {{"format", "cms"}, {"algorithm", "ECDSA"}});  // CMS with an RSA key
    EXPECT_EQ(a.reason(), "UNSUPPORTED_ALGORITHM");
    EXPECT_EQ(a.data(), (json{{"field", "algorithm"}}));
    EXPECT_EQ(sign("9f").reason(), "CERTIFICATE_NOT_FOUND");
    EXPECT_EQ(call("sign", {{"certificateId", "nocolon"}, {"digest", digest}}).reason(),
              "CERTIFICATE_NOT_FOUND");
    EXPECT_EQ(call("sign", {{"certificateId", "0000:9c"}, {"digest", digest}}).reason(),
              "CERTIFICATE_NOT_FOUND");
    EXPECT_EQ(cardUses(), 0);
}

TEST_F(ApiService, DecryptRawRsaOaepAndPkcs1) {
    backend->addReader(kReader2);
    backend->insert(kReader2, cardWithRsaDecryptionKey());
    settle();
    const std::string id = cardIdIn(kReader2);
    const Bytes plaintext = bytesOf("AES-256 key of bid 2025-0042");
    const Bytes& certificate = backend->card(kReader2).cert9d;
    Bytes ciphertext = opensslEncrypt(certificate, card::RsaDecryptPadding::Oaep,
                                      card::HashAlgorithm::Sha384, plaintext);
    Answer a = call("decrypt", {{"certificateId", id + ":9d"},
                                {"pin", "123456"},
                                {"algorithm", "RSA-OAEP"},
                                {"hash", "SHA-384"},
                                {"ciphertext", service::encodeBase64(ciphertext)}});
    ASSERT_TRUE(a.result) << a.reason() << " " << a.error->message;
    EXPECT_EQ(service::decodeBase64((*a.result)["data"].get<std::string>()), plaintext);

    ciphertext = opensslEncrypt(certificate, card::RsaDecryptPadding::Pkcs1v15,
                                card::HashAlgorithm::Sha256, plaintext);
    a = call("decrypt", {{"certificateId", id + ":9d"},
                         {"pin", "123456"},
                         {"algorithm", "RSAES-PKCS1-v1_5"},
                         {"ciphertext", service::encodeBase64(ciphertext)}});
    ASSERT_TRUE(a.result) << a.reason();
    EXPECT_EQ(service::decodeBase64((*a.result)["data"].get<std::string>()), plaintext);

    // OAEP with the wrong hash does not decrypt; a short ciphertext neither.
    a = call("decrypt", {{"certificateId", id + ":9d"},
                         {"pin", "123456"},
                         {"algorithm", "RSA-OAEP"},
                         {"ciphertext", service::encodeBase64(ciphertext)}});
    EXPECT_EQ(a.reason(), "DECRYPT_FAILED");
    a = call("decrypt", {{"certificateId", id + ":9d"},
                         {"pin", "123456"},
                         {"algorithm", "RSA-OAEP"},
                         {"ciphertext", "AAAA"}});
    EXPECT_EQ(a.reason(), "DECRYPT_FAILED");
}

TEST_F(ApiService, DecryptRefusalsComeBeforeTheCard) {
    const auto decrypt = [&](const std::string& slot, const json& extra) {
        json params{{"certificateId", cert(slot)}, {"pin", "123456"}};
        params.update(extra);
        return call("decrypt", params);
    };
    const json raw{{"algorithm", "RSA-OAEP"}, {"ciphertext", "AAAA"}};
    EXPECT_EQ(decrypt("9c", raw).reason(), "KEY_USAGE");
    Answer a = decrypt("9d", raw);  // EC key
    EXPECT_EQ(a.reason(), "UNSUPPORTED_ALGORITHM");
    a = decrypt("9d", {{"cms", "MIIB"}});  // not a DER ContentInfo
    EXPECT_EQ(a.reason(), "INVALID_PARAMS");
    EXPECT_EQ(a.data(), (json{{"field", "cms"}}));
    EXPECT_EQ(cardUses(), 0);
}

TEST_F(ApiService, RegisterSignsTheHandshakeOriginAndChallengeWithTheRegistrationKey) {
    const std::string challenge = "keDU4QdT0vlil+b4nnaBzD+b7uB3SqNckUQeUVvROTY=";
    EXPECT_EQ(call("register", {{"certificateId", cert("9c")}, {"challenge", challenge}}).reason(),
              "KEY_USAGE");
    const Answer a = call(
        "register", {{"certificateId", cert("9a")}, {"pin", "123456"}, {"challenge", challenge}});
    ASSERT_TRUE(a.result) << a.reason();
    EXPECT_EQ((*a.result)["format"], "web-eid:1.0");
    EXPECT_EQ((*a.result)["algorithm"], "RS256");
    const Bytes& certificate = backend->card(kReader).cert9a;
    EXPECT_EQ((*a.result)["unverifiedCertificate"], service::encodeBase64(certificate));
    Bytes message = sha256(context().origin);
    const Bytes challengeHash = sha256(challenge);
    message.insert(message.end(), challengeHash.begin(), challengeHash.end());
    const auto signature = service::decodeBase64((*a.result)["signature"].get<std::string>());
    ASSERT_TRUE(signature);
    EXPECT_TRUE(opensslVerify(certificate, card::SignatureScheme::RsaPkcs1v15,
                              card::HashAlgorithm::Sha256,
                              opensslDigest(card::HashAlgorithm::Sha256, message), *signature));
    EXPECT_FALSE(opensslVerify(certificate, card::SignatureScheme::RsaPkcs1v15,
                               card::HashAlgorithm::Sha256, sha256("x"), *signature));
}

TEST_F(ApiService, CardFaultsMapToTheirReasons) {
    const std::string digest = service::encodeBase64(sha256("x"));
    const json params{{"certificateId", cert("9c")}, {"pin", "123456"}, {"digest", digest}};
    StandardCard& card = backend->card(kReader);

    card.card.interceptor = [](std::size_t, ByteView apdu) -> std::optional<Bytes> {
        if (apdu[1] == kInsGeneralAuthenticate) {
            throw pcsc::CardRemoved(0x80100069, "SCardTransmit");
        }
        return std::nullopt;
    };
    Answer a = call("sign", json(params));
    EXPECT_EQ(a.reason(), "CARD_REMOVED");
    EXPECT_EQ(a.data(), (json{{"outcome", "unknown"}}));

    card.card.interceptor = [](std::size_t, ByteView apdu) -> std::optional<Bytes> {
        if (apdu[1] == kInsGeneralAuthenticate) {
            return Bytes{0x6F, 0x00};
        }
        return std::nullopt;
    };
    a = call("sign", json(params));
    EXPECT_EQ(a.reason(), "CARD_ERROR");
    EXPECT_EQ(a.data(), (json{{"sw", "6f00"}}));

    card.card.interceptor = [](std::size_t, ByteView apdu) -> std::optional<Bytes> {
        if (apdu[1] == kInsGeneralAuthenticate) {
            throw std::runtime_error("defect");
        }
        return std::nullopt;
    };
    a = call("sign", json(params));
    EXPECT_EQ(a.reason(), "INTERNAL");
    ASSERT_TRUE(a.data().contains("correlationId"));
    EXPECT_EQ(a.data().size(), 1u);
    EXPECT_EQ(a.data()["correlationId"].get<std::string>().size(), 16u);

    card.card.interceptor = [](std::size_t, ByteView) -> std::optional<Bytes> {
        throw pcsc::ServiceNotRunning(0x8010001D, "SCardTransmit");
    };
    EXPECT_EQ(call("pin.status", {{"cardId", cardId}}).reason(), "SERVICE_UNAVAILABLE");
    card.card.interceptor = nullptr;
    EXPECT_TRUE(call("pin.status", {{"cardId", cardId}}).result.has_value());
}

TEST_F(ApiService, SwappedCardIsNeverUsedForAnotherCardsRequest) {
    // Another card in the reader before the monitor reported the swap (the session reconnected
    // to it): the request names the old card, so nothing may be signed with the new card's key.
    auto other = std::make_unique<StandardCard>();
    other->card.setChuid(std::nullopt, hex("ffeeddccbbaa99887766554433221100"));
    backend->swapWithoutEvent(kReader, std::move(other));
    const Answer a = call("sign", {{"certificateId", cert("9c")},
                                   {"pin", "123456"},
                                   {"digest", service::encodeBase64(sha256("x"))}});
    EXPECT_EQ(a.reason(), "CARD_REMOVED");
    EXPECT_EQ(a.data(), (json{{"outcome", "none"}}));
    EXPECT_EQ(backend->transactions(kReader), 1);  // the swapped-in card's one transaction
    for (const Bytes& apdu : backend->card(kReader).card.cardSaw()) {
        EXPECT_NE(apdu[1], kInsGeneralAuthenticate) << "the other card's key was used";
        EXPECT_FALSE(apdu[1] == kInsVerify && apdu.size() > 5) << "a PIN went to another card";
    }
}

TEST_F(ApiService, UnknownCardIdWithReadersIsNoCardAndWithoutIsNoReader) {
    EXPECT_EQ(call("pin.verify", {{"cardId", "fedcba"}, {"pin", "123456"}}).reason(), "NO_CARD");
    backend->removeReader(kReader);
    settle();
    EXPECT_EQ(call("pin.verify", {{"cardId", cardId}, {"pin", "123456"}}).reason(), "NO_READER");
    EXPECT_EQ(call("sign",
                   {{"certificateId", cert("9c")}, {"digest", service::encodeBase64(sha256("x"))}})
                  .reason(),
              "NO_READER");
    EXPECT_EQ(*call("certificates.list", json::object()).result,
              (json{{"certificates", json::array()}, {"caCertificates", json::array()}}));
}

TEST_F(ApiService, SameCardIdInTwoReadersIsAmbiguousCardNamingBothAndTouchesNeither) {
    addReaderWithCard(kReader2, std::make_unique<StandardCard>());  // a clone: the same CHUID
    ASSERT_EQ(cardIdIn(kReader2), cardId);
    const int identification2 = backend->transactions(kReader2);
    const json readers{{"readers", {kReader, kReader2}}};
    const Answer status = call("pin.status", {{"cardId", cardId}});
    EXPECT_EQ(status.reason(), "AMBIGUOUS_CARD");
    EXPECT_EQ(status.data(), readers);
    const Answer verify = call("pin.verify", {{"cardId", cardId}, {"pin", "123456"}});
    EXPECT_EQ(verify.reason(), "AMBIGUOUS_CARD");
    const Answer sign = call("sign", {{"certificateId", cert("9c")},
                                      {"pin", "123456"},
                                      {"digest", service::encodeBase64(sha256("x"))}});
    EXPECT_EQ(sign.reason(), "AMBIGUOUS_CARD");
    EXPECT_EQ(sign.data(), readers);
    EXPECT_EQ(cardUses(), 0);
    EXPECT_EQ(backend->transactions(kReader2), identification2);
    // Listing is not a request for one card: both readers show their copy.
    EXPECT_EQ((*call("readers.list", json::object()).result)["readers"].size(), 2u);
    // With one copy left, it is used.
    backend->remove(kReader2);
    settle();
    EXPECT_TRUE(call("pin.status", {{"cardId", cardId}}).result.has_value());
}

TEST_F(ApiService, EventsReachSubscribedConnectionsOnly) {
    std::vector<json> other;
    std::mutex otherMutex;
    service->connectionOpened(2, [&](const json& e) {
        std::lock_guard lock(otherMutex);
        other.push_back(e);
    });
    ASSERT_TRUE(call("events.subscribe", json::object()).result);
    EXPECT_EQ(*call("events.subscribe", json::object()).result, (json{{"subscribed", true}}));

    backend->addReader(kReader2);
    backend->insert(kReader2, cardWithRsaDecryptionKey());
    settle();
    const std::string id2 = cardIdIn(kReader2);
    backend->removeReader(kReader2);  // with its card: card.removed, then reader.removed
    backend->remove(kReader);
    settle();

    std::lock_guard lock(eventsMutex);
    ASSERT_EQ(events.size(), 5u);
    EXPECT_EQ(events[0], (json{{"type", "reader.added"}, {"reader", kReader2}}));
    EXPECT_EQ(events[1]["type"], "card.inserted");
    EXPECT_EQ(events[1]["reader"], kReader2);
    EXPECT_EQ(events[1]["card"]["id"], id2);
    EXPECT_EQ(events[1]["card"]["type"], "piv");
    EXPECT_EQ(events[2], (json{{"type", "card.removed"}, {"reader", kReader2}, {"cardId", id2}}));
    EXPECT_EQ(events[3], (json{{"type", "reader.removed"}, {"reader", kReader2}}));
    EXPECT_EQ(events[4], (json{{"type", "card.removed"}, {"reader", kReader}, {"cardId", cardId}}));
    std::lock_guard otherLock(otherMutex);
    EXPECT_TRUE(other.empty());
}

TEST_F(ApiService, CardReinsertedQuicklyGivesRemovedThenInserted) {
    ASSERT_TRUE(call("events.subscribe", json::object()).result);
    backend->remove(kReader);
    backend->insert(kReader, std::make_unique<StandardCard>());
    settle();
    std::lock_guard lock(eventsMutex);
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0]["type"], "card.removed");
    EXPECT_EQ(events[1]["type"], "card.inserted");
    EXPECT_EQ(events[1]["card"]["id"], cardId);  // same card: same id
}

TEST_F(ApiService, VirtualReadersAreIgnoredOutsideDevelopmentMode) {
    backend->addReader("Virtual PCD 00 00");
    settle();
    EXPECT_EQ((*call("readers.list", json::object()).result)["readers"].size(), 1u);

    service->stop(std::chrono::milliseconds(0));
    managerOptions.developmentMode = true;
    startService();
    backend->addReader("Virtual PCD 00 00");
    settle();
    EXPECT_EQ((*call("readers.list", json::object()).result)["readers"].size(), 1u);
    EXPECT_EQ((*call("readers.list", json::object()).result)["readers"][0]["name"],
              "Virtual PCD 00 00");
}

}  // namespace
}  // namespace tk::test
