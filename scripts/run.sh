#!/usr/bin/env bash
# Builds TenderKey and runs the daemon, tenderkeyd, on ws://127.0.0.1:61261/.
#
# With a real reader attached (the system's pcscd sees one), the daemon uses it. With none, it
# runs next to a private pcscd with a virtual PIV card (tests/harness/with-cards) in its own
# namespaces; the daemon's port is bridged to this machine's 127.0.0.1:61261 so a browser or
# script can reach it. Stop with Ctrl-C.
#
#   scripts/run.sh [--port N] [--allow-origin ORIGIN[=CAPS]]... [--virtual] [--show-card]
#
#   --allow-origin   origins allowed to connect (default: http://localhost:8080 and
#                    http://127.0.0.1:8080 with every capability, for local portal pages)
#   --virtual        use the virtual card even when a real reader is attached
#   --show-card      only show the virtual card as PC/SC, OpenSC and yubico-piv-tool see it
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

port=61261
origins=()
virtual=0
show_card=0
while [ $# -gt 0 ]; do
    case "$1" in
        --port) port=$2; shift 2 ;;
        --allow-origin) origins+=("$2"); shift 2 ;;
        --virtual) virtual=1; shift ;;
        --show-card) show_card=1; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
[ ${#origins[@]} -gt 0 ] || origins=("http://localhost:8080=read,sign,decrypt,register,manage"
    "http://127.0.0.1:8080=read,sign,decrypt,register,manage")

scripts/install-deps.sh
cmake --preset default >/dev/null
# Only what this script runs: the daemon and the virtual card (not the tests).
cmake --build --preset default --target tenderkeyd tenderkey-vcard

state="$top/build/run-card"
mkdir -p "$state"

if [ "$show_card" = 1 ]; then
    exec tests/harness/with-cards --state-dir "$state" -- bash -c '
echo "== PC/SC readers (opensc-tool -l)"; opensc-tool -l
echo; echo "== PIV applet (yubico-piv-tool -a status)"; yubico-piv-tool -r "$TK_READER_0" -a status
echo; echo "== PKCS#11 view (pkcs11-tool -O, OpenSC)"
pkcs11-tool --module /usr/lib/x86_64-linux-gnu/pkcs11/opensc-pkcs11.so -O 2>/dev/null | grep -E "^(Certificate|Public|Private)|label|ID:" || true
echo; echo "Card state: $TK_VCARD_STATE_0 (PIN 123456, PUK 12345678); test CA: $TK_VCARD_CA_0"'
fi

origin_args=()
for o in "${origins[@]}"; do origin_args+=(--allow-origin "$o"); done

real_reader() { opensc-tool -l 2>/dev/null | grep -E '^[0-9]+ ' | grep -v 'Virtual PCD' | grep -q .; }

if [ "$virtual" = 0 ] && real_reader; then
    echo "run.sh: a card reader is attached; tenderkeyd uses the system's pcscd"
    exec build/bin/tenderkeyd --port "$port" "${origin_args[@]}"
fi

command -v socat >/dev/null || { echo "run.sh: socat missing (scripts/install-deps.sh)" >&2; exit 1; }
cat <<EOF
run.sh: the demo portal as a public site would use TenderKey (through the bridge window), in
another terminal:
    node tests/e2e/portal/server.js --port 8080 --mode bridge --ca $state/card0/ca.pem \\
        --daemon-url ws://127.0.0.1:$port/
  then open http://127.0.0.1:8080/ and click 連線 TenderKey (or ?mode=direct for a direct
  connection from this loopback page).
EOF
sock="$state/tenderkeyd.sock"
rm -f "$sock"
echo "run.sh: no card reader attached; running on a virtual PIV card (PIN 123456, PUK 12345678)"
# Outside: 127.0.0.1:PORT -> unix socket; inside the namespace: unix socket -> the daemon.
socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" "UNIX-CONNECT:$sock" &
bridge=$!
trap 'kill "$bridge" 2>/dev/null || true' EXIT
tests/harness/with-cards --state-dir "$state" -- bash -c '
socat "UNIX-LISTEN:$1,fork" "TCP:127.0.0.1:$2" & 
shift 2
exec "$@"' bridge "$sock" "$port" build/bin/tenderkeyd --dev --port "$port" "${origin_args[@]}"
