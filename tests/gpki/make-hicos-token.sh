#!/bin/sh
# Makes a SoftHSM2 token laid out as Chunghwa Telecom's HiCOS module presents a GPKI IC card,
# in the SoftHSM2 set-up that SOFTHSM2_CONF names, from the test PKI of make-gpki-pki.sh:
#
#   make-hicos-token.sh PKI_DIR PROFILE CA PIN
#
# PROFILE: company, organisation, agency or citizen; CA: moeaca, xca, gca or moica. Objects:
# certificates SIGN, KEYX (the profile's), CACert (the issuing CA) and ROOTCACert, and the
# private RSA keys SIGN (signs) and KEYX (decrypts), each CKA_LABEL equal to its ASCII CKA_ID;
# no public key objects (as on the card). Token label "HiCOS PKI Smart Card", user PIN PIN.
# Prints the token's slot id.
set -eu

pki=${1:?usage: make-hicos-token.sh PKI_DIR PROFILE CA PIN}
profile=${2:?profile}
ca=${3:?issuing CA}
pin=${4:?PIN}
module=${TK_SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}

# SoftHSM2 needs an SO PIN to make a token; a HiCOS card gives its holder none.
out=$(softhsm2-util --init-token --free --label "HiCOS PKI Smart Card" --pin "$pin" \
    --so-pin 87654321)
slot=$(printf '%s\n' "$out" | sed -n 's/.*reassigned to slot \([0-9]*\).*/\1/p')
[ -n "$slot" ] || { echo "make-hicos-token.sh: no slot in: $out" >&2; exit 1; }

# write FILE TYPE ID LABEL [OPTIONS...]
write() {
    file=$1 type=$2 id=$3 label=$4
    shift 4
    pkcs11-tool --module "$module" --slot "$slot" --login --pin "$pin" --write-object "$pki/$file" \
        --type "$type" --id "$id" --label "$label" "$@" >/dev/null
}
write "$profile-sign-key.der" privkey 5349474e SIGN --usage-sign
write "$profile-sign.der" cert 5349474e SIGN
write "$profile-keyx-key.der" privkey 4b455958 KEYX --usage-decrypt
write "$profile-keyx.der" cert 4b455958 KEYX
write "ca-$ca.der" cert 434143657274 CACert
write root.der cert 524f4f54434143657274 ROOTCACert
echo "$slot"
