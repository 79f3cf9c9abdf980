// [pin] page_supplied = false applies to the HiPKI dialect too: a package carrying a PIN is
// refused with "site not authorised" before anything reaches the card, and a package with an
// empty pin has the popup ask for the PIN itself (the signature verified by openssl cms -verify).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { pageResponse, startPackage } from './hipki-support.js';
import { PIN, PORTAL, PUBLIC_SITE, WRONG_PIN, cardCtl, openPortal } from './support.js';

if (!PUBLIC_SITE || process.env.TK_E2E_HIPKI !== '1' || process.env.TK_E2E_PAGE_PINS !== '0') {
  throw new Error('run with TK_E2E_PUBLIC_TLS=1 TK_E2E_HIPKI=1 TK_E2E_PAGE_PINS=0');
}

const SITE_NOT_AUTHORISED = 0x76000031;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-hipki-pins-'));
let session;
before(async () => { session = await openPortal({ query: 'hipki-sample.html' }); });
after(async () => { await session?.browser.close(); });

const start = (pkg) => startPackage(session.page, pkg);
const response = () => pageResponse(session.page);

test('a package carrying a PIN is refused before the card', async () => {
  const packages = [
    { func: 'MakeSignature', signatureType: 'PKCS7', tbs: 'bid', tbsEncoding: 'NONE', hashAlgorithm: 'SHA256', pin: WRONG_PIN },
    { func: 'MakeSignature', signatureType: 'PKCS1', tbs: 'bid', hashAlgorithm: 'SHA256', pin: encodeURIComponent(WRONG_PIN) },
    { func: 'DecryptData', cipher: 'MAA=', cipherType: 'PKCS7', plainEncoding: 'NONE', pin: WRONG_PIN },
  ];
  for (const pkg of packages) {
    const popup = await start(pkg);
    const r = await response();
    assert.equal(r.ret_code, SITE_NOT_AUTHORISED, JSON.stringify(r));
    assert.equal(r.func, pkg.func === 'DecryptData' ? 'decrypt' : 'sign');
    if (!popup.isClosed()) await popup.waitForEvent('close');
  }
  // A wrong PIN that reached the card would have spent a try.
  assert.match(await cardCtl(0, 'status'), /pin_tries=3\b/);
  assert.doesNotMatch(fs.readFileSync(process.env.TK_E2E_DAEMON_LOG, 'utf8'), /method=hipki\.call/);
});

test('an empty pin: the popup asks for the PIN and the signature verifies', async () => {
  const popup = await start({ func: 'MakeSignature', signatureType: 'PKCS7', tbs: 'abc', tbsEncoding: 'NONE', hashAlgorithm: 'SHA512', pin: '' });
  await popup.waitForSelector('#pin-dialog:not([hidden])');
  assert.equal(await popup.textContent('#pin-origin'), new URL(PORTAL).origin);
  await popup.fill('#pin-input', PIN);
  await popup.click('#pin-ok').catch((e) => {
    if (!/has been closed/.test(String(e))) throw e;
  });
  const r = await response();
  assert.equal(r.ret_code, 0, JSON.stringify(r));
  fs.writeFileSync(path.join(work, 'sig.der'), Buffer.from(r.signature, 'base64'));
  execFileSync('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', path.join(work, 'sig.der'),
    '-CAfile', process.env.TK_VCARD_CA_0, '-out', path.join(work, 'out.bin')], { stdio: 'pipe' });
  assert.equal(fs.readFileSync(path.join(work, 'out.bin'), 'utf8'), 'abc');
});
