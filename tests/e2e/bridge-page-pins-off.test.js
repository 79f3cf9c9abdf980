// [pin] page_supplied = false: a PIN typed into the portal page is refused before it reaches
// the card (the bridge refuses to relay it), and the same action with the PIN typed in the
// bridge window works.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PIN, PUBLIC_SITE, cardCtl, openPortal, registerCard } from './support.js';

if (!PUBLIC_SITE) throw new Error('run with TK_E2E_PUBLIC_TLS=1 (run-e2e.sh serves the portal as a public https site)');
if (process.env.TK_E2E_PAGE_PINS !== '0') throw new Error('run with TK_E2E_PAGE_PINS=0');

let session;
let bridge;
before(async () => {
  session = await openPortal({ query: '?mode=bridge' });
  const { page } = session;
  await page.waitForSelector('#bridge-connect:not([hidden])');
  [bridge] = await Promise.all([page.waitForEvent('popup'), page.click('#bridge-connect')]);
  await page.waitForSelector('#daemon-status[data-state="ok"]');
});
after(async () => { await session?.browser.close(); });

test('a PIN typed into the page is refused and the card is not touched', async () => {
  const { page } = session;
  const result = await registerCard(page, 0, 'bidder', PIN);
  assert.deepEqual(result, {
    state: 'error', text: '基於安全，請勿在網頁中輸入 PIN 碼；請在 TenderKey 視窗或讀卡機的密碼鍵盤上輸入。',
  });
  assert.match(await cardCtl(0, 'status'), /pin_tries=3\b/);
});

test('the PIN typed in the bridge window is accepted', async () => {
  const { page } = session;
  const pending = registerCard(page, 0, 'bidder', '');
  await bridge.waitForSelector('body[data-pin="asking"]');
  await bridge.fill('#pin-input', PIN);
  await bridge.click('#pin-ok');
  const result = await pending;
  assert.equal(result.state, 'ok', result.text);
});

test('the bridge window closes itself as soon as the portal window closes', async () => {
  const { page } = session;
  const closed = new Promise((resolve) => bridge.once('close', resolve));
  const started = Date.now();
  await page.close();
  const outcome = await Promise.race([closed.then(() => 'closed'),
    new Promise((r) => setTimeout(() => r('still open'), 5_000))]);
  // Well before the 10 s heartbeat limit: the bridge watches opener.closed.
  assert.equal(outcome, 'closed');
  assert.ok(Date.now() - started < 5_000);
});
