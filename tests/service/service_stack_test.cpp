// The service over the real stack: ApiService with its PC/SC backend (card::CardSession per
// reader, pcsc::ReaderMonitor) against pcscd with the vpcd driver and two tenderkey-vcard cards,
// started by tests/harness/with-cards. Every test gets a fresh pcscd and fresh cards.
//
// The virtual card: 9A RSA clientAuth, 9C RSA signature (PIN always), 9D RSA keyEncipherment,
// 9E P-256 without PIN, 82 P-384 digitalSignature + keyAgreement; PIN 123456, PUK 12345678.

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fakes/service_fixture.hpp"
#include "service/api_service.hpp"
#include "service/base64.hpp"
#include "support/test_keys.hpp"

namespace tk::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

std::string environment(const std::string& name) {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr || *value == '\0') {
        throw std::runtime_error(name + " is not set: run this under tests/harness/with-cards");
    }
    return value;
}

std::string readerName(int index) {
    return environment("TK_READER_" + std::to_string(index));
}

// One line to card `index`'s control socket ("remove", "insert"); returns the answer line.
std::string controlCard(int index, const std::string& command) {
    const std::string path = environment("TK_VCARD_CONTROL_" + std::to_string(index));
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
    }
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
    std::string answer;
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) {
        const std::string line = command + "\n";
        if (::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size())) {
            char c = 0;
            pollfd readable{fd, POLLIN, 0};
            while (::poll(&readable, 1, 5000) == 1 && ::read(fd, &c, 1) == 1 && c != '\n') {
                answer += c;
            }
        }
    }
    ::close(fd);
    return answer;
}

void pcscd(const std::string& action) {
    const std::string command = "'" + environment("TK_HARNESS_PCSCD") + "' " + action;
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
}

class ServiceStack : public ::testing::Test {
  protected:
    void start(bool developmentMode = true) {
        service::Config config;
        config.developmentMode = developmentMode;
        service = service::makeService(config, "0.1.0");
        service->connectionOpened(1, [this](const json& event) {
            {
                std::lock_guard lock(mutex);
                events.push_back(event);
            }
            arrived.notify_all();
        });
        service->start();
        ASSERT_TRUE(service->cards().waitUntilSettled(10s));
    }

    void TearDown() override {
        if (service) {
            service->stop(5s);
        }
    }

    // `params` is handed over: the service wipes the secrets in it.
    Answer call(const std::string& method, json&& params) {
        PendingCall pending;
        service::CallContext context;
        context.connectionId = 1;
        context.origin = "https://web.pcc.gov.tw";
        context.capabilities = service::Capabilities::all();
        context.received = std::chrono::steady_clock::now();
        service->call(context, method, params, pending.completion());
        return pending.wait(30s);
    }

    // Calls until `done` holds for the answer (the daemon learns of card changes from pcscd,
    // which looks at vpcd every 0.4 s).
    Answer callUntil(const std::string& method, const json& params,
                     const std::function<bool(const Answer&)>& done) {
        Answer answer;
        for (int i = 0; i < 100; ++i) {
            answer = call(method, json(params));
            if (done(answer)) {
                return answer;
            }
            std::this_thread::sleep_for(100ms);
        }
        ADD_FAILURE() << method << " never reached the expected state; last: " << answer.reason();
        return answer;
    }

    // Waits for an event of `type` (and reader) not seen yet.
    std::optional<json> waitEvent(const std::string& type, const std::string& reader,
                                  std::chrono::milliseconds timeout = 10s) {
        std::unique_lock lock(mutex);
        std::optional<json> found;
        arrived.wait_for(lock, timeout, [&] {
            for (; seen < events.size(); ++seen) {
                if (events[seen]["type"] == type && events[seen]["reader"] == reader) {
                    found = events[seen++];
                    return true;
                }
            }
            return false;
        });
        return found;
    }

    json certificate(const std::string& slot, int readerIndex = 0) {
        const Answer answer = call("certificates.list", {{"reader", readerName(readerIndex)}});
        EXPECT_TRUE(answer.result) << answer.reason();
        for (const json& c : (*answer.result)["certificates"]) {
            if (c["slot"] == slot) {
                return c;
            }
        }
        ADD_FAILURE() << "no certificate in slot " << slot;
        return json::object();
    }

    std::unique_ptr<service::ApiService> service;
    std::mutex mutex;
    std::condition_variable arrived;
    std::vector<json> events;
    std::size_t seen = 0;
};

Bytes der(const json& certificate) {
    return *service::decodeBase64(certificate["der"].get<std::string>());
}

TEST_F(ServiceStack, IdentifiesBothCardsAndListsTheirCertificates) {
    start();
    const Answer readers = call("readers.list", json::object());
    ASSERT_TRUE(readers.result) << readers.reason();
    ASSERT_EQ((*readers.result)["readers"].size(), 2u) << readers.result->dump();
    for (int i = 0; i < 2; ++i) {
        const json& reader = (*readers.result)["readers"][i];
        EXPECT_EQ(reader["name"], readerName(i));
        EXPECT_EQ(reader["cardPresent"], true);
        EXPECT_EQ(reader["card"]["type"], "piv");
        EXPECT_FALSE(reader["card"]["atr"].get<std::string>().empty());
    }
    EXPECT_NE((*readers.result)["readers"][0]["card"]["id"],
              (*readers.result)["readers"][1]["card"]["id"]);
    EXPECT_EQ(service->readerCount(), 2);

    const Answer list = call("certificates.list", {{"reader", readerName(0)}});
    ASSERT_TRUE(list.result) << list.reason();
    std::map<std::string, json> bySlot;
    for (const json& c : (*list.result)["certificates"]) {
        bySlot[c["slot"]] = c["usableFor"];
    }
    EXPECT_EQ(bySlot["9a"], json({"register"}));
    EXPECT_EQ(bySlot["9c"], json({"sign"}));
    EXPECT_EQ(bySlot["9d"], json({"decrypt"}));
    EXPECT_EQ(bySlot["9e"], json::array());
    // Retired key management, digitalSignature and keyAgreement: decrypt only.
    EXPECT_EQ(bySlot["82"], json({"decrypt"}));
}

TEST_F(ServiceStack, SignaturesFromTheCardVerifyWithOpenSsl) {
    start();
    const json signer = certificate("9c");
    const Bytes digest = opensslDigest(card::HashAlgorithm::Sha256, bytesOf("bid"));
    Answer a = call("sign", {{"certificateId", signer["id"]},
                             {"pin", "123456"},
                             {"digest", service::encodeBase64(digest)}});
    ASSERT_TRUE(a.result) << a.reason() << " " << (a.error ? a.error->message : "");
    EXPECT_TRUE(opensslVerify(der(signer), card::SignatureScheme::RsaPkcs1v15,
                              card::HashAlgorithm::Sha256, digest,
                              *service::decodeBase64((*a.result)["signature"].get<std::string>())));
}

// The cards' signature key (9C) is EC P-384.
class ServiceStackEcSignature : public ServiceStack {};

TEST_F(ServiceStackEcSignature, EcdsaP384SignatureFromTheCardVerifiesWithOpenSsl) {
    start();
    const json ec = certificate("9c");
    const Bytes data = bytesOf("P-384 content");
    const Answer a = call("sign", {{"certificateId", ec["id"]},
                                   {"pin", "123456"},
                                   {"hash", "SHA-384"},
                                   {"data", service::encodeBase64(data)}});
    ASSERT_TRUE(a.result) << a.reason();
    EXPECT_TRUE(opensslVerify(der(ec), card::SignatureScheme::Ecdsa, card::HashAlgorithm::Sha384,
                              opensslDigest(card::HashAlgorithm::Sha384, data),
                              *service::decodeBase64((*a.result)["signature"].get<std::string>())));
}

TEST_F(ServiceStack, DecryptsWithTheCardKey) {
    start();
    const json recipient = certificate("9d");
    const Bytes plaintext = bytesOf("content-encryption key");
    const Bytes ciphertext = opensslEncrypt(der(recipient), card::RsaDecryptPadding::Oaep,
                                            card::HashAlgorithm::Sha256, plaintext);
    const Answer a = call("decrypt", {{"certificateId", recipient["id"]},
                                      {"pin", "123456"},
                                      {"algorithm", "RSA-OAEP"},
                                      {"ciphertext", service::encodeBase64(ciphertext)}});
    ASSERT_TRUE(a.result) << a.reason();
    EXPECT_EQ(service::decodeBase64((*a.result)["data"].get<std::string>()), plaintext);
}

TEST_F(ServiceStack, WrongPinReportsRetriesLeftAndStatusFollows) {
    start();
    const std::string cardId = certificate("9c")["cardId"];
    const Answer wrong = call("pin.verify", {{"cardId", cardId}, {"pin", "000000"}});
    EXPECT_EQ(wrong.reason(), "PIN_INCORRECT");
    EXPECT_EQ(wrong.data(), (json{{"retriesLeft", 2}}));
    const Answer status = call("pin.status", {{"cardId", cardId}});
    ASSERT_TRUE(status.result) << status.reason();
    EXPECT_EQ(*status.result, (json{{"retriesLeft", 2}, {"blocked", false}, {"pinpad", false}}));
    EXPECT_TRUE(call("pin.verify", {{"cardId", cardId}, {"pin", "123456"}}).result.has_value());
}

TEST_F(ServiceStack, CardRemovalAndReinsertionAreEventsAndTheCardIsGoneMeanwhile) {
    start();
    const std::string cardId = certificate("9c")["cardId"];
    ASSERT_TRUE(call("events.subscribe", json::object()).result);
    controlCard(0, "remove");
    const auto removed = waitEvent("card.removed", readerName(0));
    ASSERT_TRUE(removed);
    EXPECT_EQ((*removed)["cardId"], cardId);
    EXPECT_EQ(call("pin.status", {{"cardId", cardId}}).reason(), "NO_CARD");
    EXPECT_EQ(call("certificates.list", {{"reader", readerName(0)}}).reason(), "NO_CARD");

    controlCard(0, "insert");
    const auto inserted = waitEvent("card.inserted", readerName(0));
    ASSERT_TRUE(inserted);
    EXPECT_EQ((*inserted)["card"]["id"], cardId);
    EXPECT_TRUE(call("pin.status", {{"cardId", cardId}}).result.has_value());
}

TEST_F(ServiceStack, PcscdGoneIsServiceUnavailableUntilItComesBack) {
    start();
    ASSERT_TRUE(call("events.subscribe", json::object()).result);
    pcscd("stop");
    ASSERT_TRUE(waitEvent("reader.removed", readerName(0)));
    callUntil("readers.list", json::object(),
              [](const Answer& a) { return a.reason() == "SERVICE_UNAVAILABLE"; });
    EXPECT_EQ(call("certificates.list", json::object()).reason(), "SERVICE_UNAVAILABLE");
    pcscd("start");
    ASSERT_TRUE(waitEvent("card.inserted", readerName(0), 20s));
    const Answer readers = callUntil("readers.list", json::object(), [](const Answer& a) {
        return a.result && (*a.result)["readers"].size() == 2 &&
               (*a.result)["readers"][1]["cardPresent"] == true;
    });
    const std::string cardId = certificate("9c")["cardId"];
    EXPECT_TRUE(call("pin.status", {{"cardId", cardId}}).result.has_value());
}

TEST_F(ServiceStack, TwoCardsSignAtTheSameTime) {
    start();
    const json first = certificate("9c", 0);
    const json second = certificate("9c", 1);
    const Bytes digest = opensslDigest(card::HashAlgorithm::Sha256, bytesOf("parallel"));
    std::vector<PendingCall> calls;
    for (int i = 0; i < 3; ++i) {
        for (const json* c : {&first, &second}) {
            PendingCall pending;
            service::CallContext context;
            context.connectionId = 1;
            context.capabilities = service::Capabilities::all();
            context.received = std::chrono::steady_clock::now();
            service->call(context, "sign",
                          {{"certificateId", (*c)["id"]},
                           {"pin", "123456"},
                           {"digest", service::encodeBase64(digest)}},
                          pending.completion());
            calls.push_back(pending);
        }
    }
    for (std::size_t i = 0; i < calls.size(); ++i) {
        const Answer a = calls[i].wait(60s);
        ASSERT_TRUE(a.result) << a.reason();
        const json& signer = i % 2 == 0 ? first : second;
        EXPECT_TRUE(opensslVerify(
            der(signer), card::SignatureScheme::RsaPkcs1v15, card::HashAlgorithm::Sha256, digest,
            *service::decodeBase64((*a.result)["signature"].get<std::string>())));
    }
}

TEST_F(ServiceStack, VirtualReadersAreInvisibleOutsideDevelopmentMode) {
    start(false);
    const Answer readers = call("readers.list", json::object());
    ASSERT_TRUE(readers.result) << readers.reason();
    EXPECT_EQ(*readers.result, (json{{"readers", json::array()}}));
    EXPECT_EQ(*call("certificates.list", json::object()).result,
              (json{{"certificates", json::array()}, {"caCertificates", json::array()}}));
}

}  // namespace
}  // namespace tk::test
