#include "crypto/ecdsa.hpp"

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>

#include <algorithm>
#include <memory>

#include "crypto/detail/openssl.hpp"
#include "crypto/errors.hpp"

namespace tk::crypto {

namespace {

using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, detail::Deleter<ECDSA_SIG_free>>;

card::Bytes encode(const ECDSA_SIG* sig) {
    const int length = i2d_ECDSA_SIG(sig, nullptr);
    if (length <= 0) {
        throw Error(detail::openSslMessage("ECDSA signature encoding failed"));
    }
    card::Bytes out(static_cast<std::size_t>(length));
    unsigned char* p = out.data();
    i2d_ECDSA_SIG(sig, &p);
    return out;
}

}  // namespace

card::Bytes ecdsaDerToP1363(card::ByteView der, std::size_t fieldBytes) {
    const unsigned char* p = der.data();
    EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
    if (!sig || p != der.data() + der.size()) {
        ERR_clear_error();
        throw Error("not a DER ECDSA signature");
    }
    // Only the canonical encoding is accepted: re-encoding must give the same bytes.
    if (encode(sig.get()) != card::Bytes(der.begin(), der.end())) {
        throw Error("ECDSA signature not in canonical DER");
    }
    const BIGNUM* r = nullptr;
    const BIGNUM* s = nullptr;
    ECDSA_SIG_get0(sig.get(), &r, &s);
    for (const BIGNUM* v : {r, s}) {
        if (BN_is_negative(v) || BN_is_zero(v) ||
            static_cast<std::size_t>(BN_num_bytes(v)) > fieldBytes) {
            throw Error("ECDSA signature value outside the field");
        }
    }
    card::Bytes out(2 * fieldBytes);
    const int n = static_cast<int>(fieldBytes);
    if (BN_bn2binpad(r, out.data(), n) != n || BN_bn2binpad(s, out.data() + fieldBytes, n) != n) {
        throw Error(detail::openSslMessage("ECDSA value conversion failed"));
    }
    return out;
}

card::Bytes ecdsaP1363ToDer(card::ByteView rs) {
    if (rs.empty() || rs.size() % 2 != 0) {
        throw Error("r || s of odd or zero length");
    }
    const int half = static_cast<int>(rs.size() / 2);
    detail::BignumPtr r(BN_bin2bn(rs.data(), half, nullptr));
    detail::BignumPtr s(BN_bin2bn(rs.data() + half, half, nullptr));
    EcdsaSigPtr sig(ECDSA_SIG_new());
    if (!r || !s || !sig) {
        throw Error(detail::openSslMessage("ECDSA signature allocation failed"));
    }
    if (BN_is_zero(r.get()) || BN_is_zero(s.get())) {
        throw Error("ECDSA signature value zero");
    }
    if (ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) {
        throw Error(detail::openSslMessage("ECDSA signature assembly failed"));
    }
    (void)r.release();  // now owned by sig
    (void)s.release();
    return encode(sig.get());
}

card::Bytes ecdsaCardInput(card::ByteView digest, std::size_t fieldBytes) {
    const std::size_t n = std::min(digest.size(), fieldBytes);
    return card::Bytes(digest.begin(), digest.begin() + static_cast<std::ptrdiff_t>(n));
}

}  // namespace tk::crypto
