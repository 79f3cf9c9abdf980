// The portal as a site on the public web (https, an address Chromium counts as public): its
// own WebSocket to tenderkeyd is blocked by Local Network Access, and everything works through
// the daemon's bridge window with no prompt and no policy: card status, registration (the
// token verified by the portal for the portal's origin), CMS bid signing, sealed-bid opening,
// a wrong PIN.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  ARTIFACTS, PIN, PORTAL, PUBLIC_SITE, WRONG_PIN, openPortal, portalApi, readerItem, registerCard, resultOf, screenshot,
  selectCard, submitBid,
} from './support.js';

if (!PUBLIC_SITE) throw new Error('run with TK_E2E_PUBLIC_TLS=1 (run-e2e.sh serves the portal as a public https site)');

const BID = '投標標單 2026-0101\n項目：公務電腦一批\n總價：新臺幣 1,200,000 元\n';

let session;
let bridge;
before(async () => { session = await openPortal({ query: '?mode=bridge' }); });
after(async () => { await session?.browser.close(); });

test('a public page cannot open its own WebSocket to tenderkeyd (Local Network Access)', async () => {
  const direct = await openPortal({ query: '?mode=direct' });
  try {
    await direct.page.waitForSelector('#daemon-status[data-state="error"]');
    assert.equal(await direct.page.textContent('#daemon-status'), '無法連線至 TenderKey，請確認 TenderKey 已安裝並正在執行。');
    assert.ok(direct.consoleLines.some((l) => l.includes('ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS')),
      direct.consoleLines.join('\n'));
    await screenshot(direct.page, 'public-direct-blocked');
  } finally {
    await direct.browser.close();
  }
});

test('through the bridge window: connected, readers and cards shown, events pushed', async () => {
  const { page } = session;
  assert.match(PORTAL, /^https:/);
  await page.waitForSelector('#bridge-connect:not([hidden])');
  [bridge] = await Promise.all([page.waitForEvent('popup'), page.click('#bridge-connect')]);
  await page.waitForSelector('#daemon-status[data-state="ok"]');
  assert.match(await page.textContent('#daemon-status'), /^已連線 TenderKey \d+\.\d+\.\d+/);
  for (const index of [0, 1]) {
    await page.waitForSelector(`#readers li[data-reader="${process.env[`TK_READER_${index}`]}"][data-present="true"]`);
    assert.match(await readerItem(page, index).textContent(), /已插入 IC 卡/);
  }
  // The bridge window names the site it works for, in full.
  assert.match(bridge.url(), /^http:\/\/127\.0\.0\.1:\d+\/bridge$/);
  await bridge.waitForSelector('body[data-state="ready"]');
  assert.equal(await bridge.textContent('#site-origin'), new URL(PORTAL).origin);
  await screenshot(bridge, 'bridge-window');
  await screenshot(page, 'public-bridge-connected');
});

test('registration through the bridge: the token verifies for the portal\'s origin', async () => {
  const { page } = session;
  let result = await registerCard(page, 1, 'agency');
  assert.equal(result.state, 'ok', result.text);
  result = await registerCard(page, 0, 'bidder');
  assert.equal(result.state, 'ok', result.text);
  assert.match(result.text, /^註冊成功：投標廠商 .*（RS256，已登錄加密憑證）$/);
  const { body } = await portalApi('GET', '/api/config');
  assert.equal(body.origin, new URL(PORTAL).origin);
  assert.equal((await portalApi('GET', '/api/accounts')).body.accounts.length, 2);
});

test('CMS bid signing and sealed-bid opening through the bridge', async () => {
  const { page } = session;
  const signed = await submitBid(page, 0, 'bid-2026-0101.txt', BID);
  assert.equal(signed.state, 'ok', signed.text);
  assert.match(signed.text, /^投標成功：簽章已由網站以 OpenSSL 驗證/);
  await selectCard(page, 1);
  await page.fill('#open-pin', PIN);
  await page.evaluate(() => { delete document.querySelector('#open-result').dataset.state; });
  await page.click('#bids button[data-open]');
  const opened = await resultOf(page, '#open-result');
  assert.equal(opened.state, 'ok', opened.text);
  assert.equal(await page.textContent('#open-content'), BID);
  await screenshot(page, 'public-bridge-opened');
});

test('a wrong PIN through the bridge is reported with the tries left', async () => {
  const { page } = session;
  const result = await registerCard(page, 0, 'bidder', WRONG_PIN);
  assert.deepEqual(result, { state: 'error', text: 'PIN 碼錯誤，尚可嘗試 2 次。' });
  // The right PIN resets the counter, so the card is left as found.
  assert.equal((await registerCard(page, 0, 'bidder', PIN)).state, 'ok');
});

// The bridge's cost: p50 of 100 system.info through a bridge window and through a direct
// connection, same page, alternating. Direct works here only because the test grants the
// page the Local Network Access permission (what the user's prompt would do).
test('round trip through the bridge against a direct connection', async () => {
  const { page, context } = session;
  await context.grantPermissions(['local-network-access'], { origin: new URL(PORTAL).origin });
  const config = (await portalApi('GET', '/api/config')).body;
  const figures = await page.evaluate(async ({ daemonUrl, bridgeUrl }) => {
    const { connect, openBridge } = await import('/tenderkey/tenderkey.js');
    const viaBridge = await openBridge({ url: bridgeUrl });
    const direct = await connect({ url: daemonUrl, reconnect: false });
    const times = { bridge: [], direct: [] };
    const once = async (name, client) => {
      const start = performance.now();
      const info = await client.systemInfo();
      times[name].push(performance.now() - start);
      return info.origin;
    };
    const origins = new Set();
    for (let i = 0; i < 10; i++) { await once('bridge', viaBridge); await once('direct', direct); }
    times.bridge = [];
    times.direct = [];
    for (let i = 0; i < 100; i++) {
      origins.add(await once('bridge', viaBridge));
      origins.add(await once('direct', direct));
    }
    await viaBridge.close();
    await direct.close();
    const p50 = (list) => {
      const sorted = [...list].sort((a, b) => a - b);
      return (sorted[49] + sorted[50]) / 2;
    };
    return { bridgeP50Ms: p50(times.bridge), directP50Ms: p50(times.direct), n: times.bridge.length, origins: [...origins] };
  }, config);
  console.log(`round trip p50 of ${figures.n} system.info: bridge ${figures.bridgeP50Ms.toFixed(2)} ms, ` +
    `direct ${figures.directP50Ms.toFixed(2)} ms`);
  fs.writeFileSync(path.join(ARTIFACTS, 'round-trip.json'), JSON.stringify(figures, null, 2));
  assert.equal(figures.n, 100);
  assert.deepEqual(figures.origins, [new URL(PORTAL).origin], 'both judged as the portal origin');
  assert.ok(figures.bridgeP50Ms > 0 && figures.directP50Ms > 0);
});

test('closing the bridge window is reported to the portal', async () => {
  const { page } = session;
  await bridge.close();
  await page.waitForSelector('#daemon-status[data-state="error"]');
  assert.equal(await page.textContent('#daemon-status'), '與 TenderKey 的連線已中斷');
  assert.deepEqual(session.consoleLines.filter((l) => l.startsWith('pageerror')), []);
});
