# Shared helpers for the peer-validation tests; sourced, runs inside tests/harness/with-cards.
set -euo pipefail
P11_MODULE=${P11_MODULE:-/usr/lib/x86_64-linux-gnu/pkcs11/opensc-pkcs11.so}
READER=${TK_READER_0:?run inside tests/harness/with-cards}
T=$(mktemp -d "$TK_HARNESS_DIR/peer.XXXXXX")

p11() { pkcs11-tool --module "$P11_MODULE" "$@"; }
ykpiv() { yubico-piv-tool -r "$READER" "$@"; }

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "--- $*"; }

# expect_contains TEXT NEEDLE...: every needle occurs in TEXT.
expect_contains() {
    local text=$1 n
    shift
    for n in "$@"; do
        grep -qF -- "$n" <<<"$text" || { echo "$text" >&2; fail "output lacks '$n'"; }
    done
}

# apdu_count: APDU lines in card 0's log so far (control events are not APDUs).
apdu_count() { grep -c '^cla=' "$TK_VCARD_APDU_LOG_0" || true; }

# verify_signature CERT_DER DIGEST_ALG DATA SIG [PKEYOPT...]: OpenSSL checks SIG over DATA.
verify_signature() {
    local cert=$1 alg=$2 data=$3 sig=$4
    shift 4
    openssl x509 -inform DER -in "$cert" -pubkey -noout >"$T/verify-pub.pem"
    local opts=()
    for o in "$@"; do opts+=(-sigopt "$o"); done
    openssl dgst "-$alg" -verify "$T/verify-pub.pem" -signature "$sig" "${opts[@]+"${opts[@]}"}" "$data" \
        || fail "OpenSSL rejects the signature $sig"
}
