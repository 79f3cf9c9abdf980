// Attacks on the bridge window, each refused: the opener relaying what only the bridge may
// say (bridge.attach, lastAttempt, methods outside the list, unknown members), messages from
// another window or origin, the opener navigated away after binding, an iframe as opener, a
// page targeting the bridge by window name, the bridge framed, the bridge without opener.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import {
  PIN, PORTAL, PUBLIC_SITE, WRONG_PIN, cardCtl, openPortal, registerCard, screenshot,
} from './support.js';

if (!PUBLIC_SITE) throw new Error('run with TK_E2E_PUBLIC_TLS=1 (run-e2e.sh serves the portal as a public https site)');

let session;
let bridge; // the bridge window's page
let bridgeUrl;

// Every window.open of the portal page is recorded with its name, so a test can act as a
// hostile script of the portal that holds the popup's handle.
function recordWindowOpen() {
  window.__opened = [];
  const open = window.open.bind(window);
  window.open = (url, name, features) => {
    const w = open(url, name, features);
    window.__opened.push({ url: String(url), name, w });
    return w;
  };
  // A raw message to the bridge and the bridge's answer with the same id (or null).
  window.__ask = (message, targetOrigin, waitMs = 5000) => new Promise((resolve) => {
    const w = window.__opened[0].w;
    const timer = setTimeout(() => { removeEventListener('message', on); resolve(null); }, waitMs);
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

async function connectBridge(page) {
  await page.waitForSelector('#bridge-connect:not([hidden])');
  const [popup] = await Promise.all([page.waitForEvent('popup'), page.click('#bridge-connect')]);
  await page.waitForSelector('#daemon-status[data-state="ok"]');
  await popup.waitForSelector('body[data-state="ready"]');
  return popup;
}

function daemonLog() {
  return fs.readFileSync(process.env.TK_E2E_DAEMON_LOG, 'utf8');
}

before(async () => {
  session = await openPortal({ query: '?mode=bridge' });
  await session.context.addInitScript(recordWindowOpen);
  await session.page.reload();
  await session.page.waitForSelector('body[data-ready="true"]');
  bridgeUrl = (await (await fetch(`${PORTAL}/api/config`)).json()).bridgeUrl;
  bridge = await connectBridge(session.page);
});
after(async () => { await session?.browser.close(); });

const bridgeOrigin = () => new URL(bridgeUrl).origin;

test('the opener cannot relay bridge.attach or methods outside the list', async () => {
  const { page } = session;
  for (const method of ['bridge.attach', 'pin.change', 'pin.unblock', 'puk.change']) {
    const answer = await page.evaluate(([m, o]) => window.__ask(
      { type: 'call', id: `a-${m}`, method: m, params: { origin: 'https://evil.example' } }, o), [method, bridgeOrigin()]);
    assert.equal(answer?.type, 'error', method);
    assert.equal(answer.error.data.reason, 'METHOD_NOT_FOUND', method);
  }
  // Only the bridge's own attach reached the daemon.
  assert.equal(daemonLog().match(/method=bridge\.attach/g).length, 1);
  assert.doesNotMatch(daemonLog(), /method=pin\.change/);
});

test('unknown members are dropped; the daemon judges the bridge as the portal origin', async () => {
  const { page } = session;
  const answer = await page.evaluate((o) => window.__ask(
    { type: 'call', id: 'm1', method: 'system.info', params: { evil: true, origin: 'https://evil.example' } }, o), bridgeOrigin());
  assert.equal(answer?.type, 'result', JSON.stringify(answer));
  assert.equal(answer.result.origin, new URL(PORTAL).origin);
  assert.match(daemonLog(), new RegExp(`request origin=${new URL(PORTAL).origin} method=system\\.info outcome=ok`));
});

test('lastAttempt from the opener is dropped: the last PIN try stays guarded', async () => {
  const { page } = session;
  assert.deepEqual(await registerCard(page, 0, 'bidder', WRONG_PIN), { state: 'error', text: 'PIN 碼錯誤，尚可嘗試 2 次。' });
  assert.deepEqual(await registerCard(page, 0, 'bidder', WRONG_PIN), { state: 'error', text: 'PIN 碼錯誤，尚可嘗試 1 次。' });
  const answer = await page.evaluate(async (o) => {
    const cardId = document.querySelector('#card').value;
    const certs = await window.__ask({ type: 'call', id: 'l0', method: 'certificates.list' }, o);
    const key = certs.result.certificates.find((c) => c.cardId === cardId && c.usableFor.includes('register'));
    return window.__ask({
      type: 'call', id: 'l1', method: 'register',
      params: { certificateId: key.id, pin: '123456', lastAttempt: true, challenge: 'A'.repeat(44) },
    }, o);
  }, bridgeOrigin());
  assert.equal(answer?.type, 'error', JSON.stringify(answer));
  assert.equal(answer.error.data.reason, 'PIN_LAST_ATTEMPT');
  assert.match(await cardCtl(0, 'status'), /pin_tries=1\b/);
  assert.equal(PIN, '123456');
});

test('messages from another window or another origin are ignored by a bound bridge', async () => {
  const { page } = session;
  await page.evaluate(() => {
    window.__stray = [];
    addEventListener('message', (e) => { if (String(e.data?.id).startsWith('s')) window.__stray.push(e.data); });
  });
  const portalOrigin = new URL(PORTAL).origin;
  await bridge.evaluate((origin) => {
    // The opener as source but another origin (the opener's document replaced by another
    // site's), and the right origin from another window.
    window.dispatchEvent(new MessageEvent('message', {
      source: window.opener, origin: 'https://evil.example', data: { type: 'call', id: 's1', method: 'system.info' },
    }));
    window.dispatchEvent(new MessageEvent('message', {
      source: window, origin, data: { type: 'call', id: 's2', method: 'system.info' },
    }));
    window.dispatchEvent(new MessageEvent('message', {
      source: window, origin, data: { type: 'close' },
    }));
  }, portalOrigin);
  await new Promise((r) => setTimeout(r, 1500));
  assert.deepEqual(await page.evaluate(() => window.__stray), []);
  assert.equal(bridge.isClosed(), false);
  assert.equal(await bridge.getAttribute('body', 'data-state'), 'ready');
});

test('a page cannot target the bridge by its window name', async () => {
  const { page } = session;
  const outcome = await page.evaluate(() => {
    const { name, w } = window.__opened[0];
    const again = window.open('', name);
    const same = again === w;
    let blank = false;
    try { blank = again.location.href === 'about:blank'; } catch { blank = false; }
    again.close();
    return { name, same, blank };
  });
  assert.match(outcome.name, /^tenderkey-bridge-[0-9a-f]{24}$/);
  assert.deepEqual({ same: outcome.same, blank: outcome.blank }, { same: false, blank: true });
  assert.equal(await bridge.evaluate(() => window.name), '');
});

test('the bridge cannot be framed (CSP frame-ancestors, X-Frame-Options)', async () => {
  // From a page that may load it otherwise (not an https page, where mixed content would
  // block the http frame before the headers are even read).
  const page = await session.context.newPage();
  await page.setContent(`<iframe id="framed-bridge" src="${bridgeUrl}"></iframe>`);
  await page.waitForTimeout(1500);
  const framed = page.frames().filter((f) => f !== page.mainFrame());
  assert.equal(framed.length, 1);
  assert.notEqual(framed[0].url(), bridgeUrl);
  assert.equal(await framed[0].$('#status').catch(() => null), null);
  await page.close();
});

test('an iframe inside the portal cannot open a bridge of its own', async () => {
  const { page, context } = session;
  const [popup] = await Promise.all([
    context.waitForEvent('page'),
    page.evaluate((url) => {
      const frame = document.createElement('iframe');
      document.body.append(frame);
      frame.contentWindow.open(url, 'x');
    }, bridgeUrl),
  ]);
  await popup.waitForSelector('body[data-state="error"]');
  assert.equal(await popup.textContent('#status'), '開啟此視窗的是嵌入在其他網頁中的內容，基於安全不予連線。');
  await screenshot(popup, 'bridge-iframe-opener');
  await popup.close();
});

test('the bridge opened without an opener refuses to run (in the browser\'s language)', async () => {
  const { context, browser } = session;
  const page = await context.newPage();
  await page.goto(bridgeUrl);
  await page.waitForSelector('body[data-state="error"]');
  assert.equal(await page.textContent('#status'), '此視窗須由網站開啟，不能單獨使用。');
  await page.close();
  const english = await browser.newContext({ locale: 'en-US' });
  const en = await english.newPage();
  await en.goto(bridgeUrl);
  await en.waitForSelector('body[data-state="error"]');
  assert.equal(await en.textContent('#status'), 'This window must be opened by a site; it cannot be used on its own.');
  assert.equal(await en.getAttribute('html', 'lang'), 'en');
  await english.close();
});

test('the opener navigated to another origin: the bridge stops relaying and closes itself', async () => {
  const { page } = session;
  const closed = new Promise((resolve) => bridge.once('close', resolve));
  const other = PORTAL.replace('127.0.0.1', 'localhost');
  await page.goto(`${other}/?mode=direct`);
  const outcome = await Promise.race([closed.then(() => 'closed'),
    new Promise((r) => setTimeout(() => r('still open'), 20_000))]);
  assert.equal(outcome, 'closed');
});
