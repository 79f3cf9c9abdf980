// First-use registration: the page has the card make a Web eID token over the portal's
// challenge; the portal server checks it (origin, challenge, CA, algorithm) and keeps the
// card's signing and encryption certificates.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PIN, openPortal, portalApi, registerCard, screenshot, selectCard } from './support.js';

let session;
before(async () => { session = await openPortal(); });
after(async () => { await session?.browser.close(); });

test('a bidder card registers and the portal keeps its certificates', async () => {
  const { page } = session;
  const result = await registerCard(page, 0, 'bidder');
  assert.equal(result.state, 'ok', result.text);
  assert.match(result.text, /^註冊成功：投標廠商 .*（RS256，已登錄加密憑證）$/);
  const row = page.locator('#accounts tbody tr[data-role="bidder"]');
  assert.equal(await row.count(), 1);
  await screenshot(page, 'registration-bidder');

  const { body } = await portalApi('GET', '/api/accounts');
  assert.equal(body.accounts.length, 1);
  const [account] = body.accounts;
  assert.equal(account.algorithm, 'RS256');
  assert.ok(account.encryptionCertificate, 'encryption certificate registered');
  assert.ok(account.signingCertificates.length >= 1, 'signing certificate registered');
  assert.ok(!account.signingCertificates.includes(account.authCertificate));
});

test('the portal server accepts a token only for the challenge it issued, once', async () => {
  const { page } = session;
  await selectCard(page, 1);
  // The page's own client, as a portal script would use it: same origin as the portal.
  const outcome = await page.evaluate(async (pin) => {
    const { connect } = await import('/tenderkey/tenderkey.js');
    const post = async (url, body) => {
      const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: r.status, body: await r.json() };
    };
    const client = await connect({ url: (await (await fetch('/api/config')).json()).daemonUrl });
    const cardId = document.querySelector('#card').value;
    const { certificates } = await client.certificatesList();
    const key = certificates.find((c) => c.cardId === cardId && c.usableFor.includes('register'));
    const { challenge } = (await post('/api/challenge')).body;
    const token = await client.register({ certificateId: key.id, pin, challenge });
    const { challenge: other } = (await post('/api/challenge')).body;
    const wrongChallenge = await post('/api/register', { token, challenge: other, role: 'agency' });
    const { challenge: third } = (await post('/api/challenge')).body;
    const token2 = await client.register({ certificateId: key.id, pin, challenge: third });
    const tampered = { ...token2, signature: token.signature };
    const wrongSignature = await post('/api/register', { token: tampered, challenge: third, role: 'agency' });
    const { challenge: fourth } = (await post('/api/challenge')).body;
    const token3 = await client.register({ certificateId: key.id, pin, challenge: fourth });
    const accepted = await post('/api/register', { token: token3, challenge: fourth, role: 'agency' });
    const replayed = await post('/api/register', { token: token3, challenge: fourth, role: 'agency' });
    await client.close();
    return { wrongChallenge, wrongSignature, accepted, replayed };
  }, PIN);
  assert.equal(outcome.wrongChallenge.status, 400);
  assert.match(outcome.wrongChallenge.body.error, /does not verify/);
  assert.equal(outcome.wrongSignature.status, 400);
  assert.match(outcome.wrongSignature.body.error, /does not verify/);
  assert.equal(outcome.accepted.status, 200, JSON.stringify(outcome.accepted.body));
  assert.equal(outcome.accepted.body.account.role, 'agency');
  assert.equal(outcome.replayed.status, 400);
  assert.match(outcome.replayed.body.error, /unknown or expired challenge/);
});

