// The PIN typed in the bridge window: a portal that leaves the PIN out (or empty) gets the
// bridge's own PIN dialog, which shows the requesting origin, the operation, the certificate,
// the tries left and what is signed or opened. The PIN never reaches the portal (every
// message the portal window receives is recorded) nor the daemon's log; Cancel answers
// USER_CANCELLED; the last try is used only after the user confirms it in the bridge.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import {
  PIN, PORTAL, PUBLIC_SITE, WRONG_PIN, cardCtl, openPortal, portalApi, registerCard, resultOf, screenshot,
  selectCard, submitBid,
} from './support.js';

if (!PUBLIC_SITE) throw new Error('run with TK_E2E_PUBLIC_TLS=1 (run-e2e.sh serves the portal as a public https site)');

const BID = '投標標單 2026-0202\n項目：辦公桌椅一批\n總價：新臺幣 380,000 元\n';

let session;
let bridge;

function recordMessages() {
  window.__received = [];
  addEventListener('message', (event) => {
    window.__received.push(JSON.stringify({ origin: event.origin, data: event.data }));
  });
}

before(async () => {
  session = await openPortal({ query: '?mode=bridge' });
  await session.context.addInitScript(recordMessages);
  await session.page.reload();
  await session.page.waitForSelector('body[data-ready="true"]');
  const { page } = session;
  await page.waitForSelector('#bridge-connect:not([hidden])');
  [bridge] = await Promise.all([page.waitForEvent('popup'), page.click('#bridge-connect')]);
  await page.waitForSelector('#daemon-status[data-state="ok"]');
});
after(async () => { await session?.browser.close(); });

// Starts a portal action without a PIN, waits for the bridge's dialog and returns the action's
// outcome, still pending: the caller types into the dialog. The dialog is awaited here, before
// the caller may type: a wait that ran beside the typing could miss the dialog altogether once
// the PIN had closed it (and then wait until its timeout).
async function withDialog(action) {
  const outcome = action();
  await bridge.waitForSelector('body[data-pin="asking"]');
  await bridge.waitForSelector('#pin-dialog:not([hidden])');
  return { outcome };
}

async function typePin(pin) {
  await bridge.fill('#pin-input', pin);
  await bridge.click('#pin-ok');
}

const groups = (hex) => hex.toUpperCase().match(/.{1,4}/g).join(' ');

test('registration: the PIN is asked in the bridge, with origin, operation, certificate and tries', async () => {
  const { page } = session;
  const { outcome: pending } = await withDialog(() => registerCard(page, 1, 'agency', ''));
  await bridge.waitForSelector('body[data-pin="asking"]');
  assert.equal(await bridge.textContent('#pin-origin'), new URL(PORTAL).origin);
  assert.equal(await bridge.textContent('#pin-operation'), '註冊（以 IC 卡證明身分）');
  assert.match(await bridge.textContent('#pin-subject'), /CN=/);
  assert.equal(await bridge.textContent('#pin-tries'), '3');
  await screenshot(bridge, 'bridge-pin-register');
  await typePin(PIN);
  const result = await pending;
  assert.equal(result.state, 'ok', result.text);
});

test('bid signing: the dialog shows the fingerprint of what is signed', async () => {
  const { page } = session;
  const { outcome: registration } = await withDialog(() => registerCard(page, 0, 'bidder', ''));
  await bridge.waitForSelector('body[data-pin="asking"]');
  await typePin(PIN);
  assert.equal((await registration).state, 'ok');

  const { outcome: pending } = await withDialog(() => submitBid(page, 0, 'bid-2026-0202.txt', BID, ''));
  await bridge.waitForSelector('body[data-pin="asking"]');
  const digest = crypto.createHash('sha256').update(Buffer.from(BID)).digest('hex');
  assert.equal(await bridge.textContent('#pin-operation'), '數位簽章');
  assert.equal(await bridge.textContent('#pin-content'), `摘要 ${groups(digest)}`);
  await screenshot(bridge, 'bridge-pin-sign');
  await typePin(PIN);
  const result = await pending;
  assert.equal(result.state, 'ok', result.text);
});

test('opening a sealed bid: the dialog shows the envelope size and recipient', async () => {
  const { page } = session;
  await selectCard(page, 1);
  await page.fill('#open-pin', '');
  await page.evaluate(() => { delete document.querySelector('#open-result').dataset.state; });
  const sealed = (await portalApi('GET', `/api/bids/${(await portalApi('GET', '/api/bids')).body.bids[0].id}`)).body.bid;
  const { outcome: pending } = await withDialog(async () => {
    await page.click('#bids button[data-open]');
    return resultOf(page, '#open-result');
  });
  await bridge.waitForSelector('body[data-pin="asking"]');
  const subject = await bridge.textContent('#pin-subject');
  assert.equal(await bridge.textContent('#pin-operation'), '解密');
  assert.equal(await bridge.textContent('#pin-content'),
    `${Buffer.from(sealed.cms, 'base64').length} 位元組的加密資料，收件者：${subject}`);
  await typePin(PIN);
  const result = await pending;
  assert.equal(result.state, 'ok', result.text);
  assert.equal(await page.textContent('#open-content'), BID);
});

test('Cancel in the bridge answers the portal USER_CANCELLED', async () => {
  const { page } = session;
  const { outcome: pending } = await withDialog(() => registerCard(page, 0, 'bidder', ''));
  await bridge.waitForSelector('body[data-pin="asking"]');
  await bridge.click('#pin-cancel');
  assert.deepEqual(await pending, { state: 'error', text: '您已在 TenderKey 視窗中取消這項作業。' });
});

test('the last try is used only after the user confirms it in the bridge', async () => {
  const { page } = session;
  for (const left of [2, 1]) {
    const { outcome: pending } = await withDialog(() => registerCard(page, 0, 'bidder', ''));
    await bridge.waitForSelector('body[data-pin="asking"]');
    await typePin(WRONG_PIN);
    assert.deepEqual(await pending, { state: 'error', text: `PIN 碼錯誤，尚可嘗試 ${left} 次。` });
  }
  const { outcome: pending } = await withDialog(() => registerCard(page, 0, 'bidder', ''));
  await bridge.waitForSelector('body[data-pin="asking"]');
  assert.equal(await bridge.textContent('#pin-tries'), '1');
  assert.equal(await bridge.isVisible('#pin-last'), true);
  await screenshot(bridge, 'bridge-pin-last-try');
  await typePin(PIN);
  // Not confirmed: nothing is sent.
  await bridge.waitForTimeout(500);
  assert.equal(await bridge.getAttribute('body', 'data-pin'), 'asking');
  assert.match(await cardCtl(0, 'status'), /pin_tries=1\b/);
  await bridge.check('#pin-confirm-last');
  await bridge.click('#pin-ok');
  const result = await pending;
  assert.equal(result.state, 'ok', result.text);
  assert.match(await cardCtl(0, 'status'), /pin_tries=3\b/);
});

test('the PIN never reaches the portal nor the daemon log', async () => {
  const { page } = session;
  const received = await page.evaluate(() => window.__received);
  assert.ok(received.length > 10, `the portal received ${received.length} messages`);
  for (const text of received) {
    assert.doesNotMatch(text, new RegExp(`${PIN}|${WRONG_PIN}`), text);
  }
  const log = fs.readFileSync(process.env.TK_E2E_DAEMON_LOG, 'utf8');
  assert.doesNotMatch(log, new RegExp(`${PIN}|${WRONG_PIN}`));
  assert.equal(await bridge.inputValue('#pin-input'), '', 'the PIN field is cleared');
});
