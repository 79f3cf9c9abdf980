// certificates.list, sign and decrypt on the virtual card, every result checked
// with node:crypto against the certificate the daemon listed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  X509Certificate, constants, createHash, publicEncrypt, randomBytes, verify,
} from 'node:crypto';
import { TenderKeyError, fromBase64 } from '../tenderkey.js';
import {
  CA_PEM, LIMIT, PIN, READER, open,
} from './live-support.js';

const SLOT_ORDER = ['9a', '9c', '9d', '9e', '82'];
const CA = new X509Certificate(CA_PEM);

const sha = (name, bytes) => createHash(name).update(bytes).digest();
const x509 = (b64) => new X509Certificate(Buffer.from(fromBase64(b64)));

async function listed(t) {
  const tk = await open(t);
  const { certificates } = await tk.certificatesList({ reader: READER });
  const bySlot = Object.fromEntries(certificates.map((c) => [c.slot, c]));
  return { tk, certificates, bySlot };
}

function rejectsWith(promise, reason) {
  return assert.rejects(promise, (err) => {
    assert.ok(err instanceof TenderKeyError, `a TenderKeyError, got ${err}`);
    assert.equal(err.reason, reason, `${err.reason}: ${err.message}`);
    return true;
  });
}

test('CertificatesList_FiveCertificatesInSlotOrder_DerParsesAsX509SignedByTheCardCa', LIMIT, async (t) => {
  const { certificates } = await listed(t);
  assert.deepEqual(certificates.map((c) => c.slot), SLOT_ORDER);
  const cardIds = new Set(certificates.map((c) => c.cardId));
  assert.equal(cardIds.size, 1);
  for (const c of certificates) {
    const cert = x509(c.der);
    assert.equal(c.reader, READER);
    assert.equal(c.serialNumber, cert.serialNumber.toLowerCase().replace(/^(00)+(?=.)/, ''), `${c.slot} serial`);
    assert.equal(new Date(c.notAfter).getTime(), new Date(cert.validTo).getTime(), `${c.slot} notAfter`);
    assert.ok(cert.verify(CA.publicKey), `${c.slot} is signed by the card's CA`);
    assert.ok(cert.checkIssued(CA), `${c.slot} names the CA as issuer`);
    const cn = cert.subject.split('\n').find((l) => l.startsWith('CN='));
    assert.ok(c.subject.includes(cn), `${c.slot} subject ${c.subject} has ${cn}`);
    const key = cert.publicKey;
    const details = key.asymmetricKeyDetails;
    const algorithm = key.asymmetricKeyType === 'rsa'
      ? `RSA-${details.modulusLength}`
      : { prime256v1: 'EC-P256', secp384r1: 'EC-P384' }[details.namedCurve];
    assert.equal(c.keyAlgorithm, algorithm, `${c.slot} key algorithm`);
  }
});

test('CertificatesList_UsableFor_FollowsTheSlotRules', LIMIT, async (t) => {
  const { bySlot } = await listed(t);
  assert.deepEqual(bySlot['9a'].usableFor, ['register']);
  assert.deepEqual(bySlot['9c'].usableFor, ['sign']);
  assert.deepEqual(bySlot['9d'].usableFor, ['decrypt']);
  assert.deepEqual(bySlot['9e'].usableFor, [], 'a key without PIN is disabled by default');
  assert.deepEqual(bySlot['82'].usableFor, ['decrypt'], 'retired key management: decrypt only');
  assert.equal(bySlot['9c'].label, 'Digital Signature');
  assert.equal(bySlot['82'].label, 'Retired Key Management 1');
});

test('Sign_RsaPkcs1v15OverDigest_VerifiesWithTheListedCertificate', LIMIT, async (t) => {
  const { tk, bySlot } = await listed(t);
  const c = bySlot['9c'];
  assert.ok(c.usableFor.includes('sign'));
  const content = Buffer.from('TenderKey 投標文件 2026-0042');
  const digest = sha('sha256', content);
  const r = await tk.sign({ certificateId: c.id, pin: PIN, digest });
  assert.equal(r.algorithm, 'RSASSA-PKCS1-v1_5');
  assert.equal(r.hash, 'SHA-256');
  assert.equal(r.certificate, c.der);
  const key = x509(c.der).publicKey;
  const signature = Buffer.from(fromBase64(r.signature));
  assert.equal(signature.length, 256);
  assert.ok(verify('sha256', content, { key, padding: constants.RSA_PKCS1_PADDING }, signature));
  assert.ok(!verify('sha256', Buffer.from('another document'), { key, padding: constants.RSA_PKCS1_PADDING }, signature));
});

test('Sign_RsaPssOverDataWithSha384_VerifiesWithTheListedCertificate', LIMIT, async (t) => {
  const { tk, bySlot } = await listed(t);
  const c = bySlot['9c'];
  const content = randomBytes(1000);
  const r = await tk.sign({
    certificateId: c.id, pin: PIN, data: content, hash: 'SHA-384', algorithm: 'RSA-PSS',
  });
  assert.equal(r.algorithm, 'RSA-PSS');
  assert.equal(r.hash, 'SHA-384');
  const key = x509(c.der).publicKey;
  const signature = Buffer.from(fromBase64(r.signature));
  const pss = { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 };
  assert.ok(verify('sha384', content, pss, signature), 'PSS with salt length = hash length');
  assert.ok(!verify('sha384', content, { key, padding: constants.RSA_PKCS1_PADDING }, signature));
});

test('Sign_WithKeysOutsideUsableFor_IsKeyUsage', LIMIT, async (t) => {
  const { tk, bySlot } = await listed(t);
  const digest = sha('sha256', Buffer.from('x'));
  await rejectsWith(tk.sign({ certificateId: bySlot['9a'].id, pin: PIN, digest }), 'KEY_USAGE');
  await rejectsWith(tk.sign({ certificateId: bySlot['9d'].id, pin: PIN, digest }), 'KEY_USAGE');
  await rejectsWith(tk.sign({ certificateId: bySlot['9e'].id, pin: PIN, digest }), 'KEY_USAGE');
  // The retired key-management key has digitalSignature in its certificate, and still never signs.
  await rejectsWith(tk.sign({ certificateId: bySlot['82'].id, pin: PIN, digest }), 'KEY_USAGE');
});

test('Sign_EcdsaWithAnRsaKey_IsUnsupportedAlgorithm', LIMIT, async (t) => {
  const { tk, bySlot } = await listed(t);
  await rejectsWith(
    tk.sign({
      certificateId: bySlot['9c'].id, pin: PIN, digest: sha('sha256', Buffer.from('x')), algorithm: 'ECDSA',
    }),
    'UNSUPPORTED_ALGORITHM',
  );
});

test('Decrypt_RsaOaepAndPkcs1Ciphertexts_GiveBackThePlaintext', LIMIT, async (t) => {
  const { tk, bySlot } = await listed(t);
  const c = bySlot['9d'];
  const key = x509(c.der).publicKey;
  const secret = randomBytes(32);
  const oaep = publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, secret);
  const r1 = await tk.decrypt({
    certificateId: c.id, pin: PIN, algorithm: 'RSA-OAEP', hash: 'SHA-256', ciphertext: oaep,
  });
  assert.deepEqual(Buffer.from(fromBase64(r1.data)), secret);
  const pkcs1 = publicEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, secret);
  const r2 = await tk.decrypt({
    certificateId: c.id, pin: PIN, algorithm: 'RSAES-PKCS1-v1_5', ciphertext: pkcs1,
  });
  assert.deepEqual(Buffer.from(fromBase64(r2.data)), secret);
  await rejectsWith(
    tk.decrypt({ certificateId: c.id, pin: PIN, algorithm: 'RSA-OAEP', ciphertext: pkcs1 }),
    'DECRYPT_FAILED',
  );
});
