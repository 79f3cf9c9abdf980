#!/usr/bin/env bash
# The harness stops exactly what it started, even when the command fails or hangs.
set -euo pipefail
harness=$1 vcard=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mine() { pgrep -f -- "$work" || true; }

# A failing command: its status comes back, nothing is left running.
set +e
"$harness" --vcard "$vcard" --work-dir "$work/a" -- bash -c 'kill -0 $(cat "$TK_PCSCD_PIDFILE") && exit 7'
status=$?
set -e
[ "$status" = 7 ] || { echo "FAIL: expected status 7, got $status"; exit 1; }
[ -z "$(mine)" ] || { echo "FAIL: left running: $(mine)"; exit 1; }

# A command killed from outside (as ctest does on a timeout): the namespace goes with it.
"$harness" --vcard "$vcard" --work-dir "$work/b" -- sleep 600 &
h=$!
for _ in $(seq 1 100); do [ -S "$work/b/card0.sock" ] && break; sleep 0.1; done
[ -n "$(pgrep -f -- "$work/b/card0.sock")" ] || { echo "FAIL: the card never started"; exit 1; }
kill -TERM "$h"
wait "$h" || true
for _ in $(seq 1 50); do [ -z "$(mine)" ] && break; sleep 0.1; done
[ -z "$(mine)" ] || { echo "FAIL: left running after SIGTERM: $(mine)"; exit 1; }
# Even a SIGKILL of the harness, which runs no clean-up code, takes the namespace with it.
"$harness" --vcard "$vcard" --work-dir "$work/c" -- sleep 600 &
h=$!
for _ in $(seq 1 100); do [ -S "$work/c/card0.sock" ] && break; sleep 0.1; done
[ -n "$(pgrep -f -- "$work/c/card0.sock")" ] || { echo "FAIL: the card never started"; exit 1; }
kill -KILL "$h"
wait "$h" 2>/dev/null || true
for _ in $(seq 1 50); do [ -z "$(mine)" ] && break; sleep 0.1; done
[ -z "$(mine)" ] || { echo "FAIL: left running after SIGKILL: $(mine)"; exit 1; }
echo "PASS"
