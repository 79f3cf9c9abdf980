// Sealing and opening: the portal seals a signed bid to the agency's registered encryption
// certificate with `openssl cms -encrypt` (no card); the agency opens it in the browser with
// its own card (decrypt, CMS EnvelopedData) and the content is the bid that was signed.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PIN, WRONG_PIN, openPortal, registerCard, resultOf, screenshot, selectCard, submitBid } from './support.js';

let session;
before(async () => { session = await openPortal(); });
after(async () => { await session?.browser.close(); });

const BID = '投標標單 2026-0077\n項目：校園網路設備一批\n總價：新臺幣 2,480,000 元\n';

async function open(page, pin) {
  await page.fill('#open-pin', pin);
  await page.evaluate(() => { delete document.querySelector('#open-result').dataset.state; });
  await page.click('#bids button[data-open]');
  return resultOf(page, '#open-result');
}

test('the agency opens a sealed bid with its card', async () => {
  const { page } = session;
  assert.equal((await registerCard(page, 1, 'agency')).state, 'ok');
  assert.equal((await registerCard(page, 0, 'bidder')).state, 'ok');
  assert.equal((await submitBid(page, 0, 'bid-2026-0077.txt', BID)).state, 'ok');

  // The bidder's card is not the recipient.
  let result = await open(page, PIN);
  assert.deepEqual(result, { state: 'error', text: '此 IC 卡不是這份標單的收件機關' });

  await selectCard(page, 1);
  result = await open(page, WRONG_PIN);
  assert.deepEqual(result, { state: 'error', text: 'PIN 碼錯誤，尚可嘗試 2 次。' });
  result = await open(page, PIN);
  assert.equal(result.state, 'ok', result.text);
  assert.match(result.text, /^開標成功：.* 的標單（bid-2026-0077\.txt）內容與簽署時一致$/);
  assert.equal(await page.textContent('#open-content'), BID);
  assert.match(await page.textContent('#bids tbody'), /已開標/);
  await screenshot(page, 'bid-opened');
});
