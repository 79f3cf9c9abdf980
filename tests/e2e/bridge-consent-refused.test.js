// An origin the user may not approve: on the [consent] deny list, or consent disabled. The
// bridge never shows the consent dialog and the portal is refused ORIGIN_NOT_ALLOWED.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import { PUBLIC_SITE, openPortal } from './support.js';

const mode = process.env.TK_E2E_CONSENT;
if (!PUBLIC_SITE || (mode !== 'deny' && mode !== 'off')) throw new Error('run with TK_E2E_PUBLIC_TLS=1 TK_E2E_CONSENT=deny|off');

let session;
before(async () => { session = await openPortal({ query: '?mode=bridge' }); });
after(async () => { await session?.browser.close(); });

test(`consent ${mode === 'deny' ? 'denied for this origin' : 'disabled'}: refused outright, no dialog`, async () => {
  const { page } = session;
  await page.waitForSelector('#bridge-connect:not([hidden])');
  const [popup] = await Promise.all([page.waitForEvent('popup'), page.click('#bridge-connect')]);
  await popup.waitForSelector('#status').catch(() => {}); // the client may close it at once
  await page.waitForSelector('#daemon-status[data-state="error"]');
  assert.match(await page.textContent('#daemon-status'), /未獲准|未獲授權|not allowed/i);
  const log = fs.readFileSync(process.env.TK_E2E_DAEMON_LOG, 'utf8');
  assert.match(log, /bridge attach refused origin=https:\/\/127\.0\.0\.1:8443\n/);
  assert.doesNotMatch(log, /consent offered/);
});
