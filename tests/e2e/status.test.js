// Card status on the portal page: both readers shown with their cards, and a card pulled out
// and put back is shown as it happens (card.removed / card.inserted pushed by tenderkeyd).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { cardCtl, openPortal, readerItem, screenshot } from './support.js';

let session;
before(async () => { session = await openPortal(); });
after(async () => { await session?.browser.close(); });

test('status page shows the readers, the cards and TenderKey', async () => {
  const { page } = session;
  await page.waitForSelector('#daemon-status[data-state="ok"]');
  assert.match(await page.textContent('#daemon-status'), /^已連線 TenderKey \d+\.\d+\.\d+/);
  for (const index of [0, 1]) {
    await page.waitForSelector(`#readers li[data-reader="${process.env[`TK_READER_${index}`]}"][data-present="true"]`);
    assert.match(await readerItem(page, index).textContent(), /已插入 IC 卡/);
  }
  assert.equal(await page.locator('#card option').count(), 2);
  await screenshot(page, 'status-two-cards');
});

test('removing and inserting a card updates the page live', async () => {
  const { page } = session;
  const item = readerItem(page, 0);
  await cardCtl(0, 'remove');
  await page.waitForSelector(`#readers li[data-reader="${process.env.TK_READER_0}"][data-present="false"]`);
  assert.match(await item.textContent(), /未插入 IC 卡/);
  assert.match(await page.textContent('#event-log'), /移除 IC 卡：Virtual PCD 00 00/);
  assert.equal(await page.locator('#card option').count(), 1);
  await screenshot(page, 'status-card-removed');

  await cardCtl(0, 'insert');
  await page.waitForSelector(`#readers li[data-reader="${process.env.TK_READER_0}"][data-present="true"]`);
  assert.match(await page.textContent('#event-log'), /插入 IC 卡：Virtual PCD 00 00/);
  assert.equal(await page.locator('#card option').count(), 2);
  await screenshot(page, 'status-card-inserted');
  assert.deepEqual(session.consoleLines.filter((l) => l.startsWith('pageerror')), []);
});
