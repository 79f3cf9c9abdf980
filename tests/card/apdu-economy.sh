#!/usr/bin/env bash
# How many APDUs each card operation costs, counted from the virtual card's APDU log (every
# line: GET RESPONSE and chained parts included), for TenderKey and for two independent PIV
# programs on the same card. Prints the table of docs/card-layer.md. Run inside the harness:
#
#   tests/harness/with-cards -- tests/card/apdu-economy.sh [--check] [ECONOMY_BIN [TENDERKEY_BIN]]
#
# ECONOMY_BIN is tk_card_apdu_economy (the library with a warm cache, as the daemon runs it),
# TENDERKEY_BIN the CLI (every invocation a cold start); both default to build/bin/.
# --check: fail unless the warm library sends fewer APDUs than both peers for every operation.
set -euo pipefail

check=0
if [ "${1:-}" = --check ]; then
    check=1
    shift
fi
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
economy=${1:-$top/build/bin/tk_card_apdu_economy}
tenderkey=${2:-$top/build/bin/tenderkey}
module=${P11_MODULE:-/usr/lib/x86_64-linux-gnu/pkcs11/opensc-pkcs11.so}
log=${TK_VCARD_APDU_LOG_0:?run inside tests/harness/with-cards}
reader=$TK_READER_0
T=$(mktemp -d "$TK_HARNESS_DIR/economy.XXXXXX")

count() { grep -c '^cla=' "$log" || true; }

# measure COMMAND...: the APDUs the command caused; the command must succeed.
measure() {
    local before after
    before=$(count)
    if ! "$@" >"$T/out" 2>&1; then
        cat "$T/out" >&2
        echo "apdu-economy: failed: $*" >&2
        exit 1
    fi
    after=$(count)
    echo $((after - before))
}

p11() { pkcs11-tool --module "$module" "$@"; }
ykpiv() { yubico-piv-tool -r "$reader" "$@"; }
tk() { TENDERKEY_PIN=123456 "$tenderkey" --dev "$@"; }

# Inputs, prepared before anything is counted: data to sign, the certificates yubico-piv-tool's
# test actions take as input, a ciphertext for 9D.
head -c 1000 /dev/urandom >"$T/data"
for slot in 9c 9d 9e; do ykpiv -a read-certificate -s "$slot" -o "$T/$slot.pem" >/dev/null 2>&1; done
openssl x509 -in "$T/9d.pem" -pubkey -noout >"$T/9d-pub.pem"
head -c 100 /dev/urandom >"$T/plain"
openssl pkeyutl -encrypt -pubin -inkey "$T/9d-pub.pem" -in "$T/plain" -out "$T/enc"

declare -A lib cli p11n yk
while read -r op n; do lib[$op]=$n; done < <("$economy")

cli[certs]=$(measure tk certs)
cli[pin-status]=$(measure tk pin status)
cli[sign-rsa]=$(measure tk sign --cert 9c --in "$T/data" --out "$T/tk-9c.sig")
cli[sign-ecdsa]=$(measure tk sign --cert 9e --in "$T/data" --out "$T/tk-9e.sig")
cli[decrypt]=$(measure tk decrypt --cert 9d --in "$T/enc" --out "$T/tk.dec")
cmp -s "$T/plain" "$T/tk.dec" || { echo "apdu-economy: tenderkey decrypted something else" >&2; exit 1; }

p11n[certs]=$(measure p11 -O)
p11n[pin-status]=$(measure p11 -L)
p11n[sign-rsa]=$(measure p11 --sign --id 02 -m SHA256-RSA-PKCS -l -p 123456 -i "$T/data" -o "$T/p11-9c.sig")
p11n[sign-ecdsa]=$(measure p11 --sign --id 04 -m ECDSA-SHA256 -l -p 123456 -i "$T/data" -o "$T/p11-9e.sig")
p11n[decrypt]=$(measure p11 --decrypt --id 03 -m RSA-PKCS -l -p 123456 -i "$T/enc" -o "$T/p11.dec")
cmp -s "$T/plain" "$T/p11.dec" || { echo "apdu-economy: pkcs11-tool decrypted something else" >&2; exit 1; }

yk[certs]=$(measure ykpiv -a status)
yk[pin-status]=$(measure ykpiv -a status)
yk[sign-rsa]=$(measure ykpiv -a verify-pin -P 123456 -a test-signature -s 9c -i "$T/9c.pem")
yk[sign-ecdsa]=$(measure ykpiv -a test-signature -s 9e -i "$T/9e.pem")
yk[decrypt]=$(measure ykpiv -a verify-pin -P 123456 -a test-decipher -s 9d -i "$T/9d.pem")

opensc=$(dpkg-query -W -f '${Version}' opensc 2>/dev/null || echo "?")
yubico=$(yubico-piv-tool --version 2>/dev/null | awk '{print $2}')
echo "| operation | TenderKey library, warm | tenderkey CLI, cold | pkcs11-tool (OpenSC $opensc) | yubico-piv-tool $yubico |"
echo "|---|---:|---:|---:|---:|"
failed=0
for op in certs pin-status sign-rsa sign-ecdsa decrypt; do
    case $op in
        certs) name="list certificates" ;;
        pin-status) name="PIN status" ;;
        sign-rsa) name="sign RSA-2048 (9C, PIN)" ;;
        sign-ecdsa) name="sign ECDSA P-256 (9E)" ;;
        decrypt) name="decrypt RSA-2048 (9D, PIN)" ;;
    esac
    echo "| $name | ${lib[$op]} | ${cli[$op]} | ${p11n[$op]} | ${yk[$op]} |"
    if [ "${lib[$op]}" -ge "${p11n[$op]}" ] || [ "${lib[$op]}" -ge "${yk[$op]}" ]; then
        failed=1
    fi
done
echo
echo "cold library start (identity and certificates read): ${lib[certs-cold]} APDUs"
echo "known card put back (CHUID, then key history and certificates read again and compared): ${lib[reinsert]} APDUs"
if [ "$check" = 1 ] && [ "$failed" = 1 ]; then
    echo "apdu-economy: the warm library does not beat both peers on every operation" >&2
    exit 1
fi
