#!/usr/bin/env bash
# Three wrong PINs block the PIN (the card answers 6983); the PUK unblocks it with a new PIN.
. "$(dirname "$0")/lib.sh"

for try in 1 2 3; do
    step "wrong PIN, try $try"
    if out=$(ykpiv -a verify-pin -P 000000 2>&1); then fail "a wrong PIN verified"; fi
    echo "$out"
done
expect_contains "$out" "blocked"
step "the right PIN is refused while blocked"
if ykpiv -a verify-pin -P 123456 >/dev/null 2>&1; then fail "a blocked PIN verified"; fi
grep -q "ins=20 .*sw=6983" "$TK_VCARD_APDU_LOG_0" || fail "the card never answered 6983"

step "unblock with the PUK"
ykpiv -a unblock-pin -P 12345678 -N 654321
ykpiv -a verify-pin -P 654321
out=$(ykpiv -a status)
expect_contains "$out" "PIN tries left:	3"

step "a wrong PUK counts down"
if ykpiv -a unblock-pin -P 87654321 -N 111111 >/dev/null 2>&1; then fail "a wrong PUK unblocked"; fi
ykpiv -a verify-pin -P 654321
echo "PASS"
