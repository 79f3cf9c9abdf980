#include <gtest/gtest.h>

#include "fakes/service_fixture.hpp"

namespace tk::test {
namespace {

using nlohmann::json;
using service::Capabilities;
using service::Capability;

// The service with no reader at all: a request whose params pass validation gets NO_READER
// (or an answer from the view), so INVALID_PARAMS here proves the check came first.
class ApiParams : public ServiceFixture {
  protected:
    void SetUp() override { startService(); }

    void expectInvalid(const std::string& method, json params, const std::string& field) {
        const json sent = params;
        const Answer answer = call(method, params);
        ASSERT_TRUE(answer.error) << method << " " << sent.dump() << " succeeded";
        EXPECT_EQ(answer.error->reason, "INVALID_PARAMS") << method << " " << sent.dump();
        EXPECT_EQ(answer.error->code, -32602);
        if (field.empty()) {
            EXPECT_FALSE(answer.data().contains("field")) << answer.data().dump();
        } else {
            EXPECT_EQ(answer.data().value("field", ""), field)
                << method << " " << sent.dump() << " -> " << answer.error->message;
        }
    }

    void expectReason(const std::string& method, json params, const std::string& reason) {
        const json sent = params;
        const Answer answer = call(method, params);
        EXPECT_EQ(answer.reason(), reason) << method << " " << sent.dump();
    }
};

const std::string kCert = "0123456789abcdef0123:9c";
const std::string kDigest256 = "4yFFq1Xi8EoNHTDi5kFHMAWutJ4d/yCl/J+v+2b51rc=";  // 32 bytes

TEST_F(ApiParams, UnknownMethodIsMethodNotFound) {
    expectReason("pin.reset", json::object(), "METHOD_NOT_FOUND");
    expectReason("", json::object(), "METHOD_NOT_FOUND");
}

TEST_F(ApiParams, ParamsMustBeAnObjectAndByPositionHasNoField) {
    expectInvalid("system.info", json::array(), "");
    expectInvalid("readers.list", json::array({1}), "");
    expectInvalid("certificates.list", "x", "");
    // Omitted params (null here) are {}.
    EXPECT_TRUE(call("system.info", json()).result.has_value());
}

TEST_F(ApiParams, MethodsWithoutParametersRefuseAnyMember) {
    expectInvalid("system.info", {{"verbose", true}}, "verbose");
    expectInvalid("readers.list", {{"all", 1}}, "all");
    expectInvalid("events.subscribe", {{"types", json::array()}}, "types");
}

TEST_F(ApiParams, CertificatesList) {
    expectInvalid("certificates.list", {{"reader", 5}}, "reader");
    expectInvalid("certificates.list", {{"reader", nullptr}}, "reader");
    expectInvalid("certificates.list", {{"reader", ""}}, "reader");
    expectInvalid("certificates.list", {{"slot", "9c"}}, "slot");
    expectReason("certificates.list", {{"reader", "Nowhere 00 00"}}, "NO_READER");
    const Answer empty = call("certificates.list", json::object());
    ASSERT_TRUE(empty.result);
    EXPECT_EQ(*empty.result,
              (json{{"certificates", json::array()}, {"caCertificates", json::array()}}));
}

TEST_F(ApiParams, PinStatus) {
    expectInvalid("pin.status", json::object(), "cardId");
    expectInvalid("pin.status", {{"cardId", 7}}, "cardId");
    expectInvalid("pin.status", {{"cardId", "has space"}}, "cardId");
    expectInvalid("pin.status", {{"cardId", "a:b"}}, "cardId");
    expectInvalid("pin.status", {{"cardId", std::string(129, 'a')}}, "cardId");
    expectInvalid("pin.status", {{"cardId", "abc"}, {"pin", "123456"}}, "pin");
    expectReason("pin.status", {{"cardId", "abc"}}, "NO_READER");
}

TEST_F(ApiParams, PinVerify) {
    expectInvalid("pin.verify", {{"pin", "123456"}}, "cardId");
    expectInvalid("pin.verify", {{"cardId", "abc"}, {"pin", 123456}}, "pin");
    expectInvalid("pin.verify", {{"cardId", "abc"}, {"pin", nullptr}}, "pin");
    expectInvalid("pin.verify", {{"cardId", "abc"}, {"lastAttempt", "yes"}}, "lastAttempt");
    expectInvalid("pin.verify", {{"cardId", "abc"}, {"newPin", "123456"}}, "newPin");
    expectReason("pin.verify", {{"cardId", "abc"}, {"pin", "123456"}}, "NO_READER");
}

TEST_F(ApiParams, PinChangeUnblockAndPukChangeTakeTheirPairTogether) {
    expectInvalid("pin.change", {{"cardId", "abc"}, {"pin", "123456"}}, "newPin");
    expectInvalid("pin.change", {{"cardId", "abc"}, {"newPin", "123456"}}, "pin");
    expectInvalid("pin.change", {{"cardId", "abc"}, {"puk", "12345678"}, {"newPin", "123456"}},
                  "puk");
    expectInvalid("pin.unblock", {{"cardId", "abc"}, {"puk", "12345678"}}, "newPin");
    expectInvalid("pin.unblock", {{"cardId", "abc"}, {"newPin", "123456"}}, "puk");
    expectInvalid("pin.unblock", {{"cardId", "abc"}, {"pin", "123456"}, {"newPin", "123456"}},
                  "pin");
    expectInvalid("puk.change", {{"cardId", "abc"}, {"puk", "12345678"}}, "newPuk");
    expectInvalid("puk.change", {{"cardId", "abc"}, {"newPuk", "12345678"}}, "puk");
    expectInvalid("puk.change", {{"cardId", "abc"}, {"puk", 1}, {"newPuk", "12345678"}}, "puk");
    expectReason("pin.change", {{"cardId", "abc"}}, "NO_READER");  // both on the pinpad
    expectReason("puk.change", {{"cardId", "abc"}, {"puk", "12345678"}, {"newPuk", "87654321"}},
                 "NO_READER");
}

TEST_F(ApiParams, Sign) {
    const json base{{"certificateId", kCert}, {"digest", kDigest256}};
    const auto with = [&](json extra) {
        json p = base;
        for (const auto& [k, v] : extra.items()) {
            if (v.is_null() && k.front() == '-') {
                p.erase(k.substr(1));
            } else {
                p[k] = v;
            }
        }
        return p;
    };
    expectInvalid("sign", {{"digest", kDigest256}}, "certificateId");
    expectInvalid("sign", with({{"certificateId", "bad id!"}}), "certificateId");
    expectInvalid("sign", with({{"data", "AAAA"}}), "data");
    expectInvalid("sign", with({{"-digest", nullptr}}), "digest");
    expectInvalid("sign", with({{"digest", "AAAA"}}), "digest");  // 3 bytes for SHA-256
    expectInvalid("sign", with({{"hash", "SHA-384"}}), "digest");
    expectInvalid("sign", with({{"hash", "SHA-1"}}), "hash");
    expectInvalid("sign", with({{"digest", "not base64"}}), "digest");
    expectInvalid("sign", with({{"digest", "4yFFq1Xi8EoNHTDi5kFHMAWutJ4d/yCl/J+v+2b51rd="}}),
                  "digest");  // non-canonical last character
    expectInvalid("sign", with({{"digest", ""}}), "digest");
    expectInvalid("sign", with({{"-digest", nullptr}, {"data", "AA="}}), "data");
    expectInvalid("sign", with({{"-digest", nullptr}, {"data", nullptr}}), "data");
    expectInvalid("sign", with({{"algorithm", "RSA"}}), "algorithm");
    expectInvalid("sign", with({{"format", "pdf"}}), "format");
    expectInvalid("sign", with({{"cms", {{"detached", true}}}}), "cms");
    expectInvalid("sign", with({{"format", "raw"}, {"cms", json::object()}}), "cms");
    expectInvalid("sign", with({{"format", "cms"}, {"cms", {{"detached", false}}}}),
                  "cms.detached");
    expectInvalid("sign", with({{"format", "cms"}, {"cms", {{"detached", "no"}}}}), "cms.detached");
    expectInvalid("sign", with({{"format", "cms"}, {"cms", {{"signingTime", 1}}}}),
                  "cms.signingTime");
    expectInvalid("sign", with({{"format", "cms"}, {"cms", {{"policy", "x"}}}}), "cms.policy");
    expectInvalid("sign", with({{"format", "cms"}, {"cms", "detached"}}), "cms");
    expectInvalid("sign", with({{"signatureEncoding", "raw"}}), "signatureEncoding");
    expectInvalid("sign", with({{"algorithm", "RSA-PSS"}, {"signatureEncoding", "p1363"}}),
                  "signatureEncoding");
    expectInvalid("sign", with({{"format", "cms"}, {"signatureEncoding", "der"}}),
                  "signatureEncoding");
    expectInvalid("sign", with({{"pin", 1234}}), "pin");
    expectInvalid("sign", with({{"lastAttempt", 1}}), "lastAttempt");
    expectInvalid("sign", with({{"challenge", "x"}}), "challenge");
    // Valid shapes reach the card checks.
    expectReason("sign", base, "NO_READER");
    expectReason("sign", with({{"-digest", nullptr}, {"data", ""}}), "NO_READER");
    expectReason("sign",
                 with({{"-digest", nullptr},
                       {"data", "AAAA"},
                       {"format", "cms"},
                       {"cms", {{"detached", false}, {"signingTime", false}}}}),
                 "NO_READER");
    expectReason("sign",
                 with({{"hash", "SHA-512"},
                       {"digest",
                        "CtwIeMzRl76PBsTmb115KwNOQdkRpqqfUfOSXkYoaXCvqilqtobuvuXu7JdiQPXaw6DHtA7t4w"
                        "JorEu98sGIPg=="},
                       {"algorithm", "ECDSA"},
                       {"signatureEncoding", "p1363"}}),
                 "NO_READER");
}

TEST_F(ApiParams, Decrypt) {
    expectInvalid("decrypt", {{"cms", "AAAA"}}, "certificateId");
    expectInvalid("decrypt", {{"certificateId", kCert}}, "algorithm");
    expectInvalid("decrypt", {{"certificateId", kCert}, {"algorithm", "RSA-OAEP"}}, "ciphertext");
    expectInvalid("decrypt",
                  {{"certificateId", kCert}, {"algorithm", "RSA"}, {"ciphertext", "AAAA"}},
                  "algorithm");
    expectInvalid("decrypt",
                  {{"certificateId", kCert},
                   {"algorithm", "RSAES-PKCS1-v1_5"},
                   {"hash", "SHA-256"},
                   {"ciphertext", "AAAA"}},
                  "hash");
    expectInvalid("decrypt",
                  {{"certificateId", kCert}, {"algorithm", "RSA-OAEP"}, {"ciphertext", "AA"}},
                  "ciphertext");
    expectInvalid("decrypt", {{"certificateId", kCert}, {"cms", "AAAA"}, {"algorithm", "RSA-OAEP"}},
                  "algorithm");
    expectInvalid("decrypt", {{"certificateId", kCert}, {"cms", "AAAA"}, {"hash", "SHA-256"}},
                  "hash");
    expectInvalid("decrypt", {{"certificateId", kCert}, {"cms", "AAAA"}, {"ciphertext", "AAAA"}},
                  "ciphertext");
    expectInvalid("decrypt", {{"certificateId", kCert}, {"cms", "A==="}}, "cms");
    expectInvalid("decrypt", {{"certificateId", kCert}, {"cms", ""}}, "cms");
    expectInvalid("decrypt", {{"certificateId", kCert}, {"cms", "AAAA"}, {"data", "AAAA"}}, "data");
    expectReason("decrypt", {{"certificateId", kCert}, {"cms", "AAAA"}}, "NO_READER");
    expectReason("decrypt",
                 {{"certificateId", kCert},
                  {"algorithm", "RSA-OAEP"},
                  {"hash", "SHA-512"},
                  {"ciphertext", "AAAA"}},
                 "NO_READER");
}

TEST_F(ApiParams, Register) {
    const std::string challenge(44, 'x');
    expectInvalid("register", {{"challenge", challenge}}, "certificateId");
    expectInvalid("register", {{"certificateId", kCert}}, "challenge");
    expectInvalid("register", {{"certificateId", kCert}, {"challenge", std::string(43, 'x')}},
                  "challenge");
    expectInvalid("register", {{"certificateId", kCert}, {"challenge", std::string(129, 'x')}},
                  "challenge");
    expectInvalid("register", {{"certificateId", kCert}, {"challenge", std::string(43, 'x') + " "}},
                  "challenge");
    expectInvalid("register", {{"certificateId", kCert}, {"challenge", 5}}, "challenge");
    expectInvalid("register", {{"certificateId", kCert}, {"challenge", challenge}, {"origin", "x"}},
                  "origin");
    expectReason("register", {{"certificateId", kCert}, {"challenge", challenge}}, "NO_READER");
}

TEST_F(ApiParams, OversizedBinaryParameterIsPayloadTooLarge) {
    service->stop(std::chrono::milliseconds(0));
    options.limits.maxParameterBytes = 16;
    startService();
    const Answer data = call("sign", {{"certificateId", kCert}, {"data", std::string(24, 'A')}});
    EXPECT_EQ(data.reason(), "PAYLOAD_TOO_LARGE");
    EXPECT_EQ(data.data(), (json{{"field", "data"}, {"limit", 16}}));
    const Answer atLimit =
        call("sign", {{"certificateId", kCert}, {"data", std::string(20, 'A') + "AA=="}});
    EXPECT_EQ(atLimit.reason(), "NO_READER");  // 16 bytes pass
    const Answer ciphertext = call("decrypt", {{"certificateId", kCert},
                                               {"algorithm", "RSA-OAEP"},
                                               {"ciphertext", std::string(400, 'A')}});
    EXPECT_EQ(ciphertext.reason(), "PAYLOAD_TOO_LARGE");
    EXPECT_EQ(ciphertext.data()["field"], "ciphertext");
    const Answer cms = call("decrypt", {{"certificateId", kCert}, {"cms", std::string(400, 'A')}});
    EXPECT_EQ(cms.reason(), "PAYLOAD_TOO_LARGE");
    EXPECT_EQ(cms.data()["field"], "cms");
}

TEST_F(ApiParams, MethodOutsideTheOriginCapabilitiesIsNotPermittedBeforeParamsAreLookedAt) {
    Capabilities readOnly;
    readOnly.add(Capability::Read);
    const std::vector<std::pair<std::string, std::string>> cases{
        {"sign", "sign"},         {"decrypt", "decrypt"},   {"register", "register"},
        {"pin.verify", "manage"}, {"pin.change", "manage"}, {"pin.unblock", "manage"},
        {"puk.change", "manage"}};
    for (const auto& [method, capability] : cases) {
        const Answer answer = call(method, {{"bogus", true}}, readOnly);
        EXPECT_EQ(answer.reason(), "NOT_PERMITTED") << method;
        EXPECT_EQ(answer.error->code, -32050);
        EXPECT_EQ(answer.data(), (json{{"capability", capability}})) << method;
    }
    Capabilities signOnly;
    signOnly.add(Capability::Sign);
    for (const char* method :
         {"system.info", "readers.list", "events.subscribe", "certificates.list", "pin.status"}) {
        const Answer answer = call(method, json::object(), signOnly);
        EXPECT_EQ(answer.reason(), "NOT_PERMITTED") << method;
        EXPECT_EQ(answer.data(), (json{{"capability", "read"}})) << method;
    }
    // The default set has no manage.
    EXPECT_EQ(call("pin.verify", {{"cardId", "abc"}}, Capabilities::defaults()).reason(),
              "NOT_PERMITTED");
}

TEST_F(ApiParams, SecretsAreWipedFromTheRequestWhateverTheAnswer) {
    json refused{{"cardId", "abc"}, {"pin", "123456"}};
    Capabilities readOnly;
    readOnly.add(Capability::Read);
    EXPECT_EQ(call("pin.verify", refused, readOnly).reason(), "NOT_PERMITTED");
    EXPECT_EQ(refused["pin"], "");

    json wrongMethod{
        {"pin", "123456"}, {"newPin", "654321"}, {"puk", "12345678"}, {"newPuk", "87654321"}};
    EXPECT_EQ(call("system.info", wrongMethod).reason(), "INVALID_PARAMS");
    for (const char* name : {"pin", "newPin", "puk", "newPuk"}) {
        EXPECT_EQ(wrongMethod[name], "") << name;
    }

    json queued{{"cardId", "abc"}, {"puk", "12345678"}, {"newPin", "135790"}};
    EXPECT_EQ(call("pin.unblock", queued).reason(), "NO_READER");
    EXPECT_EQ(queued["puk"], "");
    EXPECT_EQ(queued["newPin"], "");
}

TEST_F(ApiParams, SystemInfoEchoesTheHandshakeOrigin) {
    const Answer answer = call("system.info", json::object());
    ASSERT_TRUE(answer.result);
    EXPECT_EQ(*answer.result, (json{{"name", "TenderKey"},
                                    {"version", "0.1.0"},
                                    {"protocol", 1},
                                    {"backends", {"piv"}},
                                    {"origin", "https://web.pcc.gov.tw"}}));
}

TEST_F(ApiParams, ServiceUnavailableWhenPcscdIsGone) {
    backend->serviceUnavailable();
    settle();
    EXPECT_EQ(call("readers.list", json::object()).reason(), "SERVICE_UNAVAILABLE");
    EXPECT_EQ(call("certificates.list", json::object()).reason(), "SERVICE_UNAVAILABLE");
    EXPECT_EQ(call("pin.status", {{"cardId", "abc"}}).reason(), "SERVICE_UNAVAILABLE");
    EXPECT_EQ(call("sign", {{"certificateId", kCert}, {"digest", kDigest256}}).reason(),
              "SERVICE_UNAVAILABLE");
    EXPECT_TRUE(call("system.info", json::object()).result.has_value());
    backend->serviceAvailable();
    settle();
    EXPECT_TRUE(call("readers.list", json::object()).result.has_value());
}

}  // namespace
}  // namespace tk::test
