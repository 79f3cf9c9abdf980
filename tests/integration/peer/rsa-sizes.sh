#!/usr/bin/env bash
# A card initialised with larger RSA keys (init --rsa-bits) signs through OpenSC; OpenSSL
# verifies. Exercises chaining and GET RESPONSE for 384- and 512-byte blocks.
. "$(dirname "$0")/lib.sh"
bits=${1:?key size}
p11 -r --type cert --id 02 -o "$T/9c.der"
openssl x509 -inform DER -in "$T/9c.der" -noout -text | grep -q "Public-Key: ($bits bit)" \
    || fail "9C is not RSA-$bits"
head -c 300 /dev/urandom >"$T/data"
p11 --sign --id 02 -m SHA256-RSA-PKCS -l -p 123456 -i "$T/data" -o "$T/sig"
verify_signature "$T/9c.der" sha256 "$T/data" "$T/sig"
echo "PASS"
