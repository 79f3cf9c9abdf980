// Registration with EC keys: card 1's 9A holds an EC P-256 key (provision-ec-9a.sh, run by
// run-e2e.sh before the daemon starts) certified for client authentication in another
// organisation than the card's other certificates: the token is ES256 and the portal keeps no
// encryption certificate for it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openPortal, portalApi, registerCard, screenshot } from './support.js';

let session;
before(async () => { session = await openPortal(); });
after(async () => { await session?.browser.close(); });

test('an EC P-256 registration key registers with ES256', async () => {
  const { page } = session;
  const result = await registerCard(page, 1, 'bidder');
  assert.equal(result.state, 'ok', result.text);
  assert.equal(result.text, '註冊成功：投標廠商 TenderKey EC Test （ES256）');
  const { body } = await portalApi('GET', '/api/accounts');
  assert.equal(body.accounts.length, 1);
  assert.equal(body.accounts[0].algorithm, 'ES256');
  assert.equal(body.accounts[0].encryptionCertificate, null);
  assert.deepEqual(body.accounts[0].signingCertificates, []);
  // The RSA card next to it still registers with RS256.
  const rsa = await registerCard(page, 0, 'agency');
  assert.match(rsa.text, /（RS256，已登錄加密憑證）$/);
  await screenshot(page, 'registration-es256');
});
