// tk-bench-pcsc: the floor of a signature — the same APDUs tenderkeyd sends for a warm RSA-2048
// signature with slot 9C, sent with raw PC/SC calls by a program that does nothing else.
//
//   tk-bench-pcsc READER COUNT [PIN]
//
// One shared connection (T=1), then COUNT times, each inside one transaction: SELECT PIV,
// VERIFY (status), VERIFY (PIN), GENERAL AUTHENTICATE in two chained parts, GET RESPONSE,
// VERIFY P1=FF (log out). Prints samples, p50/p99/max in milliseconds and APDUs per signature.
// Exits 1 when the card answers anything unexpected.
#include <openssl/evp.h>
#include <winscard.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using Bytes = std::vector<unsigned char>;

struct Card {
    SCARDHANDLE handle = 0;
    int apdus = 0;

    Bytes transmit(const Bytes& command) {
        unsigned char response[512];
        DWORD length = sizeof response;
        const LONG rv =
            SCardTransmit(handle, SCARD_PCI_T1, command.data(), static_cast<DWORD>(command.size()),
                          nullptr, response, &length);
        if (rv != SCARD_S_SUCCESS) {
            throw std::runtime_error(std::string("SCardTransmit: ") + pcsc_stringify_error(rv));
        }
        ++apdus;
        return Bytes(response, response + length);
    }
};

unsigned sw(const Bytes& r) {
    return r.size() < 2 ? 0 : (r[r.size() - 2] << 8) | r[r.size() - 1];
}

void expect(const Bytes& r, unsigned wanted, const char* what) {
    if (sw(r) != wanted && !(wanted == 0x6100 && (sw(r) & 0xff00) == 0x6100)) {
        char text[96];
        std::snprintf(text, sizeof text, "%s answered %04x", what, sw(r));
        throw std::runtime_error(text);
    }
}

// EMSA-PKCS1-v1_5 block of SHA-256(data) for a 2048-bit key.
Bytes pkcs1Block(const std::string& data) {
    static const unsigned char prefix[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                           0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                           0x01, 0x05, 0x00, 0x04, 0x20};
    unsigned char digest[32];
    unsigned int n = 0;
    EVP_Digest(data.data(), data.size(), digest, &n, EVP_sha256(), nullptr);
    Bytes block(256, 0xff);
    block[0] = 0x00;
    block[1] = 0x01;
    const std::size_t tail = sizeof prefix + 32;
    block[256 - tail - 1] = 0x00;
    std::copy(prefix, prefix + sizeof prefix, block.end() - static_cast<long>(tail));
    std::copy(digest, digest + 32, block.end() - 32);
    return block;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s READER COUNT [PIN]\n", argv[0]);
        return 2;
    }
    const std::string reader = argv[1];
    const int count = std::atoi(argv[2]);
    const std::string pin = argc > 3 ? argv[3] : "123456";
    SCARDCONTEXT context = 0;
    Card card;
    DWORD protocol = 0;
    if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &context) != SCARD_S_SUCCESS ||
        SCardConnect(context, reader.c_str(), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1, &card.handle,
                     &protocol) != SCARD_S_SUCCESS) {
        std::fprintf(stderr, "tk-bench-pcsc: cannot connect to %s\n", reader.c_str());
        return 1;
    }
    const Bytes select = {0x00, 0xa4, 0x04, 0x00, 0x09, 0xa0, 0x00, 0x00,
                          0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x00};
    const Bytes status = {0x00, 0x20, 0x00, 0x80};
    Bytes verify = {0x00, 0x20, 0x00, 0x80, 0x08};
    for (std::size_t i = 0; i < 8; ++i) {
        verify.push_back(i < pin.size() ? static_cast<unsigned char>(pin[i]) : 0xff);
    }
    const Bytes logout = {0x00, 0x20, 0xff, 0x80};
    Bytes template_ = {0x7c, 0x82, 0x01, 0x06, 0x82, 0x00, 0x81, 0x82, 0x01, 0x00};
    const Bytes block = pkcs1Block("TenderKey benchmark: bid 2025-0042.");
    template_.insert(template_.end(), block.begin(), block.end());
    Bytes part1 = {0x10, 0x87, 0x07, 0x9c, 0xff};
    part1.insert(part1.end(), template_.begin(), template_.begin() + 255);
    Bytes part2 = {0x00, 0x87, 0x07, 0x9c, static_cast<unsigned char>(template_.size() - 255)};
    part2.insert(part2.end(), template_.begin() + 255, template_.end());
    part2.push_back(0x00);

    std::vector<double> samples;
    int apdusPerSignature = 0;
    try {
        for (int i = 0; i < count; ++i) {
            const auto start = std::chrono::steady_clock::now();
            const int before = card.apdus;
            if (SCardBeginTransaction(card.handle) != SCARD_S_SUCCESS) {
                throw std::runtime_error("SCardBeginTransaction failed");
            }
            expect(card.transmit(select), 0x9000, "SELECT");
            card.transmit(status);  // 63Cx: tries left
            expect(card.transmit(verify), 0x9000, "VERIFY");
            expect(card.transmit(part1), 0x9000, "GENERAL AUTHENTICATE (1)");
            Bytes answer = card.transmit(part2);
            expect(answer, 0x6100, "GENERAL AUTHENTICATE (2)");
            Bytes data(answer.begin(), answer.end() - 2);
            const Bytes getResponse = {0x00, 0xc0, 0x00, 0x00, answer.back()};
            answer = card.transmit(getResponse);
            expect(answer, 0x9000, "GET RESPONSE");
            data.insert(data.end(), answer.begin(), answer.end() - 2);
            if (data.size() != 264 || data[0] != 0x7c) {
                throw std::runtime_error("unexpected signature template");
            }
            expect(card.transmit(logout), 0x9000, "VERIFY (log out)");
            SCardEndTransaction(card.handle, SCARD_LEAVE_CARD);
            samples.push_back(
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                    .count());
            apdusPerSignature = card.apdus - before;
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "tk-bench-pcsc: %s\n", e.what());
        return 1;
    }
    SCardDisconnect(card.handle, SCARD_LEAVE_CARD);
    SCardReleaseContext(context);
    std::sort(samples.begin(), samples.end());
    const auto at = [&](double p) {
        return samples[std::min(samples.size() - 1,
                                static_cast<std::size_t>(p * (samples.size() - 1) + 0.5))];
    };
    std::printf("label=raw-pcsc samples=%zu apdus=%d p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
                samples.size(), apdusPerSignature, at(0.5), at(0.99), samples.back());
    return 0;
}
