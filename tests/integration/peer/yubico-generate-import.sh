#!/usr/bin/env bash
# yubico-piv-tool generates a key on the card with the default management key; a certificate
# for it, made with OpenSSL and signed by the test CA, is imported and read back identical; the
# new key then signs (through OpenSC) and OpenSSL verifies the signature with that certificate.
. "$(dirname "$0")/lib.sh"
ca_dir=$(dirname "$TK_VCARD_CA_0")

for spec in "9a RSA2048 01 SHA256-RSA-PKCS" "9e ECCP256 04 ECDSA-SHA256"; do
    read -r slot alg id mech <<<"$spec"
    step "generate $alg in $slot"
    ykpiv -a generate -s "$slot" -A "$alg" -o "$T/$slot-pub.pem"
    openssl pkey -pubin -in "$T/$slot-pub.pem" -noout -text | head -n 1

    step "certificate for the new key, signed by the test CA"
    openssl x509 -new -force_pubkey "$T/$slot-pub.pem" -subj "/C=TW/O=TenderKey Test/CN=generated $slot" \
        -days 30 -CA "$ca_dir/ca.pem" -CAkey "$ca_dir/ca-key.pem" -out "$T/$slot-cert.pem"

    step "import-certificate, read-certificate"
    ykpiv -a import-certificate -s "$slot" -i "$T/$slot-cert.pem"
    ykpiv -a read-certificate -s "$slot" -o "$T/$slot-back.pem"
    openssl x509 -in "$T/$slot-cert.pem" -outform DER -out "$T/$slot-cert.der"
    openssl x509 -in "$T/$slot-back.pem" -outform DER -out "$T/$slot-back.der"
    cmp "$T/$slot-cert.der" "$T/$slot-back.der" || fail "certificate read back from $slot differs"

    step "the generated key signs, OpenSSL verifies with the imported certificate"
    head -c 1000 /dev/urandom >"$T/data"
    p11 --sign --id "$id" -m "$mech" -p 123456 --signature-format openssl \
        -i "$T/data" -o "$T/$slot.sig"
    hash=sha256
    verify_signature "$T/$slot-cert.der" "$hash" "$T/data" "$T/$slot.sig"
done
echo "PASS"
