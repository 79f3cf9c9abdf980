// X.509 parsing (daemon/crypto/certificate) on hostile DER: crypto::Error or a complete
// CertificateInfo, nothing else.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "crypto/certificate.hpp"
#include "crypto/errors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        const tk::crypto::CertificateInfo info =
            tk::crypto::parseCertificate(tk::card::ByteView(data, size));
        // The view the daemon builds from it must be formattable whatever the dates.
        const std::string from = tk::crypto::formatRfc3339(info.notBefore);
        const std::string to = tk::crypto::formatRfc3339(info.notAfter);
        if (from.empty() || to.empty() || info.keyUsage.size() > 9) {
            std::abort();
        }
        if (!info.hasKeyUsage && !info.keyUsage.empty()) {
            std::abort();
        }
    } catch (const tk::crypto::Error&) {
    }
    return 0;
}
