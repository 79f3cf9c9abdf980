// Shared steps of the HiPKI-dialect browser tests: the sample page (portal/hipki-sample.html,
// written the way the vendor's published sample pages are) run with a package, and the OpenSSL
// command-line checks of what comes back. Every signature is verified by openssl, every
// envelope is made by openssl.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const SIGNING_USAGE = 'digitalSignature';
export const ENCRYPTION_USAGE = 'keyEncipherment|dataEncipherment';

// ret_code and last_error values of the dialect (docs/hipki.md).
export const CODE = {
  noCard: 0x76000006,
  noReader: 0x76100003,
  loginFailed: 0x76100006,
  badParameter: 0x7600000c,
  decryptFailed: 0x7600000d,
  noDataToSign: 0x76000003,
  siteNotAuthorised: 0x76000031,
};
export const LAST_ERROR = { wrongPin: 0xa0, twoTriesLeft: -2147483646, oneTryLeft: -2147483647, blocked: 0xa4, pinLength: 0xa2 };

export const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-hipki-'));
process.on('exit', () => fs.rmSync(work, { recursive: true, force: true }));
export const file = (name) => path.join(work, name);

export function openssl(...args) {
  return execFileSync('openssl', args, { stdio: 'pipe', maxBuffer: 16 * 1024 * 1024 });
}

// The response the sample page received (the raw JSON string the popup posted, parsed).
export async function pageResponse(page) {
  await page.waitForSelector('body[data-done="true"]');
  const text = await page.textContent('#result');
  assert.notEqual(text, 'component not installed');
  return JSON.parse(text);
}

// Clicks Run on the sample page with `pkg` as its package; the response the page received.
export async function runPackage(page, pkg) {
  await page.evaluate((p) => { window.tbsPackage = p; }, pkg);
  await page.click('#run');
  return pageResponse(page);
}

// Clicks Run on the sample page with `pkg` as its package; the popup the click opened (its
// answer then comes with pageResponse).
export async function startPackage(page, pkg) {
  await page.evaluate((p) => { window.tbsPackage = p; }, pkg);
  const [popup] = await Promise.all([page.waitForEvent('popup'), page.click('#run')]);
  return popup;
}

export function pemOf(certb64) {
  return `-----BEGIN CERTIFICATE-----\n${certb64.match(/.{1,64}/g).join('\n')}\n-----END CERTIFICATE-----\n`;
}

// The key usage names openssl prints for a certificate ("Digital Signature", ...).
export function keyUsageOf(certb64) {
  fs.writeFileSync(file('ku.pem'), pemOf(certb64));
  const text = openssl('x509', '-in', file('ku.pem'), '-noout', '-ext', 'keyUsage').toString();
  return text.split('\n').slice(1).join(',').split(',').map((s) => s.trim()).filter(Boolean);
}

// `openssl cms -verify` of an attached SignedData against the CA files; the content it
// recovers. Throws (openssl's message) when it does not verify.
export function cmsVerify(signatureB64, caFiles, name = 'sig') {
  fs.writeFileSync(file(`${name}.der`), Buffer.from(signatureB64, 'base64'));
  fs.writeFileSync(file(`${name}-ca.pem`), caFiles.map((f) => fs.readFileSync(f, 'utf8')).join(''));
  openssl('cms', '-verify', '-binary', '-inform', 'DER', '-in', file(`${name}.der`),
    '-CAfile', file(`${name}-ca.pem`), '-purpose', 'any', '-out', file(`${name}.out`));
  return fs.readFileSync(file(`${name}.out`));
}

// What `openssl asn1parse` shows of a CMS SignedData: the digest algorithms' names and the
// values of the signed attributes named by OID (the bytes of their first value).
export function cmsFacts(signatureB64) {
  fs.writeFileSync(file('facts.der'), Buffer.from(signatureB64, 'base64'));
  const lines = openssl('asn1parse', '-inform', 'DER', '-in', file('facts.der')).toString().split('\n');
  const objects = lines.filter((l) => / OBJECT /.test(l)).map((l) => l.slice(l.lastIndexOf(':') + 1).trim());
  const attribute = (oid) => {
    const at = lines.findIndex((l) => / OBJECT /.test(l) && l.trimEnd().endsWith(`:${oid}`));
    if (at < 0) return null;
    // OBJECT, SET, then the value.
    const value = lines[at + 2];
    const hex = value.match(/\[HEX DUMP\]:([0-9A-F]*)/);
    if (hex) return Buffer.from(hex[1], 'hex');
    return Buffer.from(value.slice(value.indexOf(':', value.indexOf('prim:') + 5) + 1), 'utf8');
  };
  const type = (oid) => {
    const at = lines.findIndex((l) => / OBJECT /.test(l) && l.trimEnd().endsWith(`:${oid}`));
    return at < 0 ? null : lines[at + 2].match(/prim: (\S+(?: \S+)?)\s/)[1];
  };
  return { objects, attribute, type };
}

const DIGEST_INFO_PREFIX = {
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
  sha512: '3051300d060960864801650304020305000440',
};

// The DER DigestInfo of RFC 8017 §9.2 for a digest.
export function digestInfo(hash, digest) {
  return Buffer.concat([Buffer.from(DIGEST_INFO_PREFIX[hash], 'hex'), digest]);
}

// RSASSA-PKCS1-v1_5 verification by `openssl pkeyutl -verify` with the certificate's key over
// the digest of `hash`; also what `pkeyutl -verifyrecover` finds inside the signature (the
// DigestInfo the card signed). Throws when the signature does not verify.
export function pkcs1Verify(certb64, hash, digest, signatureB64) {
  fs.writeFileSync(file('signer.pem'), pemOf(certb64));
  fs.writeFileSync(file('digest.bin'), digest);
  fs.writeFileSync(file('pkcs1.sig'), Buffer.from(signatureB64, 'base64'));
  const out = openssl('pkeyutl', '-verify', '-certin', '-inkey', file('signer.pem'), '-pkeyopt', `digest:${hash}`,
    '-pkeyopt', 'rsa_padding_mode:pkcs1', '-in', file('digest.bin'), '-sigfile', file('pkcs1.sig')).toString();
  assert.match(out, /Signature Verified Successfully/);
  return openssl('pkeyutl', '-verifyrecover', '-certin', '-inkey', file('signer.pem'),
    '-pkeyopt', 'rsa_padding_mode:pkcs1', '-in', file('pkcs1.sig'));
}

export function digestOf(hash, data) {
  return crypto.createHash(hash).update(data).digest();
}

// An EnvelopedData sealed by `openssl cms -encrypt` with `cipher` (-des3, -aes256) to the
// certificate; DER bytes.
export function cmsEncrypt(certb64, cipher, plain) {
  fs.writeFileSync(file('recip.pem'), pemOf(certb64));
  fs.writeFileSync(file('plain.bin'), plain);
  openssl('cms', '-encrypt', '-binary', '-outform', 'DER', cipher, '-in', file('plain.bin'),
    '-out', file('env.der'), '-recip', file('recip.pem'));
  return fs.readFileSync(file('env.der'));
}

// RSAES-PKCS1-v1_5 by `openssl pkeyutl -encrypt` to the certificate's key.
export function rsaEncrypt(certb64, plain) {
  fs.writeFileSync(file('recip.pem'), pemOf(certb64));
  fs.writeFileSync(file('plain.bin'), plain);
  openssl('pkeyutl', '-encrypt', '-certin', '-inkey', file('recip.pem'), '-pkeyopt', 'rsa_padding_mode:pkcs1',
    '-in', file('plain.bin'), '-out', file('rsa.bin'));
  return fs.readFileSync(file('rsa.bin'));
}

// A certificate's validity in Unix seconds, as openssl reads it.
export function validityOf(certb64) {
  fs.writeFileSync(file('dates.pem'), pemOf(certb64));
  const text = openssl('x509', '-in', file('dates.pem'), '-noout', '-startdate', '-enddate', '-dateopt', 'iso_8601').toString();
  const at = (name) => Date.parse(text.match(new RegExp(`${name}=(\\S+ \\S+)`))[1].replace(' ', 'T')) / 1000;
  return { notBefore: at('notBefore'), notAfter: at('notAfter') };
}
