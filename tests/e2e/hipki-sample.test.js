// A page in the style of the HiPKI component's sample pages, served as a public https site,
// signs and decrypts through TenderKey's popup on http://localhost:61161 with no browser
// prompt; every signature is verified and every envelope made by the openssl command line.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { runPackage } from './hipki-support.js';
import { PIN, PORTAL, PUBLIC_SITE, WRONG_PIN, openPortal, screenshot } from './support.js';

if (!PUBLIC_SITE) throw new Error('run with TK_E2E_PUBLIC_TLS=1');

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-hipki-'));
let session;
before(async () => { session = await openPortal({ query: 'hipki-sample.html' }); });
after(async () => { await session?.browser.close(); });

// Clicks Run with `pkg` as the page's package; the response the page received.
const run = (pkg) => runPackage(session.page, pkg);

let token;
test('GetUserCert: the card, its signing and encryption certificates', async () => {
  const r = await run({ func: 'GetUserCert' });
  assert.equal(r.ret_code, 0, JSON.stringify(r));
  assert.equal(r.func, 'pkcs11info');
  const slot = r.slots.find((s) => s.slotDescription === process.env.TK_READER_0);
  token = slot.token;
  assert.ok(token.certs.some((c) => c.usage === 'digitalSignature'));
  assert.ok(token.certs.some((c) => c.usage === 'keyEncipherment|dataEncipherment'));
  await screenshot(session.page, 'hipki-getusercert');
});

test('MakeSignature PKCS7 with nonce and card serial: openssl cms -verify, attributes present', async () => {
  const text = '投標文件 2026-0042 100% + tax';
  const r = await run({
    func: 'MakeSignature', signatureType: 'PKCS7', tbs: encodeURIComponent(text), tbsEncoding: 'NONE',
    hashAlgorithm: 'SHA256', withCardSN: 'true', nonce: 'nonce-e2e-1', pin: encodeURIComponent(PIN),
  });
  assert.equal(r.ret_code, 0, JSON.stringify(r));
  fs.writeFileSync(path.join(work, 'sig.der'), Buffer.from(r.signature, 'base64'));
  execFileSync('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', path.join(work, 'sig.der'),
    '-CAfile', process.env.TK_VCARD_CA_0, '-out', path.join(work, 'out.bin')], { stdio: 'pipe' });
  assert.equal(fs.readFileSync(path.join(work, 'out.bin'), 'utf8'), text);
  const printed = execFileSync('openssl', ['cms', '-cmsout', '-print', '-inform', 'DER', '-in', path.join(work, 'sig.der')]).toString();
  assert.match(printed, /1\.2\.840\.113549\.1\.9\.25\.3|randomNonce/);
  assert.match(printed, /2\.16\.886\.1\.100\.2\.204/);
  assert.ok(printed.includes(r.cardSN));
});

test('DecryptData of an openssl cms -encrypt -des3 envelope', async () => {
  const cert = token.certs.find((c) => c.usage === 'keyEncipherment|dataEncipherment');
  fs.writeFileSync(path.join(work, 'recip.pem'),
    `-----BEGIN CERTIFICATE-----\n${cert.certb64.match(/.{1,64}/g).join('\n')}\n-----END CERTIFICATE-----\n`);
  fs.writeFileSync(path.join(work, 'plain.txt'), 'sealed bid key');
  execFileSync('openssl', ['cms', '-encrypt', '-binary', '-outform', 'DER', '-des3', '-in', path.join(work, 'plain.txt'),
    '-out', path.join(work, 'env.der'), '-recip', path.join(work, 'recip.pem')]);
  const r = await run({
    func: 'DecryptData', cipher: fs.readFileSync(path.join(work, 'env.der')).toString('base64'),
    cipherType: 'PKCS7', plainEncoding: 'NONE', pin: PIN,
  });
  assert.equal(r.ret_code, 0, JSON.stringify(r));
  assert.equal(r.plain, 'sealed bid key');
});

test('an empty pin: the popup grows and asks for the PIN itself', async () => {
  const { page } = session;
  await page.evaluate((p) => { window.tbsPackage = p; },
    { func: 'MakeSignature', signatureType: 'PKCS7', tbs: 'abc', tbsEncoding: 'NONE', hashAlgorithm: 'SHA384', pin: '' });
  const [popup] = await Promise.all([page.waitForEvent('popup'), page.click('#run')]);
  await popup.waitForSelector('#pin-dialog:not([hidden])');
  assert.equal(await popup.textContent('#pin-origin'), new URL(PORTAL).origin);
  await screenshot(popup, 'hipki-popup-pin');
  await popup.fill('#pin-input', PIN);
  await popup.click('#pin-ok');
  await page.waitForSelector('body[data-done="true"]');
  const r = JSON.parse(await page.textContent('#result'));
  assert.equal(r.ret_code, 0, JSON.stringify(r));
  fs.writeFileSync(path.join(work, 'sig2.der'), Buffer.from(r.signature, 'base64'));
  execFileSync('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', path.join(work, 'sig2.der'),
    '-CAfile', process.env.TK_VCARD_CA_0, '-out', path.join(work, 'out2.bin')], { stdio: 'pipe' });
  assert.equal(fs.readFileSync(path.join(work, 'out2.bin'), 'utf8'), 'abc');
});

test('a wrong PIN answers the login-failed code with the tries left', async () => {
  const r = await run({ func: 'MakeSignature', signatureType: 'PKCS1', tbs: 'x', hashAlgorithm: 'SHA256', pin: WRONG_PIN });
  assert.equal(r.ret_code, 0x76100006);
  assert.equal(r.last_error, -2147483646);
  assert.match(PORTAL, /^https:/);
});
