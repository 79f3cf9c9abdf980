#!/usr/bin/env bash
# OpenSC's PKCS#11 module (Debian 12: 0.23) lists the card's certificates and keys, offers
# ECDSA, and signs with RSA and ECDSA; OpenSSL verifies every signature with the certificate.
. "$(dirname "$0")/lib.sh"

step "pkcs11-tool -L -M -O"
slots=$(p11 -L)
echo "$slots"
expect_contains "$slots" "token label" "PIV"
mechs=$(p11 -M)
expect_contains "$mechs" "RSA-X-509" "RSA-PKCS" "ECDSA"
objs=$(p11 -O)
echo "$objs"
expect_contains "$objs" "Certificate for PIV Authentication" "Certificate for Digital Signature" \
    "Certificate for Key Management" "Certificate for Card Authentication" \
    "Retired Certificate for Key Management 1" "EC_POINT 384 bits" "EC_POINT 256 bits"
# Private keys other than card authentication are private objects: listed after login.
objs=$(p11 -O -l -p 123456)
expect_contains "$objs" "PIV AUTH key" "SIGN key" "KEY MAN key" "CARD AUTH key" "Retired KEY MAN 1"

head -c 4096 /dev/urandom >"$T/data"
# id  mechanism  digest   (OpenSC ids: 9A=01 9C=02 9D=03 9E=04 82=05). pkcs11-tool logs in before
# any signature, even with 9E, which the card itself lets sign without a PIN.
while read -r id mech hash; do
    step "sign with id $id, $mech"
    p11 -r --type cert --id "$id" -o "$T/$id.der"
    p11 --sign --id "$id" -m "$mech" -l -p 123456 --signature-format openssl \
        -i "$T/data" -o "$T/$id-$mech.sig"
    verify_signature "$T/$id.der" "$hash" "$T/data" "$T/$id-$mech.sig"
    # A corrupted signature must not verify: the check above can fail.
    cp "$T/$id-$mech.sig" "$T/bad.sig"
    printf '\x01' | dd of="$T/bad.sig" bs=1 seek=20 conv=notrunc status=none
    if openssl dgst "-$hash" -verify "$T/verify-pub.pem" -signature "$T/bad.sig" "$T/data" >/dev/null 2>&1; then
        fail "a corrupted signature verified"
    fi
done <<'LIST'
02 SHA256-RSA-PKCS sha256
01 SHA256-RSA-PKCS sha256
01 SHA384-RSA-PKCS sha384
04 ECDSA-SHA256 sha256
05 ECDSA-SHA384 sha384
LIST

step "RSA-PSS on the signature key"
p11 --sign --id 02 -m SHA256-RSA-PKCS-PSS --mgf MGF1-SHA256 -l -p 123456 \
    -i "$T/data" -o "$T/pss.sig"
verify_signature "$T/02.der" sha256 "$T/data" "$T/pss.sig" rsa_padding_mode:pss rsa_pss_saltlen:-1
echo "PASS"
