#!/usr/bin/env bash
# windows.signatures: every executable the MSI holds, and the MSI, carry an Authenticode
# signature that osslsigncode verifies against the signing certificate (the build's test
# certificate, or the real one); the unsigned build outputs do not pass.
#   check-signatures.sh MSI_DIR CERT
set -euo pipefail
dir=$1 cert=$2
status=0
for f in "$dir"/tenderkeyd.exe "$dir"/tenderkeyd-service.exe "$dir"/tenderkey.exe \
         "$dir"/TenderKey-*-x64.msi; do
    if out=$(osslsigncode verify -CAfile "$cert" -in "$f" 2>&1) &&
       grep -q "Signature verification: ok" <<< "$out"; then
        echo "ok   $(basename "$f"): $(grep -m1 "Subject:" <<< "$out" | sed 's/^[[:space:]]*//')"
    else
        echo "$out" | tail -15
        echo "FAIL $(basename "$f"): signature does not verify"
        status=1
    fi
done
# The check itself: an unsigned executable fails it.
unsigned=$(dirname "$dir")/bin/tenderkeyd.exe
if osslsigncode verify -CAfile "$cert" -in "$unsigned" >/dev/null 2>&1; then
    echo "FAIL: the unsigned $unsigned verifies"
    status=1
else
    echo "ok   the unsigned bin/tenderkeyd.exe does not verify"
fi
exit "$status"
