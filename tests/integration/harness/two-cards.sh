#!/usr/bin/env bash
# Two virtual cards in the two vpcd readers at once, each a distinct card to the peers.
. "$(dirname "$0")/../peer/lib.sh"
out0=$(yubico-piv-tool -r "$TK_READER_0" -a status)
out1=$(yubico-piv-tool -r "$TK_READER_1" -a status)
s0=$(grep "Serial Number" <<<"$out0")
s1=$(grep "Serial Number" <<<"$out1")
[ -n "$s0" ] && [ -n "$s1" ] || fail "a card did not report its serial"
[ "$s0" != "$s1" ] || fail "both readers show the same card ($s0)"
cmp -s "$TK_VCARD_CA_0" "$TK_VCARD_CA_1" && fail "both cards share one CA"
step "removing card 1 leaves card 0 in place"
"$(dirname "$0")/../../harness/card-ctl" 1 remove
"$(dirname "$0")/../../harness/wait-card" "$TK_READER_1" absent 5
"$(dirname "$0")/../../harness/wait-card" "$TK_READER_0" present 1
echo "PASS"
