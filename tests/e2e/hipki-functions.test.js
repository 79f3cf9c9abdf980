// The HiPKI dialect's functions on the virtual PIV cards, driven the way the vendor's published
// sample pages drive the component: a public https page (portal/hipki-sample.html) whose click
// opens http://localhost:61161/popupForm, answers its getTbs with the package and reads the
// response (event.origin checked). One browser and one page for the whole file. Every
// signature is verified by openssl (cms -verify, pkeyutl -verify), every envelope and RSA
// ciphertext is made by openssl, the CMS attributes are read with openssl asn1parse.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { PIN, PUBLIC_SITE, READER, WRONG_PIN, cardCtl, openPortal, screenshot } from './support.js';
import {
  CODE, ENCRYPTION_USAGE, LAST_ERROR, SIGNING_USAGE, cmsEncrypt, cmsFacts, cmsVerify, digestInfo, digestOf,
  keyUsageOf, pkcs1Verify, rsaEncrypt, runPackage, validityOf,
} from './hipki-support.js';

if (!PUBLIC_SITE) throw new Error('run with TK_E2E_PUBLIC_TLS=1');

const CA = [process.env.TK_VCARD_CA_0];
const HASHES = { SHA256: 'sha256', SHA384: 'sha384', SHA512: 'sha512' };
const NONCE_OID = '1.2.840.113549.1.9.25.3';
const CARD_SN_OID = '2.16.886.1.100.2.204';
const harness = path.dirname(process.env.TK_E2E_CARD_CTL);

let session;
let token; // GetUserCert's token of reader 0
before(async () => { session = await openPortal({ query: 'hipki-sample.html' }); });
after(async () => { await session?.browser.close(); });

const run = (pkg) => runPackage(session.page, pkg);
const sign = (pkg) => run({ func: 'MakeSignature', pin: encodeURIComponent(PIN), ...pkg });
// The PIV card's signature (9C) and key management (9D) certificates.
const certOf = (usage) => token.certs.find((c) => c.usage === usage &&
  c.label === (usage === SIGNING_USAGE ? 'Digital Signature' : 'Key Management'));

function cli(args, env) {
  return execFileSync(process.env.TK_E2E_CLI, ['--dev', ...args],
    { encoding: 'utf8', env: { ...process.env, ...env }, stdio: 'pipe' });
}

function waitCard(index, state) {
  execFileSync(path.join(harness, 'wait-card'), [READER[index], state, '10'], { stdio: 'pipe' });
}

test('GetUserCert: the signing and the encryption certificates, usage strings and times exact; CheckEnvir', async () => {
  const r = await run({ func: 'GetUserCert' });
  assert.equal(r.ret_code, 0, JSON.stringify(r));
  assert.equal(r.last_error, 0);
  assert.equal(r.func, 'pkcs11info');
  assert.equal(r.serverVersion, '1.3.4.999999');
  assert.deepEqual(r.slots.map((s) => s.slotDescription).filter((d) => READER.includes(d)).sort(), [...READER].sort());
  token = r.slots.find((s) => s.slotDescription === READER[0]).token;
  assert.match(token.serialNumber, /\S/);
  // 9C signs; 9D and the retired key management keys decrypt; 9A and 9E do neither.
  assert.deepEqual(token.certs.map((c) => `${c.label}: ${c.usage}`).sort(), [
    `Digital Signature: ${SIGNING_USAGE}`, `Key Management: ${ENCRYPTION_USAGE}`,
    `Retired Key Management 1: ${ENCRYPTION_USAGE}`].sort(), JSON.stringify(token));
  for (const cert of token.certs) {
    const usage = keyUsageOf(cert.certb64);
    if (cert.usage === SIGNING_USAGE) assert.ok(usage.includes('Digital Signature'), usage.join());
    else assert.ok(usage.includes('Key Encipherment') || usage.includes('Key Agreement'), usage.join());
    const { notBefore, notAfter } = validityOf(cert.certb64);
    assert.equal(cert.notBeforeT, notBefore);
    assert.equal(cert.notAfterT, notAfter);
    const x509 = new X509Certificate(Buffer.from(cert.certb64, 'base64'));
    assert.equal(cert.sn.toUpperCase().replace(/^0+/, ''), x509.serialNumber.toUpperCase().replace(/^0+/, ''));
  }
  await screenshot(session.page, 'hipki-functions-getusercert');
  // CheckEnvir: the same slots, each card by its serial number only.
  const envir = await run({ func: 'CheckEnvir' });
  assert.equal(envir.ret_code, 0, JSON.stringify(envir));
  assert.equal(envir.func, 'pkcs11info');
  assert.deepEqual(envir.slots.find((s) => s.slotDescription === READER[0]).token, { serialNumber: token.serialNumber });
});

test('MakeSignature PKCS7 over NONE and base64 tbs with each hash, nonce and card serial', async () => {
  const text = '投標文件 2026-0042：總價 3,150,000 元 (100% + 5% tax)';
  for (const [hashName, hash] of Object.entries(HASHES)) {
    for (const encoding of ['NONE', 'base64']) {
      const nonce = `n-${hashName}-${encoding}-${Date.now()}`;
      const r = await sign({
        signatureType: 'PKCS7', hashAlgorithm: hashName, withCardSN: 'true', nonce, tbsEncoding: encoding,
        tbs: encoding === 'NONE' ? encodeURIComponent(text) : Buffer.from(text).toString('base64'),
      });
      const what = `${hashName} ${encoding}`;
      assert.equal(r.ret_code, 0, `${what}: ${JSON.stringify(r)}`);
      assert.equal(r.func, 'sign');
      assert.equal(r.certb64, certOf(SIGNING_USAGE).certb64, what);
      assert.equal(r.cardSN, token.serialNumber, what);
      assert.equal(cmsVerify(r.signature, CA).toString('utf8'), text, what);
      const facts = cmsFacts(r.signature);
      assert.ok(facts.objects.includes(hash), `${what}: digest algorithm ${facts.objects.join()}`);
      assert.ok(facts.objects.includes('signingTime'), what);
      assert.equal(facts.type(NONCE_OID), 'OCTET STRING', what);
      assert.equal(facts.attribute(NONCE_OID).toString('utf8'), nonce, what);
      assert.equal(facts.type(CARD_SN_OID), 'UTF8STRING', what);
      assert.equal(facts.attribute(CARD_SN_OID).toString('utf8'), token.serialNumber, what);
    }
  }
});

test('MakeSignature PKCS7 without nonce and card serial carries neither attribute', async () => {
  const r = await sign({ signatureType: 'PKCS7', hashAlgorithm: 'SHA256', tbs: 'abc', withCardSN: 'false', nonce: '' });
  assert.equal(r.ret_code, 0, JSON.stringify(r));
  assert.equal(cmsVerify(r.signature, CA).toString('utf8'), 'abc');
  const facts = cmsFacts(r.signature);
  assert.equal(facts.attribute(NONCE_OID), null);
  assert.equal(facts.attribute(CARD_SN_OID), null);
  assert.equal(r.cardSN, token.serialNumber);
});

test('a NONE tbs is percent-decoded exactly once; a base64 tbs is never', async () => {
  // encodeURIComponent of a text holding "%41", "%E4" and "+": decoded once, these stay.
  const text = '標單 %41 %E4 a+b=c 100%';
  let r = await sign({ signatureType: 'PKCS7', tbs: encodeURIComponent(text), tbsEncoding: 'NONE' });
  assert.equal(r.ret_code, 0, JSON.stringify(r));
  assert.equal(cmsVerify(r.signature, CA).toString('utf8'), text);
  // An empty tbsEncoding is NONE.
  r = await sign({ signatureType: 'PKCS7', tbs: encodeURIComponent(text), tbsEncoding: '' });
  assert.equal(r.ret_code, 0, JSON.stringify(r));
  assert.equal(cmsVerify(r.signature, CA).toString('utf8'), text);
  // Base64 with "+" and "/" arrives raw and is decoded as base64 only.
  const bytes = Buffer.from([0xfb, 0xef, 0xbe, 0xff, 0x00, 0x3e]);
  assert.match(bytes.toString('base64'), /[+/]/);
  r = await sign({ signatureType: 'PKCS7', tbs: bytes.toString('base64'), tbsEncoding: 'base64' });
  assert.equal(r.ret_code, 0, JSON.stringify(r));
  assert.deepEqual(cmsVerify(r.signature, CA), bytes);
});

test('MakeSignature PKCS1 with each hash: openssl pkeyutl -verify over hash(tbs)', async () => {
  const text = '投標文件 PKCS1 100%';
  for (const [hashName, hash] of Object.entries(HASHES)) {
    const r = await sign({ signatureType: 'PKCS1', hashAlgorithm: hashName, tbs: encodeURIComponent(text), tbsEncoding: 'NONE' });
    assert.equal(r.ret_code, 0, `${hashName}: ${JSON.stringify(r)}`);
    assert.equal(r.certb64, certOf(SIGNING_USAGE).certb64);
    const digest = digestOf(hash, Buffer.from(text));
    const recovered = pkcs1Verify(r.certb64, hash, digest, r.signature);
    assert.deepEqual(recovered, digestInfo(hash, digest), hashName);
  }
});

test('MakeSignature RAW: the DigestInfo signed as given, verified by openssl', async () => {
  for (const hash of Object.values(HASHES)) {
    const digest = digestOf(hash, Buffer.from(`raw ${hash}`));
    const info = digestInfo(hash, digest);
    // hashAlgorithm is not used for RAW: a page may leave SHA256 in it.
    const r = await sign({ signatureType: 'RAW', hashAlgorithm: 'SHA256', tbs: info.toString('base64'), tbsEncoding: 'base64' });
    assert.equal(r.ret_code, 0, `${hash}: ${JSON.stringify(r)}`);
    assert.deepEqual(pkcs1Verify(r.certb64, hash, digest, r.signature), info, hash);
  }
});

test('MakeSignature RAW with a malformed DigestInfo is refused as a bad parameter', async () => {
  const digest = digestOf('sha256', Buffer.from('raw'));
  const good = digestInfo('sha256', digest);
  const sha1Oid = Buffer.concat([Buffer.from('3021300906052b0e03021a05000414', 'hex'), digest.subarray(0, 20)]);
  const md5Oid = Buffer.concat([Buffer.from('3020300c06082a864886f70d020505000410', 'hex'), digest.subarray(0, 16)]);
  const unknownOid = Buffer.from(good); unknownOid[14] = 0x09; // 2.16.840.1.101.3.4.2.9
  const cases = {
    'unknown hash OID': unknownOid,
    'SHA-1 DigestInfo': sha1Oid,
    'MD5 DigestInfo': md5Oid,
    'digest one byte short': Buffer.concat([Buffer.from('3030300d06096086480165030402010500041f', 'hex'), digest.subarray(1)]),
    'SHA-256 OID with a SHA-512 digest': Buffer.concat([Buffer.from('3051300d060960864801650304020105000440', 'hex'), digestOf('sha512', 'x')]),
    'trailing byte': Buffer.concat([good, Buffer.from([0])]),
    'bare digest': digest,
    'parameters absent': Buffer.concat([Buffer.from('302f300b0609608648016503040201' + '0420', 'hex'), digest]),
  };
  for (const [name, der] of Object.entries(cases)) {
    const r = await sign({ signatureType: 'RAW', tbs: der.toString('base64'), tbsEncoding: 'base64' });
    assert.equal(r.ret_code, CODE.badParameter, `${name}: ${JSON.stringify(r)}`);
    assert.equal(r.func, 'sign');
    assert.equal(r.signature, undefined, name);
  }
  const r = await sign({ signatureType: 'RAW', tbs: '***not base64***' });
  assert.equal(r.ret_code, CODE.badParameter, JSON.stringify(r));
});

test('MakeSignature with an empty tbs: no data to sign', async () => {
  const r = await sign({ signatureType: 'PKCS7', tbs: '' });
  assert.equal(r.ret_code, CODE.noDataToSign, JSON.stringify(r));
});

test('DecryptData: openssl cms -encrypt -des3 and -aes256, and PKCS1, plainEncoding NONE and base64', async () => {
  const recipient = certOf(ENCRYPTION_USAGE).certb64;
  const text = '開標金鑰 sealed bid key 2026-0042';
  const binary = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x41, 0x0a, 0xc3]);
  for (const cipher of ['-des3', '-aes256']) {
    let r = await run({ func: 'DecryptData', cipher: cmsEncrypt(recipient, cipher, text).toString('base64'), cipherType: 'PKCS7', plainEncoding: 'NONE', pin: PIN });
    assert.equal(r.ret_code, 0, `${cipher}: ${JSON.stringify(r)}`);
    assert.equal(r.func, 'decrypt');
    assert.equal(r.plain, text, cipher);
    r = await run({ func: 'DecryptData', cipher: cmsEncrypt(recipient, cipher, binary).toString('base64'), cipherType: 'PKCS7', plainEncoding: 'base64', pin: PIN });
    assert.equal(r.ret_code, 0, `${cipher} base64: ${JSON.stringify(r)}`);
    assert.deepEqual(Buffer.from(r.plain, 'base64'), binary, cipher);
  }
  let r = await run({ func: 'DecryptData', cipher: rsaEncrypt(recipient, text).toString('base64'), cipherType: 'PKCS1', plainEncoding: 'NONE', pin: encodeURIComponent(PIN) });
  assert.equal(r.ret_code, 0, JSON.stringify(r));
  assert.equal(r.plain, text);
  r = await run({ func: 'DecryptData', cipher: rsaEncrypt(recipient, binary).toString('base64'), cipherType: 'PKCS1', plainEncoding: 'base64', pin: PIN });
  assert.equal(r.ret_code, 0, JSON.stringify(r));
  assert.deepEqual(Buffer.from(r.plain, 'base64'), binary);
});

test('DecryptData: a tampered or foreign envelope answers the one decrypt error code', async () => {
  const recipient = certOf(ENCRYPTION_USAGE).certb64;
  const plain = 'a sealed bid long enough for several cipher blocks';
  const cases = {};
  for (const [cipher, block] of [['-des3', 8], ['-aes256', 16]]) {
    const envelope = cmsEncrypt(recipient, cipher, plain);
    // The ciphertext ends the DER; a bit of the block before the last one flipped breaks the
    // padding of the last plaintext block (whatever its value).
    const padding = Buffer.from(envelope); padding[padding.length - block - 1] ^= 0x80;
    cases[`${cipher} padding broken`] = padding;
    cases[`${cipher} truncated`] = envelope.subarray(0, envelope.length - 5);
  }
  // Sealed to the signing certificate: the card's decryption key is not its recipient.
  cases['other recipient'] = cmsEncrypt(certOf(SIGNING_USAGE).certb64, '-aes256', plain);
  cases['not an envelope'] = Buffer.from('3003020101', 'hex');
  for (const [name, der] of Object.entries(cases)) {
    const r = await run({ func: 'DecryptData', cipher: der.toString('base64'), cipherType: 'PKCS7', plainEncoding: 'NONE', pin: PIN });
    assert.equal(r.ret_code, CODE.decryptFailed, `${name}: ${JSON.stringify(r)}`);
    assert.equal(r.plain, undefined, name);
  }
  const rsa = rsaEncrypt(recipient, plain);
  rsa[10] ^= 0x01;
  const r = await run({ func: 'DecryptData', cipher: rsa.toString('base64'), cipherType: 'PKCS1', plainEncoding: 'NONE', pin: PIN });
  assert.equal(r.ret_code, CODE.decryptFailed, `PKCS1 tampered: ${JSON.stringify(r)}`);
});

test('a wrong PIN: login failed with the tries left, the last try never spent, blocked 0xA4', async () => {
  // The cards of this test have five PIN tries (CMakeLists.txt): 4, 3, 2, then 1 left.
  const wrongSign = () => sign({ signatureType: 'PKCS7', tbs: 'x', pin: WRONG_PIN });
  const wrongDecrypt = () => run({
    func: 'DecryptData', cipher: rsaEncrypt(certOf(ENCRYPTION_USAGE).certb64, 'k').toString('base64'),
    cipherType: 'PKCS1', pin: WRONG_PIN,
  });
  for (const [attempt, lastError] of [[wrongSign, LAST_ERROR.wrongPin], [wrongDecrypt, LAST_ERROR.wrongPin],
    [wrongSign, LAST_ERROR.twoTriesLeft], [wrongDecrypt, LAST_ERROR.oneTryLeft]]) {
    const r = await attempt();
    assert.equal(r.ret_code, CODE.loginFailed, JSON.stringify(r));
    assert.equal(r.last_error, lastError, JSON.stringify(r));
  }
  // One try left: even the right PIN is not sent to the card.
  let r = await sign({ signatureType: 'PKCS1', tbs: 'x', pin: PIN });
  assert.equal(r.ret_code, CODE.loginFailed, JSON.stringify(r));
  assert.equal(r.last_error, LAST_ERROR.oneTryLeft);
  assert.equal(cli(['pin', 'status', '--reader', READER[0]]), 'PIN: 1 try left\n');
  // A PIN of the wrong length.
  r = await sign({ signatureType: 'PKCS7', tbs: 'x', pin: '12' });
  assert.equal(r.ret_code, CODE.loginFailed, JSON.stringify(r));
  assert.equal(r.last_error, LAST_ERROR.pinLength);

  // The holder spends the last try elsewhere (the command line, which may): blocked.
  assert.throws(() => cli(['pin', 'verify', '--reader', READER[0], '--last-attempt'], { TENDERKEY_PIN: WRONG_PIN }));
  assert.match(cli(['pin', 'status', '--reader', READER[0]]), /^PIN blocked/);
  r = await sign({ signatureType: 'PKCS7', tbs: 'x', pin: PIN });
  assert.equal(r.ret_code, CODE.loginFailed, JSON.stringify(r));
  assert.equal(r.last_error, LAST_ERROR.blocked);
  await screenshot(session.page, 'hipki-functions-blocked');

  // Unblocked with the PUK, the card signs again.
  cli(['pin', 'unblock', '--reader', READER[0]], { TENDERKEY_PUK: '12345678', TENDERKEY_NEW_PIN: PIN });
  r = await sign({ signatureType: 'PKCS7', tbs: 'again', pin: PIN });
  assert.equal(r.ret_code, 0, JSON.stringify(r));
  assert.equal(cmsVerify(r.signature, CA).toString('utf8'), 'again');
});

test('no card: the reader named by slotDescription is empty, then no card at all', async () => {
  await cardCtl(0, 'remove');
  try {
    waitCard(0, 'absent');
    let r = await sign({ signatureType: 'PKCS7', tbs: 'x', slotDescription: READER[0] });
    assert.equal(r.ret_code, CODE.noCard, JSON.stringify(r));
    // Without slotDescription the other card signs.
    r = await sign({ signatureType: 'PKCS7', tbs: 'x' });
    assert.equal(r.ret_code, 0, JSON.stringify(r));
    assert.equal(cmsVerify(r.signature, [process.env.TK_VCARD_CA_1 ?? CA[0]]).toString('utf8'), 'x');
    assert.notEqual(r.cardSN, token.serialNumber);
    await cardCtl(1, 'remove');
    try {
      waitCard(1, 'absent');
      r = await sign({ signatureType: 'PKCS7', tbs: 'x' });
      assert.equal(r.ret_code, CODE.noCard, JSON.stringify(r));
      r = await run({ func: 'DecryptData', cipher: rsaEncrypt(certOf(ENCRYPTION_USAGE).certb64, 'k').toString('base64'), cipherType: 'PKCS1', pin: PIN });
      assert.equal(r.ret_code, CODE.noCard, JSON.stringify(r));
      r = await run({ func: 'GetUserCert' });
      assert.equal(r.ret_code, 0, JSON.stringify(r));
      for (const reader of READER) assert.equal(r.slots.find((s) => s.slotDescription === reader).token, null);
    } finally {
      await cardCtl(1, 'insert');
    }
  } finally {
    await cardCtl(0, 'insert');
  }
  waitCard(0, 'present');
  waitCard(1, 'present');
});

test('no reader: a slotDescription naming none, then no PC/SC service', async () => {
  let r = await sign({ signatureType: 'PKCS7', tbs: 'x', slotDescription: 'Reader That Is Not There 00 00' });
  assert.equal(r.ret_code, CODE.noReader, JSON.stringify(r));
  execFileSync(process.env.TK_HARNESS_PCSCD, ['stop'], { stdio: 'pipe' });
  try {
    r = await sign({ signatureType: 'PKCS7', tbs: 'x' });
    assert.equal(r.ret_code, CODE.noReader, JSON.stringify(r));
  } finally {
    execFileSync(process.env.TK_HARNESS_PCSCD, ['start'], { stdio: 'pipe' });
  }
});
