// Attacks on the HiPKI listener from a browser, each refused: a cross-site form POST of a valid
// package to /sign, a no-cors fetch from another origin, a POST with Origin: null, a page
// reached under another host name (Host evil.com:61161, as DNS rebinding would), and packages
// from another window or origin posted to a popup. The portal has the browser's local network
// access permission, so nothing but the daemon's rules stands in the way. Each package carries
// a wrong PIN: a request that reached the card would spend a try.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { PIN, PORTAL, PUBLIC_SITE, WRONG_PIN, cardCtl, openPortal } from './support.js';

if (!PUBLIC_SITE || process.env.TK_E2E_HIPKI !== '1') throw new Error('run with TK_E2E_PUBLIC_TLS=1 TK_E2E_HIPKI=1');

const HIPKI = 'http://localhost:61161';
const PACKAGE = {
  func: 'MakeSignature', signatureType: 'PKCS7', tbs: 'bid', tbsEncoding: 'NONE', hashAlgorithm: 'SHA256', pin: WRONG_PIN,
};
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-hipki-attacks-'));
let session;

before(async () => {
  session = await openPortal({ query: 'hipki-sample.html', browserArgs: ['--host-resolver-rules=MAP evil.com 127.0.0.1'] });
  await session.context.grantPermissions(['local-network-access'], { origin: new URL(PORTAL).origin });
});
after(async () => { await session?.browser.close(); });

const daemonLog = () => fs.readFileSync(process.env.TK_E2E_DAEMON_LOG, 'utf8');
const refusals = (pattern) => (daemonLog().match(pattern) ?? []).length;

async function cardUntouched() {
  assert.match(await cardCtl(0, 'status'), /pin_tries=3\b/);
  assert.match(await cardCtl(1, 'status'), /pin_tries=3\b/);
  assert.doesNotMatch(daemonLog(), /method=hipki\.call/);
}

// Submits a form of `html` (inserted into the portal page) and returns the response to the
// new window it targets.
async function submitForm(html) {
  const { page, context } = session;
  const responded = context.waitForEvent('response', (r) => r.url().startsWith(`${HIPKI}/sign`));
  const [popup] = await Promise.all([
    context.waitForEvent('page'),
    page.evaluate((markup) => {
      const holder = document.createElement('div');
      holder.innerHTML = markup;
      document.body.append(holder);
      const form = holder.querySelector('form');
      if (form) form.submit();
    }, html),
  ]);
  const response = await responded;
  const request = response.request();
  const result = {
    status: response.status(), origin: await request.headerValue('origin'), site: await request.headerValue('sec-fetch-site'),
  };
  await popup.close();
  return result;
}

test('a cross-site form POST of a valid package to /sign: 403, the card untouched', async () => {
  const before = refusals(/status=403 path=\/sign/g);
  // text/plain makes the body the package's JSON text, as a local program would send it.
  const json = JSON.stringify(PACKAGE);
  const name = json.slice(0, -2);
  const value = json.slice(-2);
  const r = await submitForm(`<form method="POST" action="${HIPKI}/sign" enctype="text/plain" target="_blank">
    <input type="hidden" name='${name.replace(/'/g, '&#39;')}' value='${value}'></form>`);
  assert.equal(r.status, 403);
  // From an https page to this http address the browser sends Origin: null (a downgrade).
  assert.ok(r.origin === 'null' || r.origin === new URL(PORTAL).origin, r.origin);
  assert.equal(r.site, 'cross-site');
  assert.equal(refusals(/status=403 path=\/sign/g), before + 1);
  await cardUntouched();
});

test('a POST with Origin: null (a sandboxed frame\'s form): 403, the card untouched', async () => {
  const before = refusals(/status=403 path=\/sign/g);
  const json = JSON.stringify(PACKAGE).replace(/"/g, '&quot;');
  const r = await submitForm(`<iframe sandbox="allow-forms allow-popups allow-scripts" srcdoc="
    <form method=POST action=${HIPKI}/sign enctype=text/plain target=_blank><input type=hidden name=p value='${json}'></form>
    <script>document.forms[0].submit()</script>"></iframe>`);
  assert.equal(r.status, 403);
  assert.equal(r.origin, 'null');
  assert.equal(refusals(/status=403 path=\/sign/g), before + 1);
  await cardUntouched();
});

test('fetch from another origin (no-cors and cors) to every POST endpoint: refused by the daemon', async () => {
  const { page } = session;
  for (const endpoint of ['/sign', '/decrypt', '/pkcs11info']) {
    const before = refusals(new RegExp(`status=403 path=${endpoint}\\b`, 'g'));
    const outcome = await page.evaluate(async ([url, body]) => {
      const noCors = await fetch(url, { method: 'POST', mode: 'no-cors', body }).then((r) => r.type, (e) => `failed: ${e.message}`);
      const cors = await fetch(url, { method: 'POST', body }).then((r) => `read ${r.status}`, () => 'failed');
      return { noCors, cors };
    }, [`${HIPKI}${endpoint}`, JSON.stringify({ ...PACKAGE, func: endpoint === '/decrypt' ? 'DecryptData' : 'MakeSignature' })]);
    assert.deepEqual(outcome, { noCors: 'opaque', cors: 'failed' }, endpoint);
    assert.equal(refusals(new RegExp(`status=403 path=${endpoint}\\b`, 'g')), before + 2, endpoint);
  }
  await cardUntouched();
});

test('the listener reached under another host name (Host: evil.com:61161) answers nothing', async () => {
  const page = await session.context.newPage();
  for (const pathname of ['/popupForm', '/ChtPopupForm', '/addDomain?domain=evil.com', '/p11Image.bmp', '/selfTest.htm', '/consent.js']) {
    const url = `http://evil.com:61161${pathname}`;
    const responded = page.waitForEvent('response', (r) => r.url() === url);
    // An empty 403 is shown as the browser's own error page.
    await page.goto(url).catch((e) => assert.match(String(e), /ERR_HTTP_RESPONSE_CODE_FAILURE/));
    assert.equal((await responded).status(), 403, pathname);
  }
  assert.equal(refusals(/check=host host=evil\.com:61161/g), 6);
  // Left open: Chromium may still be committing its error page, and closing the page then can
  // wait forever; the browser closes with the session.
});

test('a popup takes its package only from its opener, binds to its origin and ignores every later one', async () => {
  const { page } = session;
  await page.evaluate(() => { delete document.body.dataset.done; });
  const [popup] = await Promise.all([
    page.waitForEvent('popup'),
    // Opened by script: the sample page's own handler does not answer this popup's getTbs.
    page.evaluate((url) => { window.__popup = window.open(url, 'attack', 'height=200, width=200'); }, `${HIPKI}/popupForm`),
  ]);
  await popup.waitForFunction(() => document.getElementById('status').textContent !== '');
  const portalOrigin = new URL(PORTAL).origin;
  const other = { func: 'GetUserCert' };
  // Before binding: a package from another window, even with the right origin, is ignored.
  await popup.evaluate(([origin, data]) => {
    window.dispatchEvent(new MessageEvent('message', { source: window, origin, data }));
  }, [portalOrigin, JSON.stringify(other)]);
  await popup.waitForTimeout(500);
  assert.equal(await popup.isVisible('#pin-dialog'), false);
  assert.doesNotMatch(daemonLog(), /method=bridge\.attach/);

  // The opener's package (an empty pin: the popup stops at its PIN field, bound).
  await page.evaluate((p) => { window.__popup.postMessage(JSON.stringify(p), '*'); },
    { func: 'MakeSignature', signatureType: 'PKCS7', tbs: 'the real bid', tbsEncoding: 'NONE', hashAlgorithm: 'SHA256', pin: '' });
  await popup.waitForSelector('#pin-dialog:not([hidden])');
  // After binding: the opener as source with another origin, and another window, are ignored.
  await popup.evaluate(([origin, data]) => {
    window.dispatchEvent(new MessageEvent('message', { source: window.opener, origin: 'https://evil.example', data }));
    window.dispatchEvent(new MessageEvent('message', { source: window, origin, data }));
    window.dispatchEvent(new MessageEvent('message', { source: window.opener, origin, data }));
  }, [portalOrigin, JSON.stringify({ ...other, pin: PIN })]);
  await popup.waitForTimeout(500);
  assert.equal(await popup.textContent('#pin-origin'), portalOrigin);
  await popup.fill('#pin-input', PIN);
  await popup.click('#pin-ok').catch((e) => {
    if (!/has been closed/.test(String(e))) throw e;
  });
  await page.waitForSelector('body[data-done="true"]');
  const r = JSON.parse(await page.textContent('#result'));
  assert.equal(r.func, 'sign', JSON.stringify(r));
  assert.equal(r.ret_code, 0);
  fs.writeFileSync(path.join(work, 'sig.der'), Buffer.from(r.signature, 'base64'));
  execFileSync('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', path.join(work, 'sig.der'),
    '-CAfile', process.env.TK_VCARD_CA_0, '-out', path.join(work, 'out.bin')], { stdio: 'pipe' });
  assert.equal(fs.readFileSync(path.join(work, 'out.bin'), 'utf8'), 'the real bid');
  assert.equal(daemonLog().match(/method=hipki\.call/g).length, 1);
  assert.equal(daemonLog().match(/method=bridge\.attach/g).length, 1);
});
