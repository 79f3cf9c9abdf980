// Consent for an origin the administrator did not list: the portal (a public https site) is
// not in the allow-list, so the bridge window asks the user. Deny answers NOT_PERMITTED; Allow
// once admits this window only; Always allow is stored in the daemon's state directory, listed
// and removable with `tenderkey origins`, and expires; a consented origin may read but gets no
// raw signature and no decryption (sign-cms only); a press that began before the buttons
// became active does not approve.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { PORTAL, PUBLIC_SITE, openPortal, screenshot } from './support.js';

if (!PUBLIC_SITE || process.env.TK_E2E_CONSENT !== 'on') throw new Error('run with TK_E2E_PUBLIC_TLS=1 TK_E2E_CONSENT=on');

const ORIGIN = new URL(PORTAL).origin;
const CONSENT_FILE = path.join(process.env.TK_E2E_STATE_DIR, 'consent.json');
let session;

function recordWindowOpen() {
  window.__opened = [];
  const open = window.open.bind(window);
  window.open = (url, name, features) => {
    const w = open(url, name, features);
    window.__opened.push({ url: String(url), w });
    return w;
  };
  window.__ask = (message, targetOrigin) => new Promise((resolve) => {
    const w = window.__opened[window.__opened.length - 1].w;
    const timer = setTimeout(() => { removeEventListener('message', on); resolve(null); }, 10000);
    function on(event) {
      if (event.source !== w || event.data?.id !== message.id) return;
      clearTimeout(timer);
      removeEventListener('message', on);
      resolve(event.data);
    }
    addEventListener('message', on);
    w.postMessage(message, targetOrigin);
  });
}

function cli(...args) {
  return execFileSync(process.env.TK_E2E_CLI, [...args, '--config', process.env.TK_E2E_CONFIG], { encoding: 'utf8' });
}

// A fresh portal page, and the bridge window its click opens.
async function openBridgeWindow() {
  const { page } = session;
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
  await page.waitForSelector('#bridge-connect:not([hidden])');
  const [popup] = await Promise.all([page.waitForEvent('popup'), page.click('#bridge-connect')]);
  return popup;
}

async function consentDialog(popup) {
  await popup.waitForSelector('#consent-dialog:not([hidden])');
  return popup;
}

before(async () => {
  fs.rmSync(CONSENT_FILE, { force: true });
  session = await openPortal({ query: '?mode=bridge' });
  await session.context.addInitScript(recordWindowOpen);
});
after(async () => { await session?.browser.close(); });

test('an unlisted origin: the bridge asks, showing the origin in full; Deny answers NOT_PERMITTED', async () => {
  const popup = await consentDialog(await openBridgeWindow());
  assert.equal(await popup.textContent('#consent-origin'), ORIGIN);
  assert.equal(await popup.textContent('#consent-origin strong'), new URL(PORTAL).hostname);
  // Inactive at first, Deny focused.
  assert.equal(await popup.getAttribute('#consent-once', 'disabled'), '');
  assert.equal(await popup.getAttribute('#consent-always', 'disabled'), '');
  assert.equal(await popup.evaluate(() => document.activeElement.id), 'consent-deny');
  await screenshot(popup, 'consent-dialog');
  const closed = popup.waitForEvent('close');
  await popup.click('#consent-deny');
  await closed;
  await session.page.waitForSelector('#daemon-status[data-state="error"]');
  assert.match(await session.page.textContent('#daemon-status'), /未獲授權|not allowed/i);
  assert.match(fs.readFileSync(process.env.TK_E2E_DAEMON_LOG, 'utf8'), /consent offered/);
  assert.equal(fs.existsSync(CONSENT_FILE), false);
});

test('a press that began before the buttons became active does not approve', async () => {
  const popup = await consentDialog(await openBridgeWindow());
  const box = await popup.locator('#consent-once').boundingBox();
  await popup.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await popup.mouse.down();
  // The press restarted the delay; the buttons become active while it is held.
  await popup.waitForSelector('body[data-consent="active"]', { timeout: 5000 });
  await popup.mouse.up();
  await popup.waitForTimeout(700);
  assert.equal(await popup.evaluate(() => document.body.dataset.consent), 'active');
  assert.equal(await popup.isVisible('#consent-dialog'), true);
  assert.notEqual(await session.page.getAttribute('#daemon-status', 'data-state'), 'ok');
  // Escape denies. The window closes on the key's press, so its release may find no page.
  const closed = popup.waitForEvent('close');
  await popup.keyboard.press('Escape').catch((e) => {
    if (!/has been closed/.test(String(e))) throw e;
  });
  await closed;
  await session.page.waitForSelector('#daemon-status[data-state="error"]');
});

test('input before activation restarts the delay', async () => {
  const popup = await consentDialog(await openBridgeWindow());
  // Input every 200 ms for 2 s: never a quiet second, so never active.
  for (let i = 0; i < 10; i++) {
    await popup.mouse.move(10 + i, 10 + i);
    await popup.waitForTimeout(200);
    assert.equal(await popup.getAttribute('#consent-once', 'disabled'), '', `still inactive after input ${i}`);
  }
  const last = Date.now();
  await popup.waitForSelector('body[data-consent="active"]');
  assert.ok(Date.now() - last >= 700, 'active only about a second after the last input');
  await popup.click('#consent-deny');
});

test('Allow once: this window only; certificates readable, raw signatures and decryption refused', async () => {
  const popup = await consentDialog(await openBridgeWindow());
  await popup.waitForSelector('body[data-consent="active"]');
  await popup.click('#consent-once');
  await session.page.waitForSelector('#daemon-status[data-state="ok"]');
  await popup.waitForSelector('body[data-state="ready"]');
  assert.equal(fs.existsSync(CONSENT_FILE), false, 'once is not stored');

  const ask = (id, method, params) => session.page.evaluate(([m, o]) => window.__ask(m, o),
    [{ type: 'call', id, method, params }, new URL(popup.url()).origin]);
  const list = await ask(1, 'certificates.list', {});
  const cert = list.result.certificates.find((c) => c.usableFor.includes('sign'));
  assert.ok(cert, JSON.stringify(list));
  const digest = Buffer.alloc(32, 7).toString('base64');
  const raw = await ask(2, 'sign', { certificateId: cert.id, digest, format: 'raw', pin: '123456' });
  assert.equal(raw.error.data.reason, 'NOT_PERMITTED', JSON.stringify(raw));
  assert.equal(raw.error.data.capability, 'sign');
  const decrypt = await ask(3, 'decrypt', { certificateId: cert.id, cms: 'MAA=', pin: '123456' });
  assert.equal(decrypt.error.data.reason, 'NOT_PERMITTED');
  assert.equal(decrypt.error.data.capability, 'decrypt');

  // The next window asks again.
  const next = await consentDialog(await openBridgeWindow());
  await next.click('#consent-deny');
});

test('Always allow: stored with its date, listed, attaches at once, removable, expires', async () => {
  let popup = await consentDialog(await openBridgeWindow());
  await popup.waitForSelector('body[data-consent="active"]');
  await popup.click('#consent-always');
  await session.page.waitForSelector('#daemon-status[data-state="ok"]');
  const stored = JSON.parse(fs.readFileSync(CONSENT_FILE, 'utf8'));
  assert.deepEqual(Object.keys(stored.origins), [ORIGIN]);
  assert.ok(Date.now() - Date.parse(stored.origins[ORIGIN].granted) < 120_000);
  assert.equal(fs.statSync(CONSENT_FILE).mode & 0o777, 0o600);

  const listed = cli('origins', 'list');
  assert.match(listed, /\[consent/);
  assert.match(listed, new RegExp(`^  ${ORIGIN.replace(/[.]/g, '\\.')}  read,register,sign-cms  consented \\d{4}-\\d\\d-\\d\\d, expires `, 'm'));
  const json = JSON.parse(cli('origins', 'list', '--json'));
  assert.deepEqual(json.consented.map((c) => [c.origin, c.source, c.expired]), [[ORIGIN, 'consent', false]]);

  // A new window attaches without asking.
  popup = await openBridgeWindow();
  await popup.waitForSelector('body[data-state="ready"]');
  assert.equal(await popup.isVisible('#consent-dialog'), false);
  await session.page.waitForSelector('#daemon-status[data-state="ok"]');

  // Removed: asked again.
  assert.match(cli('origins', 'remove', ORIGIN, '--reload', 'none'), /consent removed/);
  assert.deepEqual(JSON.parse(fs.readFileSync(CONSENT_FILE, 'utf8')).origins, {});
  popup = await consentDialog(await openBridgeWindow());
  await popup.waitForSelector('body[data-consent="active"]');
  await popup.click('#consent-always');
  await session.page.waitForSelector('#daemon-status[data-state="ok"]');

  // Older than [consent] days (180): asked again.
  const old = new Date(Date.now() - 181 * 86400_000).toISOString().replace(/\.\d+Z$/, 'Z');
  fs.writeFileSync(CONSENT_FILE, JSON.stringify({ version: 1, origins: { [ORIGIN]: { granted: old } } }), { mode: 0o600 });
  assert.match(cli('origins', 'list'), /, expired /);
  popup = await consentDialog(await openBridgeWindow());
  await popup.click('#consent-deny');
});
