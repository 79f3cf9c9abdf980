#!/usr/bin/env bash
# Replaces the registration key (9A) of virtual card INDEX with an EC key generated on the card
# and a certificate for it from the card's test CA with the clientAuth extended key usage, in
# another organisation than the card's other certificates. Run inside tests/harness/with-cards
# before tenderkeyd starts (the daemon keeps what it read of a card that comes back).
#
#   provision-ec-9a.sh INDEX ECCP256|ECCP384
set -euo pipefail
index=${1:?usage: provision-ec-9a.sh INDEX ECCP256|ECCP384}
algorithm=${2:?usage: provision-ec-9a.sh INDEX ECCP256|ECCP384}
reader_var="TK_READER_$index"
ca_var="TK_VCARD_CA_$index"
reader=${!reader_var:?run inside tests/harness/with-cards}
ca=${!ca_var}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
yubico-piv-tool -r "$reader" -a generate -s 9a -A "$algorithm" -o "$dir/pub.pem" >/dev/null
printf 'keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' >"$dir/ext.cnf"
openssl x509 -new -force_pubkey "$dir/pub.pem" -subj "/C=TW/O=TenderKey EC Test/CN=EC login" \
    -days 30 -CA "$ca" -CAkey "$(dirname "$ca")/ca-key.pem" -extfile "$dir/ext.cnf" -out "$dir/cert.pem"
yubico-piv-tool -r "$reader" -a import-certificate -s 9a -i "$dir/cert.pem" >/dev/null
