// The HiPKI listener's other pages, from a portal served as a public https site:
// /p11Image.bmp holds only {"ret_code":0,"serverVersion":...} (the same bytes for every
// Origin and Referer, with or without a card) and a page decoding it the way the vendor's
// pages do reads the version; /selfTest.htm answers a top-level navigation only (never a
// fetch or a frame) and shows the readers, cards and certificates; every page carries the
// bridge's headers.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { PORTAL, PUBLIC_SITE, READER, cardCtl, openPortal, screenshot } from './support.js';

if (!PUBLIC_SITE || process.env.TK_E2E_HIPKI !== '1') throw new Error('run with TK_E2E_PUBLIC_TLS=1 TK_E2E_HIPKI=1');

const HIPKI = 'http://localhost:61161';
const VERSION = '1.3.4.999999';
let session;

// A plain HTTP request to the HiPKI listener with exactly these headers.
function get(path, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: 61161, path, headers: { host: 'localhost:61161', ...headers } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
  });
}

// Waits until the daemon's log matches `pattern`.
async function logShows(pattern) {
  const end = Date.now() + 10_000;
  while (!pattern.test(fs.readFileSync(process.env.TK_E2E_DAEMON_LOG, 'utf8'))) {
    if (Date.now() > end) throw new Error(`the daemon's log never showed ${pattern}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const NAVIGATION = { 'sec-fetch-dest': 'document', 'sec-fetch-mode': 'navigate', 'sec-fetch-site': 'none' };

before(async () => {
  session = await openPortal({ query: 'hipki-sample.html' });
});
after(async () => { await session?.browser.close(); });

test('/p11Image.bmp: the same bytes for every Origin and Referer, with or without a card', async () => {
  const first = await get('/p11Image.bmp');
  assert.equal(first.status, 200);
  assert.equal(first.headers['content-type'], 'image/bmp');
  assert.equal(first.headers['cache-control'], 'no-store');
  assert.equal(first.headers.vary, 'Origin');
  assert.equal(first.headers['access-control-allow-origin'], '*');
  assert.equal(first.headers['x-content-type-options'], 'nosniff');
  // The pixels, read as the vendor's pages read the file as text: from byte 54 to the first 0.
  const text = first.body.subarray(54, first.body.indexOf(0, 54)).toString('latin1');
  assert.deepEqual(JSON.parse(text), { ret_code: 0, serverVersion: VERSION });
  const variants = [
    { origin: 'https://web.pcc.gov.tw' }, { origin: 'https://evil.example' }, { origin: 'null' },
    { referer: 'https://evil.example/steal' }, { origin: PORTAL, referer: `${PORTAL}/x` },
    { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image' },
  ];
  for (const headers of variants) {
    const r = await get(`/p11Image.bmp?${Date.now()}`, headers);
    assert.equal(r.status, 200, JSON.stringify(headers));
    assert.ok(r.body.equals(first.body), JSON.stringify(headers));
    assert.equal(r.headers['access-control-allow-origin'], '*');
  }
  await cardCtl(0, 'remove');
  await cardCtl(1, 'remove');
  try {
    await logShows(/card removed from .*\n(.*\n)*.*card removed from /);
    assert.ok((await get('/p11Image.bmp', { origin: 'https://web.pcc.gov.tw' })).body.equals(first.body));
  } finally {
    await cardCtl(0, 'insert');
    await cardCtl(1, 'insert');
    await logShows(/card removed from (.*\n)*.*card inserted in (.*\n)*.*card inserted in /);
  }
});

test('a page decoding /p11Image.bmp the vendor\'s way reads the version', async () => {
  const { page, context } = session;
  // A page on the public web reaching the loopback needs the browser's local network access
  // permission (Chromium asks the user); the popup never does, being a top-level window.
  await context.grantPermissions(['local-network-access'], { origin: new URL(PORTAL).origin });
  const output = await page.evaluate((url) => new Promise((resolve) => {
    const img = document.createElement('img');
    img.crossOrigin = 'Anonymous';
    img.src = url;
    const canvas = document.createElement('canvas');
    canvas.width = 2000;
    canvas.height = 1;
    const ctx = canvas.getContext('2d');
    img.onload = () => {
      ctx.drawImage(img, 0, 0);
      let text = '';
      for (let i = 0; i < 2000; i++) {
        const data = ctx.getImageData(i, 0, 1, 1).data;
        if (data[2] === 0) break;
        text += String.fromCharCode(data[2], data[1], data[0]);
      }
      resolve(text);
    };
    img.onerror = () => resolve('not installed');
  }), `${HIPKI}/p11Image.bmp?${Date.now()}`);
  assert.deepEqual(JSON.parse(output), { ret_code: 0, serverVersion: VERSION });
});

test('/selfTest.htm as a top-level navigation: version, readers, cards and certificates', async () => {
  const { context } = session;
  const page = await context.newPage();
  const response = await page.goto(`${HIPKI}/selfTest.htm`);
  assert.equal(response.status(), 200);
  const headers = response.headers();
  assert.match(headers['content-security-policy'], /frame-ancestors 'none'/);
  assert.equal(headers['x-frame-options'], 'DENY');
  assert.equal(headers['cross-origin-opener-policy'], 'same-origin');
  await page.waitForSelector('body[data-state="ready"]');
  assert.equal(await page.textContent('#title'), 'TenderKey 自我檢測');
  assert.match(await page.getAttribute('#version', 'data-version'), /^\d+\.\d+/);
  for (const reader of READER) {
    assert.match(await page.textContent(`#readers tr[data-reader="${reader}"]`), / · piv · [0-9a-f]+$/);
  }
  assert.ok(await page.locator('#certificates tr[data-certificate]').count() >= 2);
  assert.equal(await page.evaluate(() => window.name), '');
  await screenshot(page, 'hipki-selftest');
  await page.close();

  const english = await session.browser.newContext({ locale: 'en-US' });
  const en = await english.newPage();
  await en.goto(`${HIPKI}/selfTest.htm`);
  await en.waitForSelector('body[data-state="ready"]');
  assert.equal(await en.textContent('#title'), 'TenderKey self-test');
  await english.close();
});

test('/selfTest.htm refuses a fetch, a frame and a request without the navigation headers', async () => {
  const { page } = session;
  // fetch (the portal has the local network access permission: only the daemon refuses).
  const fetched = await page.evaluate(async (url) => {
    try {
      const r = await fetch(url, { mode: 'no-cors' });
      return r.type;
    } catch (e) {
      return `failed: ${e.message}`;
    }
  }, `${HIPKI}/selfTest.htm`);
  assert.ok(fetched === 'opaque' || fetched.startsWith('failed'), fetched);
  // A frame of an http page (an https page would block the http frame itself).
  const framing = await session.context.newPage();
  const refused = framing.waitForResponse((r) => r.url() === `${HIPKI}/selfTest.htm`);
  await framing.setContent(`<iframe src="${HIPKI}/selfTest.htm"></iframe>`);
  assert.equal((await refused).status(), 403);
  await framing.close();
  assert.equal((await get('/selfTest.htm')).status, 403);
  assert.equal((await get('/selfTest.htm', { 'sec-fetch-dest': 'iframe', 'sec-fetch-mode': 'navigate' })).status, 403);
  assert.equal((await get('/selfTest.htm', { 'sec-fetch-dest': 'empty', 'sec-fetch-mode': 'cors' })).status, 403);
  assert.equal((await get('/selfTest.htm', NAVIGATION)).status, 200);
  const log = fs.readFileSync(process.env.TK_E2E_DAEMON_LOG, 'utf8');
  // The fetch reached the daemon and was refused there.
  assert.ok((log.match(/path=\/selfTest\.htm check=navigation/g) ?? []).length >= 5, log);
});

test('every page has the bridge\'s headers; the daemon\'s windows clear window.name', async () => {
  for (const path of ['/popupForm', '/ChtPopupForm', '/addDomain', '/selfTest.htm', '/consent.js', '/addDomain.js',
    '/selfTest.js', '/popupForm.js', '/bridge.css', '/p11Image.bmp']) {
    const r = await get(path, NAVIGATION);
    assert.equal(r.status, 200, path);
    assert.match(r.headers['content-security-policy'], /default-src 'none';.*frame-ancestors 'none'/, path);
    assert.equal(r.headers['x-frame-options'], 'DENY', path);
    assert.equal(r.headers['x-content-type-options'], 'nosniff', path);
    assert.equal(r.headers['cache-control'], 'no-store', path);
    assert.equal(r.headers['referrer-policy'], 'no-referrer', path);
  }
  const { page } = session;
  for (const path of ['/popupForm', '/addDomain?domain=other.example', '/selfTest.htm']) {
    const [popup] = await Promise.all([
      session.context.waitForEvent('page'),
      page.evaluate((url) => { window.open(url, 'portal-named-window', 'width=400,height=400'); }, `${HIPKI}${path}`),
    ]);
    await popup.waitForLoadState('load');
    await popup.waitForFunction(() => document.getElementById('status').textContent !== '');
    assert.equal(await popup.evaluate(() => window.name), '', path);
    await popup.close();
  }
});
