#!/usr/bin/env bash
# Builds TenderKey and shows it working. With no reader attached it starts a private pcscd
# with a virtual PIV card (tests/harness/with-cards) and shows the card as PC/SC, OpenSC and
# yubico-piv-tool see it.
#   scripts/run.sh           show the virtual card and exit
#   scripts/run.sh --shell   then open a shell next to the card (exit the shell to stop)
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"
scripts/install-deps.sh
cmake --preset default >/dev/null
cmake --build --preset default

state="$top/build/run-card"
mkdir -p "$state"
show='
echo "== PC/SC readers (opensc-tool -l)"; opensc-tool -l
echo; echo "== PIV applet (yubico-piv-tool -a status)"; yubico-piv-tool -r "$TK_READER_0" -a status
echo; echo "== PKCS#11 view (pkcs11-tool -O, OpenSC)"
pkcs11-tool --module /usr/lib/x86_64-linux-gnu/pkcs11/opensc-pkcs11.so -O 2>/dev/null | grep -E "^(Certificate|Public|Private)|label|ID:" || true
echo; echo "Card state: $TK_VCARD_STATE_0 (PIN 123456, PUK 12345678); test CA: $TK_VCARD_CA_0"
'
if [ "${1:-}" = "--shell" ]; then
    exec tests/harness/with-cards --state-dir "$state" -- bash -c "$show"'
echo; echo "A shell next to the virtual card; try: yubico-piv-tool -r \"\$TK_READER_0\" -a status"
exec bash -i'
fi
exec tests/harness/with-cards --state-dir "$state" -- bash -c "$show"
