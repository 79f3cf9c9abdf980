// PIN errors reach the user in Traditional Chinese with the tries left, through the client
// library's reason -> zh-TW text.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PIN, WRONG_PIN, openPortal, portalApi, registerCard, screenshot } from './support.js';

let session;
before(async () => { session = await openPortal(); });
after(async () => { await session?.browser.close(); });

test('a wrong PIN is shown in Chinese with the tries left, the last try is guarded', async () => {
  const { page } = session;
  let result = await registerCard(page, 0, 'bidder', WRONG_PIN);
  assert.deepEqual(result, { state: 'error', text: 'PIN 碼錯誤，尚可嘗試 2 次。' });
  await screenshot(page, 'wrong-pin-2-left');
  result = await registerCard(page, 0, 'bidder', WRONG_PIN);
  assert.deepEqual(result, { state: 'error', text: 'PIN 碼錯誤，尚可嘗試 1 次。' });
  // One try left: the page does not say lastAttempt, so even the right PIN is held back.
  result = await registerCard(page, 0, 'bidder', PIN);
  assert.equal(result.state, 'error');
  assert.match(result.text, /^PIN 碼僅剩最後 1 次嘗試機會/);
  await screenshot(page, 'wrong-pin-last-attempt');
  result = await registerCard(page, 0, 'bidder', '12');
  assert.equal(result.state, 'error');
  assert.match(result.text, /^PIN 碼格式不符合卡片規定（6 至 8 位數字）/);
  assert.equal((await portalApi('GET', '/api/accounts')).body.accounts.length, 0);
});
