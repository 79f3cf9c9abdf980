// Consent in the HiPKI popup and its /addDomain page, for a portal (a public https site) the
// administrator did not list: the popup asks as the bridge window does; Deny answers "site not
// authorised"; Allow once admits this popup only, for reading and CMS signing (verified by
// openssl cms -verify), never for decryption or raw signatures (PKCS1, RAW); /addDomain asks
// only for the opener's own host (the origin the browser reports as the window's referrer) and
// its "Always allow" admits the later popups without asking.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { pageResponse, startPackage } from './hipki-support.js';
import { PIN, PORTAL, PUBLIC_SITE, cardCtl, openPortal, screenshot } from './support.js';

if (!PUBLIC_SITE || process.env.TK_E2E_HIPKI !== '1' || process.env.TK_E2E_CONSENT !== 'on') {
  throw new Error('run with TK_E2E_PUBLIC_TLS=1 TK_E2E_HIPKI=1 TK_E2E_CONSENT=on');
}

const ORIGIN = new URL(PORTAL).origin;
const HIPKI = 'http://localhost:61161';
const SITE_NOT_AUTHORISED = 0x76000031;
const CONSENT_FILE = path.join(process.env.TK_E2E_STATE_DIR, 'consent.json');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-hipki-consent-'));
let session;

before(async () => {
  fs.rmSync(CONSENT_FILE, { force: true });
  session = await openPortal({ query: 'hipki-sample.html' });
});
after(async () => { await session?.browser.close(); });

// Clicks Run with `pkg`; the popup the click opened.
const start = (pkg) => startPackage(session.page, pkg);
// The response the page received.
const response = () => pageResponse(session.page);

async function allow(popup, button) {
  await popup.waitForSelector('#consent-dialog:not([hidden])');
  await popup.waitForSelector('body[data-consent="active"]');
  // The window may answer and close on the click, so the click's end may find no page.
  await popup.click(button).catch((e) => {
    if (!/has been closed/.test(String(e))) throw e;
  });
}

function verifyCms(signature, content) {
  const der = path.join(work, 'sig.der');
  fs.writeFileSync(der, Buffer.from(signature, 'base64'));
  execFileSync('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', der,
    '-CAfile', process.env.TK_VCARD_CA_0, '-out', path.join(work, 'out.bin')], { stdio: 'pipe' });
  assert.equal(fs.readFileSync(path.join(work, 'out.bin'), 'utf8'), content);
}

const pkcs7 = (tbs) => ({
  func: 'MakeSignature', signatureType: 'PKCS7', tbs: encodeURIComponent(tbs), tbsEncoding: 'NONE',
  hashAlgorithm: 'SHA256', pin: encodeURIComponent(PIN),
});

test('an unlisted origin: the popup grows and asks, showing the origin; Deny answers site not authorised', async () => {
  const popup = await start({ func: 'CheckEnvir' });
  await popup.waitForSelector('#consent-dialog:not([hidden])');
  assert.equal(await popup.textContent('#consent-origin'), ORIGIN);
  assert.equal(await popup.getAttribute('#consent-once', 'disabled'), '');
  assert.equal(await popup.evaluate(() => document.activeElement.id), 'consent-deny');
  await screenshot(popup, 'hipki-consent');
  // The popup answers and closes on the click, so the click's end may find no page.
  await popup.click('#consent-deny').catch((e) => {
    if (!/has been closed/.test(String(e))) throw e;
  });
  const r = await response();
  assert.equal(r.ret_code, SITE_NOT_AUTHORISED, JSON.stringify(r));
  assert.equal(r.func, 'pkcs11info');
  assert.match(fs.readFileSync(process.env.TK_E2E_DAEMON_LOG, 'utf8'), /consent offered/);
  assert.equal(fs.existsSync(CONSENT_FILE), false);
});

test('Allow once: PKCS7 signing works (openssl cms -verify); decryption and raw signatures are still refused', async () => {
  let popup = await start(pkcs7('標單 2026-0042'));
  await allow(popup, '#consent-once');
  let r = await response();
  assert.equal(r.ret_code, 0, JSON.stringify(r));
  verifyCms(r.signature, '標單 2026-0042');
  assert.equal(fs.existsSync(CONSENT_FILE), false, 'once is not stored');

  // The next popup asks again; consent never grants decrypt or a raw signature.
  popup = await start({ func: 'DecryptData', cipher: 'MAA=', cipherType: 'PKCS7', plainEncoding: 'NONE', pin: PIN });
  await allow(popup, '#consent-once');
  r = await response();
  assert.equal(r.ret_code, SITE_NOT_AUTHORISED, JSON.stringify(r));
  assert.equal(r.func, 'decrypt');
  const digestInfo = Buffer.concat([Buffer.from('3031300d060960864801650304020105000420', 'hex'),
    createHash('sha256').update('x').digest()]).toString('base64');
  for (const raw of [{ signatureType: 'PKCS1', tbs: 'x', hashAlgorithm: 'SHA256' }, { signatureType: 'RAW', tbs: digestInfo }]) {
    popup = await start({ func: 'MakeSignature', pin: PIN, ...raw });
    await allow(popup, '#consent-once');
    r = await response();
    assert.equal(r.ret_code, SITE_NOT_AUTHORISED, JSON.stringify(r));
  }
  // Refused before the card: no PIN try spent.
  assert.match(await cardCtl(0, 'status'), /pin_tries=3\b/);
});

// Opens /addDomain?domain=HOST as the vendor's pages do; the popup.
async function addDomain(host) {
  const { page } = session;
  await page.evaluate(() => { delete document.body.dataset.done; });
  const [popup] = await Promise.all([
    page.waitForEvent('popup'),
    page.evaluate((url) => { window.open(url, 'AddDomain', 'height=400, width=400,left=100, top=20'); },
      `${HIPKI}/addDomain?domain=${host}`),
  ]);
  return popup;
}

test('/addDomain from a page that withholds its referrer (the default policy) is refused without asking', async () => {
  const popup = await addDomain(new URL(PORTAL).hostname);
  assert.deepEqual(await response(), { ret_code: SITE_NOT_AUTHORISED });
  assert.equal(await popup.evaluate(() => document.referrer), '');
  assert.equal(await popup.isVisible('#consent-dialog'), false);
  await popup.close();
});

test('/addDomain for another host than the opener\'s is refused without asking', async () => {
  // From here on the portal's pages tell the daemon's windows their origin.
  await session.page.evaluate(() => {
    const meta = document.createElement('meta');
    meta.name = 'referrer';
    meta.content = 'origin';
    document.head.append(meta);
  });
  for (const host of ['web.pcc.gov.tw', 'localhost', '127.0.0.1.evil.example', '']) {
    const popup = await addDomain(host);
    const r = await response();
    assert.deepEqual(r, { ret_code: SITE_NOT_AUTHORISED }, host);
    assert.equal(await popup.evaluate(() => document.referrer), `${ORIGIN}/`);
    assert.equal(await popup.isVisible('#consent-dialog'), false);
    assert.equal(await popup.getAttribute('body', 'data-state'), 'error');
    await popup.close();
  }
  assert.equal(fs.existsSync(CONSENT_FILE), false);
  assert.doesNotMatch(fs.readFileSync(process.env.TK_E2E_DAEMON_LOG, 'utf8'), /connection \d+ bridge attach refused origin=https:\/\/web\.pcc/);
});

test('/addDomain for the opener\'s own host: Always allow is stored and later popups do not ask', async () => {
  const popup = await addDomain(new URL(PORTAL).hostname);
  await popup.waitForSelector('#consent-dialog:not([hidden])');
  assert.equal(await popup.textContent('#consent-origin'), ORIGIN);
  assert.equal(await popup.isVisible('#consent-once'), false, 'no "Allow once" on /addDomain');
  await screenshot(popup, 'hipki-add-domain');
  await allow(popup, '#consent-always');
  assert.deepEqual(await response(), { ret_code: 0 });
  const stored = JSON.parse(fs.readFileSync(CONSENT_FILE, 'utf8'));
  assert.deepEqual(Object.keys(stored.origins), [ORIGIN]);

  // A later popup of that origin signs without asking.
  const next = await start(pkcs7('second bid'));
  const r = await response();
  assert.equal(r.ret_code, 0, JSON.stringify(r));
  verifyCms(r.signature, 'second bid');
  assert.equal(next.isClosed(), true);
  assert.doesNotMatch(fs.readFileSync(process.env.TK_E2E_DAEMON_LOG, 'utf8').split('consent given').at(-1), /consent offered/);

  // A trusted origin's /addDomain answers at once.
  await addDomain(new URL(PORTAL).hostname);
  assert.deepEqual(await response(), { ret_code: 0 });
});
