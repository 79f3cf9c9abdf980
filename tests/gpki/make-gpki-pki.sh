#!/bin/sh
# Makes a test copy of Taiwan's GPKI: a root named like the government root (with "測試" so no
# one takes it for the real one), the four issuing CAs of the organisation and citizen cards,
# and end-entity certificates with the card profiles (company, organisation, agency, citizen;
# a signing and an encryption certificate each), plus variants for the business-number rules.
#
#   make-gpki-pki.sh OUTDIR
#
# Everything (keys included) is made here, at test time, into OUTDIR; nothing of it is kept
# in the repository. A finished OUTDIR (its "done" file) is left as it is, so a build directory
# makes the PKI once. Files: root.{key,pem,der}, ca-<moeaca|xca|gca|moica>.{key,pem,der},
# <profile>-<sign|keyx>.{key,pem,der}, <profile>-<sign|keyx>-key.der (PKCS#8 DER).
set -eu

out=${1:?usage: make-gpki-pki.sh OUTDIR}
mkdir -p "$out"
# Tests run in parallel: the first one makes the PKI, the others wait for it.
exec 9>"$out/.lock"
flock 9
[ -f "$out/done" ] && exit 0
work=$(mktemp -d "$out/.making.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

cat > ext.cnf <<'CNF'
[ca_root]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[ca_issuing]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
certificatePolicies = 2.16.886.101.0.3.3

# --- end-entity profiles: keyUsage per certificate, GPKI attributes per profile ---
[company_sign]
keyUsage = critical, digitalSignature
certificatePolicies = 2.16.886.101.0.3.3
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
2.5.29.9 = ASN1:SEQUENCE:sda_company
[company_keyx]
keyUsage = critical, keyEncipherment, dataEncipherment
certificatePolicies = 2.16.886.101.0.3.3
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
2.5.29.9 = ASN1:SEQUENCE:sda_company

[organisation_sign]
keyUsage = critical, digitalSignature
certificatePolicies = 2.16.886.101.0.3.3
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
2.5.29.9 = ASN1:SEQUENCE:sda_organisation
[organisation_keyx]
keyUsage = critical, keyEncipherment, dataEncipherment
certificatePolicies = 2.16.886.101.0.3.3
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
2.5.29.9 = ASN1:SEQUENCE:sda_organisation

[agency_sign]
keyUsage = critical, digitalSignature
certificatePolicies = 2.16.886.101.0.3.3
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
2.5.29.9 = ASN1:SEQUENCE:sda_agency
[agency_keyx]
keyUsage = critical, keyEncipherment, dataEncipherment
certificatePolicies = 2.16.886.101.0.3.3
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
2.5.29.9 = ASN1:SEQUENCE:sda_agency

[citizen_sign]
keyUsage = critical, digitalSignature
extendedKeyUsage = emailProtection, 1.3.6.1.4.1.311.10.3.12
certificatePolicies = 2.16.886.101.0.3.1, 2.16.886.101.0.3.3
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
2.5.29.9 = ASN1:SEQUENCE:sda_citizen
[citizen_keyx]
keyUsage = critical, keyEncipherment, dataEncipherment
certificatePolicies = 2.16.886.101.0.3.1, 2.16.886.101.0.3.3
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
2.5.29.9 = ASN1:SEQUENCE:sda_citizen

# Variants: business number in both places but different; a government unit; a subject type
# outside the known ones.
[mismatch_sign]
keyUsage = critical, digitalSignature
certificatePolicies = 2.16.886.101.0.3.3
2.5.29.9 = ASN1:SEQUENCE:sda_mismatch
[unit_sign]
keyUsage = critical, digitalSignature
certificatePolicies = 2.16.886.101.0.3.3
2.5.29.9 = ASN1:SEQUENCE:sda_unit
[other_sign]
keyUsage = critical, digitalSignature
2.5.29.9 = ASN1:SEQUENCE:sda_other

# --- subjectDirectoryAttributes: SEQUENCE OF Attribute { type, SET OF value } ---
[sda_company]
a1 = SEQUENCE:type_company
a2 = SEQUENCE:card_primary
a3 = SEQUENCE:ubn_12345678
[sda_organisation]
a1 = SEQUENCE:type_organisation
a2 = SEQUENCE:card_secondary
a3 = SEQUENCE:ubn_87654321
[sda_agency]
a1 = SEQUENCE:type_agency
a2 = SEQUENCE:card_primary
[sda_citizen]
a1 = SEQUENCE:type_person
a2 = SEQUENCE:id_last_four
[sda_mismatch]
a1 = SEQUENCE:type_company
a2 = SEQUENCE:ubn_12345679
[sda_unit]
a1 = SEQUENCE:type_unit
[sda_other]
a1 = SEQUENCE:type_other

[type_company]
type = OID:2.16.886.1.100.2.1
values = SET:v_company
[v_company]
v = OID:2.16.886.1.100.3.2.2.1.1
[type_organisation]
type = OID:2.16.886.1.100.2.1
values = SET:v_organisation
[v_organisation]
v = OID:2.16.886.1.100.3.2.2.2.1
[type_agency]
type = OID:2.16.886.1.100.2.1
values = SET:v_agency
[v_agency]
v = OID:2.16.886.1.100.3.2.1.1
[type_unit]
type = OID:2.16.886.1.100.2.1
values = SET:v_unit
[v_unit]
v = OID:2.16.886.1.100.3.2.1.2
[type_person]
type = OID:2.16.886.1.100.2.1
values = SET:v_person
[v_person]
v = OID:2.16.886.1.100.3.1.1
[type_other]
type = OID:2.16.886.1.100.2.1
values = SET:v_other
[v_other]
v = OID:2.16.886.1.100.3.9.1

[card_primary]
type = OID:2.16.886.1.100.2.2
values = SET:v_primary
[v_primary]
v = INTEGER:1
[card_secondary]
type = OID:2.16.886.1.100.2.2
values = SET:v_secondary
[v_secondary]
v = INTEGER:2

[ubn_12345678]
type = OID:2.16.886.1.100.2.101
values = SET:v_12345678
[v_12345678]
v = PRINTABLESTRING:12345678
[ubn_87654321]
type = OID:2.16.886.1.100.2.101
values = SET:v_87654321
[v_87654321]
v = PRINTABLESTRING:87654321
[ubn_12345679]
type = OID:2.16.886.1.100.2.101
values = SET:v_12345679
[v_12345679]
v = PRINTABLESTRING:12345679

[id_last_four]
type = OID:2.16.886.1.100.2.51
values = SET:v_last_four
[v_last_four]
v = PRINTABLESTRING:6789
CNF

key() {
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1.key" 2>/dev/null
}
# sign NAME SUBJECT ISSUER SECTION DAYS
sign() {
    openssl req -new -utf8 -key "$1.key" -subj "$2" -out "$1.csr"
    openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -set_serial "0x$(openssl rand -hex 12)" \
        -days "$5" -sha256 -extfile ext.cnf -extensions "$4" -out "$1.pem" 2>/dev/null
}

key root
openssl req -new -x509 -utf8 -key root.key -days 3650 -sha256 -config ext.cnf -extensions ca_root \
    -subj "/C=TW/O=行政院/CN=Government Root Certification Authority - G3 測試" -out root.pem

for ca in "moeaca 工商憑證管理中心測試" "xca 組織及團體憑證管理中心測試" "gca 政府憑證管理中心測試" \
          "moica 內政部憑證管理中心測試"; do
    name=ca-${ca%% *}
    key "$name"
    sign "$name" "/C=TW/O=行政院/OU=${ca#* }" root ca_issuing 3650
done

# profile CA SUBJECT
for entry in \
    "company|moeaca|/C=TW/O=測試科技股份有限公司/serialNumber=12345678" \
    "organisation|xca|/C=TW/O=財團法人測試文教基金會" \
    "agency|gca|/C=TW/O=行政院/OU=公共工程委員會測試/serialNumber=23456789" \
    "citizen|moica|/C=TW/CN=王小明測試/serialNumber=0000000012346789"; do
    profile=${entry%%|*}
    rest=${entry#*|}
    ca=${rest%%|*}
    subject=${rest#*|}
    for use in sign keyx; do
        key "$profile-$use"
        sign "$profile-$use" "$subject" "ca-$ca" "${profile}_$use" 1825
    done
done
for entry in \
    "mismatch|moeaca|/C=TW/O=測試不符有限公司/serialNumber=12345678" \
    "unit|gca|/C=TW/O=行政院/OU=公共工程委員會測試/OU=企劃處測試" \
    "other|gca|/C=TW/O=其他測試"; do
    profile=${entry%%|*}
    rest=${entry#*|}
    ca=${rest%%|*}
    key "$profile-sign"
    sign "$profile-sign" "${rest#*|}" "ca-$ca" "${profile}_sign" 1825
done

for pem in *.pem; do
    openssl x509 -in "$pem" -outform DER -out "${pem%.pem}.der"
done
for k in *.key; do
    openssl pkey -in "$k" -outform DER -out "${k%.key}-key.der"
done
rm -f ./*.csr ext.cnf
mv ./* "$out/"
chmod 600 "$out"/*.key "$out"/*-key.der
touch "$out/done"
