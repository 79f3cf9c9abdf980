// How the consent dialog shows the requesting origin: in full (scheme, host, port), the
// registrable domain emphasised, an internationalised name in its punycode form (what the
// browser reports and the daemon judges) and in Unicode, and never shortened: a very long
// origin wraps inside its box and the window grows to show it all. The portal is reached under
// names Chromium maps to it (--host-resolver-rules), public like every real portal; those
// origins are not in the daemon's allow-list, so the bridge offers consent for them.
import assert from 'node:assert/strict';
import { domainToASCII, domainToUnicode } from 'node:url';
import { after, before, test } from 'node:test';
import { PORTAL, PUBLIC_SITE, openPortal, screenshot } from './support.js';

if (!PUBLIC_SITE) throw new Error('run with TK_E2E_PUBLIC_TLS=1 (run-e2e.sh serves the portal as a public https site)');

const PORT = new URL(PORTAL).port;
const IDN_DOMAIN = domainToASCII('政府採購.台灣');
const IDN_HOST = `bid.${IDN_DOMAIN}`;
const LONG_DOMAIN = 'tender-example.com.tw';
const LONG_HOST = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${LONG_DOMAIN}`;

let session;
before(async () => {
  session = await openPortal({
    query: '?mode=bridge',
    viewport: null, // the bridge window's own resizeBy must take effect
    browserArgs: [`--host-resolver-rules=MAP ${IDN_HOST} 127.0.0.1, MAP ${LONG_HOST} 127.0.0.1`],
  });
});
after(async () => { await session?.browser.close(); });

// The portal under `host`, and the consent dialog of the bridge window its click opens.
async function consentFor(host) {
  const { page } = session;
  await page.goto(`https://${host}:${PORT}/?mode=bridge`);
  await page.waitForSelector('body[data-ready="true"]');
  await page.waitForSelector('#bridge-connect:not([hidden])');
  const [popup] = await Promise.all([page.waitForEvent('popup'), page.click('#bridge-connect')]);
  await popup.waitForSelector('#consent-dialog:not([hidden])');
  return popup;
}

async function deny(popup) {
  const closed = popup.waitForEvent('close');
  await popup.click('#consent-deny');
  await closed;
}

test('an internationalised name: punycode and Unicode, the registrable domain emphasised in both, in the consent dialog and the site line', async () => {
  const popup = await consentFor(IDN_HOST);
  const origin = `https://${IDN_HOST}:${PORT}`;
  assert.equal(await popup.textContent('#consent-origin'), origin);
  assert.equal(await popup.textContent('#consent-origin strong'), IDN_DOMAIN);
  assert.equal(await popup.isVisible('#consent-unicode-label'), true);
  assert.equal(await popup.isVisible('#consent-unicode'), true);
  assert.equal(await popup.textContent('#consent-unicode'), `https://bid.${domainToUnicode(IDN_DOMAIN)}:${PORT}`);
  assert.equal(await popup.textContent('#consent-unicode strong'), '政府採購.台灣');
  await screenshot(popup, 'consent-idn-origin');
  // Allowed once: the window's site line, shown while it works for the site, reads the same.
  await popup.waitForSelector('body[data-consent="active"]');
  await popup.click('#consent-once');
  await popup.waitForSelector('body[data-state="ready"]');
  assert.equal(await popup.textContent('#site-origin'), origin);
  assert.equal(await popup.textContent('#site-origin strong'), IDN_DOMAIN);
  assert.equal(await popup.textContent('#site-unicode'), `https://bid.政府採購.台灣:${PORT}`);
  assert.equal(await popup.textContent('#site-unicode strong'), '政府採購.台灣');
  const closed = popup.waitForEvent('close');
  await session.page.close();
  await closed;
  session.page = await session.context.newPage();
});

test('an ASCII name shows no Unicode line', async () => {
  const popup = await consentFor(LONG_HOST);
  assert.equal(await popup.isVisible('#consent-unicode'), false);
  assert.equal(await popup.isVisible('#consent-unicode-label'), false);
  await deny(popup);
});

test('a very long origin is shown whole: not cut, not scrolled, the window grown to fit', async () => {
  const popup = await consentFor(LONG_HOST);
  const origin = `https://${LONG_HOST}:${PORT}`;
  assert.ok(origin.length > 200);
  assert.equal(await popup.textContent('#consent-origin'), origin);
  assert.equal(await popup.textContent('#consent-origin strong'), LONG_DOMAIN);
  // The window grows asynchronously; give it a moment (a window that never grows fails below).
  await popup.waitForFunction(() => document.documentElement.scrollHeight <= window.innerHeight, null, { timeout: 3000 })
    .catch(() => {});
  const box = await popup.$eval('#consent-origin', (e) => {
    const rect = e.getBoundingClientRect();
    return {
      scrollWidth: e.scrollWidth, clientWidth: e.clientWidth, scrollHeight: e.scrollHeight, clientHeight: e.clientHeight,
      bottom: rect.bottom, right: rect.right, innerHeight: window.innerHeight, innerWidth: window.innerWidth,
      pageHeight: document.documentElement.scrollHeight, pageWidth: document.documentElement.scrollWidth,
    };
  });
  assert.ok(box.scrollWidth <= box.clientWidth, JSON.stringify(box));
  assert.ok(box.scrollHeight <= box.clientHeight, JSON.stringify(box));
  assert.ok(box.right <= box.innerWidth && box.bottom <= box.innerHeight, `the origin lies inside the window: ${JSON.stringify(box)}`);
  assert.ok(box.pageHeight <= box.innerHeight && box.pageWidth <= box.innerWidth, `the whole dialog fits: ${JSON.stringify(box)}`);
  await screenshot(popup, 'consent-long-origin');
  await deny(popup);
});
