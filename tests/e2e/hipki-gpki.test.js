// The HiPKI dialect through the PKCS#11 backend: GPKI cards as HiCOS tokens (tests/gpki; a
// company card of MOEACA and an agency card of GCA, run-e2e.sh with TK_E2E_HICOS), driven by
// the vendor-style sample page (portal/hipki-sample.html) from a public https origin. The
// page names the token by the slotDescription GetUserCert gave it, as the portals do. The
// portal holds sign-raw (TK_E2E_PORTAL_CAPS): the SIGN key also registers (the card has no
// other), so PKCS1 and RAW need it. Every signature is verified by openssl.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { PUBLIC_SITE, openPortal, screenshot } from './support.js';
import {
  CODE, ENCRYPTION_USAGE, LAST_ERROR, SIGNING_USAGE, cmsEncrypt, cmsFacts, cmsVerify, digestInfo, digestOf,
  keyUsageOf, pkcs1Verify, rsaEncrypt, runPackage, validityOf,
} from './hipki-support.js';

if (!PUBLIC_SITE) throw new Error('run with TK_E2E_PUBLIC_TLS=1');

const PIN = process.env.TK_E2E_HICOS_PIN;
const PKI = process.env.TK_E2E_GPKI_DIR;
const der = (name) => fs.readFileSync(path.join(PKI, name)).toString('base64');
const CA = [path.join(PKI, 'root.pem'), path.join(PKI, 'ca-moeaca.pem')];

let session;
let slot; // the company card's slot in GetUserCert
before(async () => { session = await openPortal({ query: 'hipki-sample.html' }); });
after(async () => { await session?.browser.close(); });

const run = (pkg) => runPackage(session.page, pkg);
const onCard = (pkg) => run({ slotDescription: slot.slotDescription, pin: encodeURIComponent(PIN), ...pkg });
const certOf = (usage) => slot.token.certs.find((c) => c.usage === usage);

test('GetUserCert: each GPKI card with its SIGN and KEYX certificates, usage strings and times exact', async () => {
  const r = await run({ func: 'GetUserCert' });
  assert.equal(r.ret_code, 0, JSON.stringify(r));
  assert.equal(r.func, 'pkcs11info');
  for (const [profile, ca] of [['company', 'moeaca'], ['agency', 'gca']]) {
    const found = r.slots.find((s) => s.token?.certs?.some((c) => c.certb64 === der(`${profile}-sign.der`)));
    assert.ok(found, `${profile}: ${JSON.stringify(r.slots)}`);
    const certs = [...found.token.certs].sort((a, b) => a.label.localeCompare(b.label));
    assert.deepEqual(certs.map((c) => [c.label, c.usage, c.certb64]), [
      ['KEYX', ENCRYPTION_USAGE, der(`${profile}-keyx.der`)],
      ['SIGN', SIGNING_USAGE, der(`${profile}-sign.der`)],
    ], profile);
    for (const cert of certs) {
      assert.deepEqual(keyUsageOf(cert.certb64), cert.label === 'SIGN' ? ['Digital Signature'] : ['Key Encipherment', 'Data Encipherment']);
      const { notBefore, notAfter } = validityOf(cert.certb64);
      assert.equal(cert.notBeforeT, notBefore, profile);
      assert.equal(cert.notAfterT, notAfter, profile);
      assert.match(cert.issuerDN, ca === 'moeaca' ? /工商憑證管理中心測試/ : /\S/);
    }
    if (profile === 'company') slot = found;
  }
  assert.match(slot.token.certs[0].subjectDN, /測試科技股份有限公司/);
  await screenshot(session.page, 'hipki-gpki-getusercert');
});

test('MakeSignature PKCS7 on the company card with each hash, nonce and card serial: openssl cms -verify', async () => {
  const text = '投標標單 2026-0315：總價 3,150,000 元';
  for (const [hashName, hash, encoding] of [['SHA256', 'sha256', 'NONE'], ['SHA384', 'sha384', 'base64'], ['SHA512', 'sha512', 'NONE']]) {
    const nonce = `gpki-${hashName}-${Date.now()}`;
    const r = await onCard({
      func: 'MakeSignature', signatureType: 'PKCS7', hashAlgorithm: hashName, withCardSN: 'true', nonce, tbsEncoding: encoding,
      tbs: encoding === 'NONE' ? encodeURIComponent(text) : Buffer.from(text).toString('base64'),
    });
    assert.equal(r.ret_code, 0, `${hashName}: ${JSON.stringify(r)}`);
    assert.equal(r.certb64, der('company-sign.der'));
    assert.equal(r.cardSN, slot.token.serialNumber);
    assert.equal(cmsVerify(r.signature, CA, 'gpki').toString('utf8'), text, hashName);
    const facts = cmsFacts(r.signature);
    assert.ok(facts.objects.includes(hash), hashName);
    assert.equal(facts.attribute('1.2.840.113549.1.9.25.3').toString('utf8'), nonce);
    assert.equal(facts.attribute('2.16.886.1.100.2.204').toString('utf8'), slot.token.serialNumber);
  }
});

test('MakeSignature PKCS1 and RAW on the company card: openssl pkeyutl -verify', async () => {
  const text = '投標標單 PKCS1';
  let r = await onCard({ func: 'MakeSignature', signatureType: 'PKCS1', hashAlgorithm: 'SHA256', tbs: encodeURIComponent(text) });
  assert.equal(r.ret_code, 0, JSON.stringify(r));
  let digest = digestOf('sha256', Buffer.from(text));
  assert.deepEqual(pkcs1Verify(der('company-sign.der'), 'sha256', digest, r.signature), digestInfo('sha256', digest));
  digest = digestOf('sha512', Buffer.from('raw on HiCOS'));
  r = await onCard({ func: 'MakeSignature', signatureType: 'RAW', tbs: digestInfo('sha512', digest).toString('base64'), tbsEncoding: 'base64' });
  assert.equal(r.ret_code, 0, JSON.stringify(r));
  assert.deepEqual(pkcs1Verify(der('company-sign.der'), 'sha512', digest, r.signature), digestInfo('sha512', digest));
});

test('DecryptData on the company card: -des3, -aes256 and PKCS1; a tampered envelope the one code', async () => {
  const recipient = certOf(ENCRYPTION_USAGE).certb64;
  assert.equal(recipient, der('company-keyx.der'));
  const text = '開標金鑰：company sealed key';
  for (const cipher of ['-des3', '-aes256']) {
    const r = await onCard({ func: 'DecryptData', cipher: cmsEncrypt(recipient, cipher, text).toString('base64'), cipherType: 'PKCS7', plainEncoding: 'NONE' });
    assert.equal(r.ret_code, 0, `${cipher}: ${JSON.stringify(r)}`);
    assert.equal(r.plain, text);
  }
  let r = await onCard({ func: 'DecryptData', cipher: rsaEncrypt(recipient, text).toString('base64'), cipherType: 'PKCS1', plainEncoding: 'base64' });
  assert.equal(r.ret_code, 0, JSON.stringify(r));
  assert.equal(Buffer.from(r.plain, 'base64').toString('utf8'), text);
  const envelope = cmsEncrypt(recipient, '-aes256', 'a sealed bid long enough for several cipher blocks');
  envelope[envelope.length - 17] ^= 0x80;
  r = await onCard({ func: 'DecryptData', cipher: envelope.toString('base64'), cipherType: 'PKCS7', plainEncoding: 'NONE' });
  assert.equal(r.ret_code, CODE.decryptFailed, JSON.stringify(r));
  // Sealed to the agency's card: not a recipient the company card can open.
  r = await onCard({ func: 'DecryptData', cipher: cmsEncrypt(der('agency-keyx.der'), '-aes256', text).toString('base64'), cipherType: 'PKCS7', plainEncoding: 'NONE' });
  assert.equal(r.ret_code, CODE.decryptFailed, JSON.stringify(r));
});

test('wrong PINs on the HiCOS token: the counter it reports, the last try never spent', async () => {
  const pkg = { func: 'MakeSignature', signatureType: 'PKCS7', tbs: 'x' };
  let r = await onCard({ ...pkg, pin: 'wrong111' });
  assert.equal(r.ret_code, CODE.loginFailed, JSON.stringify(r));
  assert.equal(r.last_error, LAST_ERROR.twoTriesLeft);
  r = await onCard({ func: 'DecryptData', cipher: rsaEncrypt(certOf(ENCRYPTION_USAGE).certb64, 'k').toString('base64'), cipherType: 'PKCS1', pin: 'wrong222' });
  assert.equal(r.ret_code, CODE.loginFailed, JSON.stringify(r));
  assert.equal(r.last_error, LAST_ERROR.oneTryLeft);
  r = await onCard({ ...pkg });
  assert.equal(r.ret_code, CODE.loginFailed, JSON.stringify(r));
  assert.equal(r.last_error, LAST_ERROR.oneTryLeft);
  // Outside the token's PIN lengths: refused before the token.
  r = await onCard({ ...pkg, pin: 'tk8Pi' });
  assert.equal(r.ret_code, CODE.loginFailed, JSON.stringify(r));
  assert.equal(r.last_error, LAST_ERROR.pinLength);
  await screenshot(session.page, 'hipki-gpki-one-try-left');
});
