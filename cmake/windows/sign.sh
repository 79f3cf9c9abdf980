#!/usr/bin/env bash
# Authenticode-signs one file (an .exe or the .msi) with osslsigncode.
#   sign.sh CERT KEY IN OUT [TIMESTAMP_URL]
# CERT and KEY are PEM files (the test certificate the build makes, or the real one given
# as TK_SIGN_CERT / TK_SIGN_KEY); an encrypted KEY's password comes from the environment
# variable TK_SIGN_KEY_PASSWORD. Without TIMESTAMP_URL there is no countersignature (the test
# build is offline).
set -euo pipefail
cert=$1 key=$2 in=$3 out=$4 timestamp=${5:-}
args=(sign -certs "$cert" -key "$key" -h sha256 -n TenderKey -i https://tenderkey.invalid/
      -in "$in" -out "$out.tmp")
[ -n "$timestamp" ] && args+=(-ts "$timestamp")
rm -f "$out.tmp"
if [ -n "${TK_SIGN_KEY_PASSWORD:-}" ]; then
    passfile=$(mktemp)
    trap 'rm -f "$passfile"' EXIT
    printf '%s' "$TK_SIGN_KEY_PASSWORD" > "$passfile"
    args+=(-readpass "$passfile")
fi
osslsigncode "${args[@]}" >/dev/null
mv "$out.tmp" "$out"
