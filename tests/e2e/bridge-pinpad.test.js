// PIN entry on a reader with a PIN pad, through the bridge window. The virtual reader (vpcd)
// has no PIN pad, so the bridge window's WebSocket runs through a stand-in for the reader's
// keypad (Playwright's routeWebSocket): every message still goes to and from the real
// tenderkeyd, except that readers.list and pin.status report `pinpad: true`, and a request
// that carries no PIN — which the daemon would answer by starting the PIN pad — is held as a
// waiting reader holds it, until the test "types" on the keypad (the request then reaches the
// daemon with that PIN: a real card, real counters, signatures verified by the portal with
// OpenSSL), cancels on it (PINPAD_CANCELLED) or lets it time out (PINPAD_TIMEOUT).
//
// Checked: no PIN field, the facts (origin, operation, certificate, tries, fingerprint) and
// "confirm on the reader" shown, progress while the reader waits, the request sent without a
// PIN; the reader's cancel and timeout explained; at one try left nothing is sent before the
// user confirms, and then with lastAttempt; Cancel in the bridge answers USER_CANCELLED (and a
// result the reader produces afterwards never reaches the portal).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, test } from 'node:test';
import {
  PIN, PORTAL, PUBLIC_SITE, WRONG_PIN, cardCtl, openPortal, registerCard, screenshot, submitBid,
} from './support.js';

if (!PUBLIC_SITE) throw new Error('run with TK_E2E_PUBLIC_TLS=1 (run-e2e.sh serves the portal as a public https site)');

const DAEMON_WS = 'ws://127.0.0.1:61263/';
const PIN_METHODS = new Set(['sign', 'decrypt', 'register', 'pin.verify']);
const BID = '投標標單 2026-0303\n項目：讀卡機一批\n總價：新臺幣 48,000 元\n';

let session;
let bridge;
const entries = []; // requests the "reader" holds: {params, type(pin), cancel(), timeout(), answered}
let entryWaiters = [];

function recordMessages() {
  window.__received = [];
  addEventListener('message', (event) => {
    window.__received.push(JSON.stringify({ origin: event.origin, data: event.data }));
  });
}

// The keypad stand-in on the bridge window's socket.
function standIn(ws) {
  const server = ws.connectToServer();
  const methods = new Map(); // request id -> method
  const answered = new Map(); // forwarded request id -> resolve()
  ws.onMessage((text) => {
    const msg = JSON.parse(text);
    methods.set(msg.id, msg.method);
    const params = msg.params ?? {};
    if (!PIN_METHODS.has(msg.method) || 'pin' in params) {
      server.send(text);
      return;
    }
    let settled;
    const entry = {
      params,
      answered: new Promise((resolve) => { settled = resolve; }),
      type(pin) {
        answered.set(msg.id, settled);
        server.send(JSON.stringify({ ...msg, params: { ...params, pin } }));
      },
      cancel() {
        ws.send(JSON.stringify({ jsonrpc: '2.0', id: msg.id, error: { code: -32036, message: 'Cancelled on the PIN pad', data: { reason: 'PINPAD_CANCELLED' } } }));
        settled();
      },
      timeout() {
        ws.send(JSON.stringify({ jsonrpc: '2.0', id: msg.id, error: { code: -32037, message: 'No entry on the PIN pad in time', data: { reason: 'PINPAD_TIMEOUT' } } }));
        settled();
      },
    };
    entries.push(entry);
    for (const wake of entryWaiters) wake();
    entryWaiters = [];
  });
  server.onMessage((text) => {
    const msg = JSON.parse(text);
    const method = methods.get(msg.id);
    if (method === 'readers.list' && msg.result) {
      for (const reader of msg.result.readers) reader.pinpad = true;
    } else if (method === 'pin.status' && msg.result) {
      msg.result.pinpad = true;
    }
    ws.send(JSON.stringify(msg));
    answered.get(msg.id)?.();
    answered.delete(msg.id);
  });
}

// The next request the reader holds (waits for it).
async function nextEntry() {
  const deadline = Date.now() + 30_000;
  while (entries.length === 0) {
    if (Date.now() > deadline) throw new Error('no request reached the reader');
    await new Promise((resolve) => {
      entryWaiters.push(resolve);
      setTimeout(resolve, 200);
    });
  }
  return entries.shift();
}

before(async () => {
  session = await openPortal({ query: '?mode=bridge' });
  await session.context.addInitScript(recordMessages);
  await session.context.routeWebSocket(DAEMON_WS, standIn);
  await session.page.reload();
  await session.page.waitForSelector('body[data-ready="true"]');
  const { page } = session;
  await page.waitForSelector('#bridge-connect:not([hidden])');
  [bridge] = await Promise.all([page.waitForEvent('popup'), page.click('#bridge-connect')]);
  await page.waitForSelector('#daemon-status[data-state="ok"]');
});
after(async () => { await session?.browser.close(); });

const groups = (hex) => hex.toUpperCase().match(/.{1,4}/g).join(' ');

async function readerWaiting() {
  await bridge.waitForSelector('body[data-pin="pinpad-waiting"]');
  assert.equal(await bridge.getAttribute('#pin-dialog', 'data-mode'), 'pinpad');
  assert.equal(await bridge.isVisible('#pin-dialog'), true);
  assert.equal(await bridge.isVisible('#pin-input'), false, 'no PIN field on a PIN pad reader');
  assert.equal(await bridge.isVisible('#pin-confirm-last-label'), false, 'no last-try confirmation while tries remain');
  assert.equal(await bridge.textContent('#pin-title'), '請在讀卡機上確認');
  assert.match(await bridge.textContent('#pin-reader'), /讀卡機的按鍵輸入 PIN 碼/);
  assert.equal(await bridge.isVisible('#pin-progress'), true, 'progress while the reader waits');
  assert.match(await bridge.textContent('#pin-progress-text'), /讀卡機正在等候您輸入 PIN 碼/);
}

test('registration on the PIN pad: facts and "confirm on the reader", no PIN field, no PIN sent', async () => {
  const { page } = session;
  const pending = registerCard(page, 1, 'agency', '');
  const entry = await nextEntry();
  assert.equal('pin' in entry.params, false, 'the request reaches the daemon without a PIN');
  assert.equal('lastAttempt' in entry.params, false);
  await readerWaiting();
  assert.equal(await bridge.textContent('#pin-origin'), new URL(PORTAL).origin);
  assert.equal(await bridge.textContent('#pin-operation'), '註冊（以 IC 卡證明身分）');
  assert.match(await bridge.textContent('#pin-subject'), /CN=/);
  assert.equal(await bridge.textContent('#pin-tries'), '3');
  await screenshot(bridge, 'bridge-pinpad-register');
  entry.type(PIN);
  const result = await pending;
  assert.equal(result.state, 'ok', result.text);
  await bridge.waitForSelector('#pin-dialog', { state: 'hidden' });

  const bidder = registerCard(page, 0, 'bidder', '');
  (await nextEntry()).type(PIN);
  assert.equal((await bidder).state, 'ok');
});

test('bid signing on the PIN pad: the fingerprint of what is signed; the portal verifies the signature', async () => {
  const { page } = session;
  const pending = submitBid(page, 0, 'bid-2026-0303.txt', BID, '');
  const entry = await nextEntry();
  assert.equal('pin' in entry.params, false);
  await readerWaiting();
  const digest = crypto.createHash('sha256').update(Buffer.from(BID)).digest('hex');
  assert.equal(await bridge.textContent('#pin-operation'), '數位簽章');
  assert.equal(await bridge.textContent('#pin-content'), `摘要 ${groups(digest)}`);
  await screenshot(bridge, 'bridge-pinpad-sign');
  entry.type(PIN);
  const result = await pending;
  assert.equal(result.state, 'ok', result.text);
  assert.match(result.text, /OpenSSL 驗證/);
});

test('cancelled on the reader: PINPAD_CANCELLED, explained in the bridge', async () => {
  const { page } = session;
  const pending = submitBid(page, 0, 'bid-2026-0304.txt', BID, '');
  const entry = await nextEntry();
  await readerWaiting();
  entry.cancel();
  assert.deepEqual(await pending, { state: 'error', text: '已在讀卡機上取消輸入。' });
  await bridge.waitForSelector('#outcome[data-reason="PINPAD_CANCELLED"]');
  assert.equal(await bridge.textContent('#outcome'), '已在讀卡機上取消輸入，作業未執行。');
  assert.equal(await bridge.isVisible('#pin-dialog'), false);
});

test('nothing typed on the reader in time: PINPAD_TIMEOUT, explained in the bridge', async () => {
  const { page } = session;
  const pending = submitBid(page, 0, 'bid-2026-0305.txt', BID, '');
  const entry = await nextEntry();
  await readerWaiting();
  assert.equal(await bridge.isVisible('#outcome'), false, 'the previous outcome is cleared');
  entry.timeout();
  assert.deepEqual(await pending, { state: 'error', text: '未在時限內於讀卡機輸入密碼，請再試一次。' });
  await bridge.waitForSelector('#outcome[data-reason="PINPAD_TIMEOUT"]');
  assert.equal(await bridge.textContent('#outcome'), '讀卡機等候逾時，未輸入 PIN 碼；作業未執行，請在網站上再試一次。');
});

test('Cancel in the bridge while the reader waits: USER_CANCELLED, and a later result is dropped', async () => {
  const { page } = session;
  const results = () => page.evaluate(() => window.__received.filter((t) => JSON.parse(t).data?.type === 'result').length);
  const pending = submitBid(page, 0, 'bid-2026-0306.txt', BID, '');
  const entry = await nextEntry();
  await readerWaiting();
  await bridge.click('#pin-cancel');
  assert.deepEqual(await pending, { state: 'error', text: '您已在 TenderKey 視窗中取消這項作業。' });
  assert.equal(await bridge.textContent('#outcome'), '已取消，網站不會收到結果。若讀卡機仍在等候，請按讀卡機上的取消鍵。');
  // The user types on the reader after all: the daemon signs, the portal is never told.
  const before = await results();
  entry.type(PIN);
  await entry.answered;
  await bridge.waitForFunction(() => document.body.dataset.pin === undefined);
  await page.waitForTimeout(300);
  assert.equal(await results(), before, 'no result relayed after the user cancelled');
});

test('at one try left nothing is sent before the user confirms; Cancel leaves the card untouched', async () => {
  const { page } = session;
  for (const left of [2, 1]) {
    const pending = registerCard(page, 0, 'bidder', '');
    const entry = await nextEntry();
    await readerWaiting();
    entry.type(WRONG_PIN);
    assert.deepEqual(await pending, { state: 'error', text: `PIN 碼錯誤，尚可嘗試 ${left} 次。` });
    await bridge.waitForSelector('#outcome[data-reason="PIN_INCORRECT"]');
  }
  assert.match(await cardCtl(0, 'status'), /pin_tries=1\b/);

  // The last try, cancelled: nothing reaches the reader, the card keeps its one try.
  let pending = registerCard(page, 0, 'bidder', '');
  await bridge.waitForSelector('body[data-pin="pinpad-confirm"]');
  assert.equal(await bridge.textContent('#pin-tries'), '1');
  assert.equal(await bridge.isVisible('#pin-last'), true);
  assert.equal(await bridge.isVisible('#pin-input'), false);
  assert.equal(await bridge.isVisible('#pin-progress'), false);
  await screenshot(bridge, 'bridge-pinpad-last-try');
  await bridge.click('#pin-ok'); // not confirmed: nothing is sent
  await bridge.waitForTimeout(500);
  assert.equal(entries.length, 0, 'no request before the user confirms the last try');
  assert.equal(await bridge.getAttribute('body', 'data-pin'), 'pinpad-confirm');
  await bridge.click('#pin-cancel');
  assert.deepEqual(await pending, { state: 'error', text: '您已在 TenderKey 視窗中取消這項作業。' });
  assert.equal(entries.length, 0);
  assert.match(await cardCtl(0, 'status'), /pin_tries=1\b/);

  // Confirmed: sent with lastAttempt and no PIN; the right PIN on the reader restores the count.
  pending = registerCard(page, 0, 'bidder', '');
  await bridge.waitForSelector('body[data-pin="pinpad-confirm"]');
  await bridge.check('#pin-confirm-last');
  await bridge.click('#pin-ok');
  const entry = await nextEntry();
  assert.equal('pin' in entry.params, false);
  assert.equal(entry.params.lastAttempt, true);
  await readerWaiting();
  entry.type(PIN);
  const result = await pending;
  assert.equal(result.state, 'ok', result.text);
  assert.match(await cardCtl(0, 'status'), /pin_tries=3\b/);
});

test('no PIN reaches the portal', async () => {
  const received = await session.page.evaluate(() => window.__received);
  assert.ok(received.length > 10, `the portal received ${received.length} messages`);
  for (const text of received) assert.doesNotMatch(text, new RegExp(`${PIN}|${WRONG_PIN}`), text);
});
