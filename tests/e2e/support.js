// Shared steps of the browser tests: a headless Chromium on the demo portal, screenshots kept
// as artefacts, the virtual cards' control, and the portal flows as a user performs them.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const PORTAL = process.env.TK_E2E_PORTAL;
export const ARTIFACTS = process.env.TK_E2E_ARTIFACTS;
export const READER = [process.env.TK_READER_0, process.env.TK_READER_1];
export const PIN = '123456';
export const WRONG_PIN = '654321';
export const TIMEOUT = 30_000;

if (!PORTAL || !ARTIFACTS) throw new Error('run through tests/e2e/run-e2e.sh');

// The portal as a site on the public web (run-e2e.sh with TK_E2E_PUBLIC_TLS=1): https with a
// self-signed certificate, and Chromium told that its address is public, so that Local
// Network Access treats it as it treats every real portal.
export const PUBLIC_SITE = process.env.TK_E2E_PUBLIC_TLS === '1';

// A browser with one page on the portal, once the page has talked to tenderkeyd (or, in
// bridge mode, is ready for the user to connect). `query` is appended to the portal's URL;
// `args` are more Chromium arguments.
export async function openPortal({ query = '', args: extraArgs = [] } = {}) {
  const args = ['--no-sandbox', '--disable-dev-shm-usage', '--lang=zh-TW', ...extraArgs];
  if (PUBLIC_SITE) {
    const { host } = new URL(PORTAL);
    args.push(`--ip-address-space-overrides=${host}=public`, '--ignore-certificate-errors');
  }
  const browser = await chromium.launch({
    executablePath: process.env.TK_CHROMIUM ?? '/usr/bin/chromium',
    // Root in a container: no user namespaces for the sandbox; /dev/shm may be small.
    args,
  });
  const context = await browser.newContext({ locale: 'zh-TW', viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const consoleLines = [];
  page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
  await page.goto(`${PORTAL}/${query}`);
  await page.waitForSelector('body[data-ready="true"]');
  return { browser, context, page, consoleLines };
}

export async function screenshot(page, name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

export function cardCtl(index, command) {
  return new Promise((resolve, reject) => {
    execFile(process.env.TK_E2E_CARD_CTL, [String(index), ...command.split(' ')], (error, stdout, stderr) => {
      if (error) reject(new Error(`card-ctl ${index} ${command}: ${stdout}${stderr}`));
      else resolve(stdout.trim());
    });
  });
}

export function readerItem(page, index) {
  return page.locator(`#readers li[data-reader="${READER[index]}"]`);
}

// Selects the card in reader `index` as the page's card.
export async function selectCard(page, index) {
  await page.waitForSelector(`#readers li[data-reader="${READER[index]}"][data-present="true"]`);
  const value = await page.$eval('#card', (select, reader) => {
    const option = [...select.options].find((o) => o.textContent.startsWith(`${reader} — `));
    return option ? option.value : null;
  }, READER[index]);
  if (!value) throw new Error(`no card option for ${READER[index]}`);
  await page.selectOption('#card', value);
}

// Waits until a result paragraph leaves the busy state and returns {state, text}.
export async function resultOf(page, selector) {
  await page.waitForFunction((s) => {
    const state = document.querySelector(s).dataset.state;
    return state === 'ok' || state === 'error';
  }, selector, { timeout: 90_000 });
  return page.$eval(selector, (e) => ({ state: e.dataset.state, text: e.textContent }));
}

export async function registerCard(page, index, role, pin = PIN) {
  await selectCard(page, index);
  await page.selectOption('#reg-role', role);
  await page.fill('#reg-pin', pin);
  await page.evaluate(() => { delete document.querySelector('#reg-result').dataset.state; });
  await page.click('#reg-submit');
  return resultOf(page, '#reg-result');
}

export async function submitBid(page, index, fileName, content, pin = PIN) {
  await selectCard(page, index);
  await page.setInputFiles('#bid-file', { name: fileName, mimeType: 'text/plain', buffer: Buffer.from(content) });
  await page.fill('#bid-pin', pin);
  await page.evaluate(() => { delete document.querySelector('#bid-result').dataset.state; });
  await page.click('#bid-submit');
  return resultOf(page, '#bid-result');
}

export async function portalApi(method, url, body) {
  const response = await fetch(`${PORTAL}${url}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, body: await response.json() };
}
