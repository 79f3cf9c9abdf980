// tk_card_apdu_economy: how many APDUs the card session sends per operation once its cache is
// warm, counted from the virtual card's APDU log (GET RESPONSE and chained parts included, as
// for the other programs tests/card/apdu-economy.sh measures). Runs inside
// tests/harness/with-cards on card 0 (PIN 123456); prints "operation count" lines.
//
// A CLI invocation is a cold start (a new process reads the card's identity and certificates
// again), so the library's warm numbers are what the daemon, which keeps one session per card,
// pays per request.

#include <exception>
#include <functional>
#include <iostream>
#include <memory>
#include <string>

#include "card/session/card_session.hpp"
#include "card/session/token_cache.hpp"
#include "support/card_helpers.hpp"
#include "support/harness.hpp"
#include "support/openssl_checks.hpp"

namespace {

using namespace tk;

int measure() {
    card::CardSessionOptions options;
    options.devMode = true;
    card::CardSession session(test::readerName(0), options);
    const test::ApduLog log(0);
    const auto count = [&log](const std::function<void()>& operation) {
        const std::size_t mark = log.mark();
        operation();
        return log.apduCountSince(mark);
    };
    const card::Bytes message = test::randomBytes(1000);
    std::cout << "certs-cold " << count([&] { (void)session.certificates(); }) << "\n";
    std::cout << "certs " << count([&] { (void)session.certificates(); }) << "\n";
    std::cout << "pin-status " << count([&] { (void)session.pinStatus(); }) << "\n";
    std::cout << "sign-rsa " << count([&] {
        (void)session.sign(test::signRequest("9c", card::SignatureScheme::RsaPkcs1v15,
                                             card::HashAlgorithm::Sha256, message,
                                             test::pin(test::kPin)));
    }) << "\n";
    std::cout << "sign-ecdsa " << count([&] {
        (void)session.sign(test::signRequest("9e", card::SignatureScheme::Ecdsa,
                                             card::HashAlgorithm::Sha256, message, test::noPin()));
    }) << "\n";
    const card::Bytes ciphertext = test::opensslEncrypt(
        test::entryFor(session.certificates(), "9d").der, card::RsaDecryptPadding::Pkcs1v15,
        card::HashAlgorithm::Sha256, card::Bytes(message.begin(), message.begin() + 100));
    std::cout << "decrypt " << count([&] {
        card::DecryptRequest request;
        request.slot = "9d";
        request.ciphertext = ciphertext;
        request.pin = test::pin(test::kPin);
        (void)session.decrypt(request);
    }) << "\n";
    // A known card taken out and put back: recognised from its CHUID, its key history and
    // certificate objects read again and compared with what the kept token read.
    auto cache = std::make_shared<card::TokenCache>();
    card::CardSession kept(test::readerName(0), options, cache);
    (void)kept.certificates();
    test::controlCard(0, "remove");
    test::waitForCard(0, false);
    test::controlCard(0, "insert");
    test::waitForCard(0, true);
    std::cout << "reinsert " << count([&] { (void)kept.certificates(); }) << "\n";
    return 0;
}

}  // namespace

int main() {
    try {
        return measure();
    } catch (const std::exception& e) {
        std::cerr << "tk_card_apdu_economy: " << e.what() << std::endl;
        return 1;
    }
}
