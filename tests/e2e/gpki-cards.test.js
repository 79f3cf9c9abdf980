// Taiwan's GPKI cards on the demo portal: a company card (工商憑證, MOEACA) and an agency card
// (GCA) as HiCOS tokens reached through PKCS#11 (tests/gpki; run-e2e.sh with TK_E2E_HICOS).
// The company's 統一編號 is shown, both cards register with their signing key (the cards have
// no other), registration keeps the agency's KEYX certificate so the portal seals without a
// card, and the agency opens the company's signed and sealed bid with its own card.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openPortal, resultOf, screenshot } from './support.js';

const PIN = process.env.TK_E2E_HICOS_PIN;
const COMPANY = '12345678';
const AGENCY = '23456789';
const BID = '投標標單 2026-0315\n廠商：測試科技股份有限公司（統一編號 12345678）\n總價：新臺幣 3,150,000 元\n';

let session;
before(async () => { session = await openPortal(); });
after(async () => { await session?.browser.close(); });

// Selects the card whose certificates state this business number.
async function selectCardOf(page, organizationId) {
  await page.waitForFunction((id) => [...document.querySelector('#card').options]
    .some((o) => o.textContent.endsWith(`統一編號 ${id}`)), organizationId);
  const value = await page.$eval('#card', (select, id) =>
    [...select.options].find((o) => o.textContent.endsWith(`統一編號 ${id}`)).value, organizationId);
  await page.selectOption('#card', value);
}

async function register(page, organizationId, role) {
  await selectCardOf(page, organizationId);
  await page.selectOption('#reg-role', role);
  await page.fill('#reg-pin', PIN);
  await page.evaluate(() => { delete document.querySelector('#reg-result').dataset.state; });
  await page.click('#reg-submit');
  return resultOf(page, '#reg-result');
}

test('a company bids with its GPKI card and an agency opens the sealed bid with its GCA card', async () => {
  const { page } = session;
  assert.match(await page.textContent('#readers'), new RegExp(`HiCOS PKI Smart Card）・統一編號 ${COMPANY}`));

  let result = await register(page, AGENCY, 'agency');
  assert.equal(result.state, 'ok', result.text);
  assert.match(result.text, /^註冊成功：招標機關 行政院 公共工程委員會測試（RS256，已登錄加密憑證）$/);
  result = await register(page, COMPANY, 'bidder');
  assert.equal(result.state, 'ok', result.text);
  assert.match(result.text, /^註冊成功：投標廠商 測試科技股份有限公司 /);

  await selectCardOf(page, COMPANY);
  await page.setInputFiles('#bid-file', { name: 'bid-2026-0315.txt', mimeType: 'text/plain', buffer: Buffer.from(BID) });
  await page.fill('#bid-pin', PIN);
  await page.evaluate(() => { delete document.querySelector('#bid-result').dataset.state; });
  await page.click('#bid-submit');
  result = await resultOf(page, '#bid-result');
  assert.equal(result.state, 'ok', result.text);
  assert.match(result.text, /^投標成功：簽章已由網站以 OpenSSL 驗證/);

  await selectCardOf(page, AGENCY);
  await page.fill('#open-pin', PIN);
  await page.evaluate(() => { delete document.querySelector('#open-result').dataset.state; });
  await page.click('#bids button[data-open]');
  result = await resultOf(page, '#open-result');
  assert.equal(result.state, 'ok', result.text);
  assert.equal(result.text, '開標成功：測試科技股份有限公司 的標單（bid-2026-0315.txt）內容與簽署時一致');
  assert.equal(await page.textContent('#open-content'), BID);
  await screenshot(page, 'gpki-bid-opened');
});
