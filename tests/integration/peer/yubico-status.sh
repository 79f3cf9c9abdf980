#!/usr/bin/env bash
# yubico-piv-tool (Debian 12: 2.2.0) accepts the virtual card and lists every slot it holds,
# with the UTF-8 organisation name of each certificate's subject.
. "$(dirname "$0")/lib.sh"

step "yubico-piv-tool -a status"
out=$(ykpiv -a status)
echo "$out"
expect_contains "$out" "Version:" "Serial Number:" "CHUID:" \
    "Slot 9a:" "Slot 9c:" "Slot 9d:" "Slot 9e:" "Slot 82:" "PIN tries left:	3"
# Every slot's subject carries the organisation's Chinese name as UTF-8; 2.2.0 prints the
# bytes of non-ASCII characters escaped (\xE5\x9C...), so look for those exact bytes.
org=$(printf '國立臺灣大學' | od -An -tx1 | tr -d ' \n' | tr a-f A-F | sed 's/../\\x&/g')
n=$(grep -cF "O=$org" <<<"$out" || true)
[ "$n" -ge 5 ] || fail "expected 5 subjects with the UTF-8 organisation name, saw $n"
# The algorithms the peer reads from the certificates' public keys.
for slot in 9a 9c 9d; do
    grep -A1 "Slot $slot:" <<<"$out" | grep -q "RSA2048" || fail "slot $slot is not RSA2048"
done
grep -A1 "Slot 9e:" <<<"$out" | grep -q "ECCP256" || fail "slot 9e is not ECCP256"
grep -A1 "Slot 82:" <<<"$out" | grep -q "ECCP384" || fail "slot 82 is not ECCP384"
echo "PASS"
