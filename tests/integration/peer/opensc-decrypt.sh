#!/usr/bin/env bash
# The key-management key (9D) decrypts, through OpenSC, what OpenSSL encrypted to its
# certificate: RSA PKCS#1 v1.5 and OAEP.
. "$(dirname "$0")/lib.sh"

p11 -r --type cert --id 03 -o "$T/9d.der"
openssl x509 -inform DER -in "$T/9d.der" -pubkey -noout >"$T/9d-pub.pem"
openssl x509 -inform DER -in "$T/9d.der" -noout -ext keyUsage | grep -q "Key Encipherment" \
    || fail "9D certificate lacks keyEncipherment"
head -c 190 /dev/urandom >"$T/plain"

step "RSA PKCS#1 v1.5"
openssl pkeyutl -encrypt -pubin -inkey "$T/9d-pub.pem" -in "$T/plain" -out "$T/v15.enc"
p11 --decrypt --id 03 -m RSA-PKCS -l -p 123456 -i "$T/v15.enc" -o "$T/v15.dec"
cmp "$T/plain" "$T/v15.dec" || fail "PKCS#1 v1.5 round trip differs"

step "RSA-OAEP with SHA-256 and MGF1-SHA-256"
head -c 100 /dev/urandom >"$T/plain2"
openssl pkeyutl -encrypt -pubin -inkey "$T/9d-pub.pem" -pkeyopt rsa_padding_mode:oaep \
    -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 \
    -in "$T/plain2" -out "$T/oaep.enc"
p11 --decrypt --id 03 -m RSA-PKCS-OAEP --hash-algorithm SHA256 --mgf MGF1-SHA256 -l -p 123456 -i "$T/oaep.enc" -o "$T/oaep.dec"
cmp "$T/plain2" "$T/oaep.dec" || fail "OAEP round trip differs"

step "a wrong ciphertext does not decrypt to the plaintext"
cp "$T/v15.enc" "$T/bad.enc"
printf '\x55' | dd of="$T/bad.enc" bs=1 seek=7 conv=notrunc status=none
if p11 --decrypt --id 03 -m RSA-PKCS -l -p 123456 -i "$T/bad.enc" -o "$T/bad.dec" 2>/dev/null \
    && cmp -s "$T/plain" "$T/bad.dec"; then
    fail "a corrupted ciphertext decrypted to the plaintext"
fi
echo "PASS"
