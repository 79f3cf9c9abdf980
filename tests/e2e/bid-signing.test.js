// Bid signing: the bidder's card makes a detached CMS signature over the SHA-256 of the bid
// file; the portal server verifies it with `openssl cms -verify -binary -cades` against the
// bidder's registered signing certificate and seals the bid to the agency.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { openPortal, portalApi, registerCard, screenshot, submitBid } from './support.js';

let session;
before(async () => { session = await openPortal(); });
after(async () => { await session?.browser.close(); });

const BID = '投標標單 2026-0042\r\n總價：新臺幣 1,234,567 元\r\n\u0000binary tail\u00ff';

test('a registered bidder signs a bid and the portal verifies it with OpenSSL', async () => {
  const { page } = session;
  assert.equal((await registerCard(page, 1, 'agency')).state, 'ok');
  assert.equal((await registerCard(page, 0, 'bidder')).state, 'ok');
  const result = await submitBid(page, 0, 'bid-2026-0042.txt', BID);
  assert.equal(result.state, 'ok', result.text);
  assert.match(result.text, /^投標成功：簽章已由網站以 OpenSSL 驗證，標單已密封/);
  await screenshot(page, 'bid-signed');
  const { body } = await portalApi('GET', '/api/bids');
  assert.equal(body.bids.length, 1);
  assert.equal(body.bids[0].signatureVerified, true);
  assert.equal(body.bids[0].size, Buffer.byteLength(BID));
});

test('the portal refuses a signature that does not cover the uploaded file', async () => {
  const { page } = session;
  // Sign one file, upload another: the server-side OpenSSL verification must fail.
  const outcome = await page.evaluate(async () => {
    const { connect, toBase64 } = await import('/tenderkey/tenderkey.js');
    const config = await (await fetch('/api/config')).json();
    const { accounts } = await (await fetch('/api/accounts')).json();
    const bidder = accounts.find((a) => a.role === 'bidder');
    const agency = accounts.find((a) => a.role === 'agency');
    const client = await connect({ url: config.daemonUrl });
    const { certificates } = await client.certificatesList();
    const key = certificates.find((c) => bidder.signingCertificates.includes(c.der) && c.usableFor.includes('sign'));
    const signed = new TextEncoder().encode('the bid that was signed');
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', signed));
    const { cms } = await client.sign({ certificateId: key.id, pin: '123456', digest, format: 'cms' });
    await client.close();
    const post = async (data) => {
      const r = await fetch('/api/bids', {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ bidder: bidder.id, agency: agency.id, fileName: 'x.txt', data: toBase64(data), cms }),
      });
      return { status: r.status, body: await r.json() };
    };
    return { other: await post(new TextEncoder().encode('another bid')), same: await post(signed) };
  });
  assert.equal(outcome.other.status, 400);
  assert.match(outcome.other.body.error, /signature does not verify/);
  assert.equal(outcome.same.status, 200, JSON.stringify(outcome.same.body));
});
