// openBridge(): the portal side of the bridge window, against a stand-in window and popup.
// The popup opens synchronously (inside the caller's user gesture) under a unique name; only
// messages from that popup at the daemon's origin count; calls, results, errors and events
// travel as postMessage with the daemon's origin as targetOrigin.

import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { BRIDGE_HEARTBEAT_MS, openBridge, TenderKeyError, toBase64 } from '../tenderkey.js';

const BRIDGE_ORIGIN = 'http://127.0.0.1:61261';

class FakePopup {
  posted = [];
  closed = false;
  focused = 0;
  constructor(url, name, features) {
    Object.assign(this, { url, name, features });
  }
  postMessage(message, targetOrigin) {
    if (this.closed) throw new Error('closed');
    this.posted.push({ message, targetOrigin });
  }
  close() { this.closed = true; }
  focus() { this.focused += 1; }
}

class FakeWindow {
  listeners = new Set();
  opened = [];
  block = false;
  addEventListener(type, fn) { if (type === 'message') this.listeners.add(fn); }
  removeEventListener(type, fn) { if (type === 'message') this.listeners.delete(fn); }
  open(url, name, features) {
    if (this.block) return null;
    const popup = new FakePopup(url, name, features);
    this.opened.push(popup);
    return popup;
  }
  deliver(source, data, origin = BRIDGE_ORIGIN) {
    for (const listener of [...this.listeners]) listener({ source, origin, data });
  }
}

const tick = () => new Promise((r) => setImmediate(r));

async function attachedBridge(options = {}) {
  const win = new FakeWindow();
  const pending = openBridge({ window: win, ...options });
  const popup = win.opened[0];
  win.deliver(popup, { type: 'tenderkey-bridge-ready' });
  win.deliver(popup, { type: 'attached', origin: 'https://portal.example.gov.tw' });
  const client = await pending;
  return { win, popup, client };
}

test('OpenBridge_OpensAUniquelyNamedPopupSynchronously_AtTheBridgeUrl', async () => {
  const win = new FakeWindow();
  const first = openBridge({ window: win, connectTimeoutMs: 50 });
  // Opened before openBridge returned: still inside the user gesture.
  assert.equal(win.opened.length, 1);
  const second = openBridge({ window: win, url: 'http://localhost:7000/bridge', connectTimeoutMs: 50 });
  const [a, b] = win.opened;
  assert.equal(a.url, `${BRIDGE_ORIGIN}/bridge`);
  assert.equal(b.url, 'http://localhost:7000/bridge');
  assert.match(a.name, /^tenderkey-bridge-[0-9a-f]{24}$/);
  assert.notEqual(a.name, b.name);
  assert.match(a.features, /popup/);
  await assert.rejects(first, (e) => e.reason === 'CONNECTION_FAILED');
  await assert.rejects(second, (e) => e.reason === 'CONNECTION_FAILED');
  assert.ok(a.closed && b.closed, 'a bridge that never connected is closed');
});

test('OpenBridge_PopupBlocked_RejectsPopupBlocked', async () => {
  const win = new FakeWindow();
  win.block = true;
  await assert.rejects(openBridge({ window: win }), (e) => e instanceof TenderKeyError && e.reason === 'POPUP_BLOCKED' &&
    e.code === null && /pop-ups/.test(e.localizedMessage('en')));
});

test('OpenBridge_BindsWithOneHelloToTheDaemonOrigin_ResolvesWhenAttached', async () => {
  const win = new FakeWindow();
  const pending = openBridge({ window: win });
  const popup = win.opened[0];
  assert.deepEqual(popup.posted, [], 'nothing is posted before the bridge is ready');
  win.deliver(popup, { type: 'tenderkey-bridge-ready' });
  assert.deepEqual(popup.posted, [{ message: { type: 'hello' }, targetOrigin: BRIDGE_ORIGIN }]);
  win.deliver(popup, { type: 'attached', origin: 'https://portal.example.gov.tw' });
  const client = await pending;
  assert.equal(client.connected, true);
  assert.equal(client.window, popup);
  await client.close();
});

test('OpenBridge_IgnoresOtherWindowsAndOrigins', async () => {
  const win = new FakeWindow();
  const pending = openBridge({ window: win, connectTimeoutMs: 100 });
  const popup = win.opened[0];
  const stranger = new FakePopup();
  win.deliver(stranger, { type: 'tenderkey-bridge-ready' });
  win.deliver(stranger, { type: 'attached' });
  win.deliver(popup, { type: 'tenderkey-bridge-ready' }, 'https://evil.example');
  win.deliver(popup, { type: 'attached' }, 'https://evil.example');
  assert.deepEqual(popup.posted, []);
  await assert.rejects(pending, (e) => e.reason === 'CONNECTION_FAILED');
});

test('OpenBridge_DaemonRefusesTheOrigin_RejectsWithItsReasonAndClosesThePopup', async () => {
  const win = new FakeWindow();
  const pending = openBridge({ window: win });
  const popup = win.opened[0];
  win.deliver(popup, { type: 'tenderkey-bridge-ready' });
  win.deliver(popup, { type: 'failed', reason: 'ORIGIN_NOT_ALLOWED' });
  await assert.rejects(pending, (e) => e.reason === 'ORIGIN_NOT_ALLOWED' && e.code === -32053);
  assert.equal(popup.closed, true);
  assert.equal(win.listeners.size, 0);
});

test('OpenBridge_PopupClosedBeforeReady_RejectsBridgeClosedOutcomeNone', async () => {
  const win = new FakeWindow();
  const pending = openBridge({ window: win });
  win.opened[0].closed = true;
  await assert.rejects(pending, (e) => e.reason === 'BRIDGE_CLOSED' && e.data.outcome === 'none');
});

test('BridgeClient_CallsRelayedAsMessages_ResultsErrorsAndEventsComeBack', async () => {
  const { win, popup, client } = await attachedBridge();
  const events = [];
  client.on('card.inserted', (e) => events.push(['card.inserted', e.reader]));
  client.on('event', (e) => events.push(['event', e.type]));

  const digest = new Uint8Array(32).fill(7);
  const signing = client.sign({ certificateId: 'c:9c', digest, format: 'cms' });
  const call = popup.posted.at(-1);
  assert.equal(call.targetOrigin, BRIDGE_ORIGIN);
  assert.deepEqual(call.message, {
    type: 'call', id: call.message.id, method: 'sign', params: { certificateId: 'c:9c', digest: toBase64(digest), format: 'cms' },
  });
  win.deliver(popup, { type: 'result', id: call.message.id, result: { cms: 'AAAA' } });
  assert.deepEqual(await signing, { cms: 'AAAA' });

  const verifying = client.register({ certificateId: 'c:9a', pin: '000000', challenge: 'x'.repeat(44) });
  const id = popup.posted.at(-1).message.id;
  win.deliver(popup, { type: 'error', id, error: { code: -32032, message: 'Incorrect PIN', data: { reason: 'PIN_INCORRECT', retriesLeft: 2 } } });
  await assert.rejects(verifying, (e) => e.reason === 'PIN_INCORRECT' && e.retriesLeft === 2 && e.method === 'register');

  // An answer from elsewhere for a pending id is not taken.
  const info = client.systemInfo();
  const infoId = popup.posted.at(-1).message.id;
  win.deliver(new FakePopup(), { type: 'result', id: infoId, result: { forged: true } });
  win.deliver(popup, { type: 'result', id: infoId, result: { forged: true } }, 'https://evil.example');
  win.deliver(popup, { type: 'result', id: infoId, result: { name: 'TenderKey' } });
  assert.deepEqual(await info, { name: 'TenderKey' });

  win.deliver(popup, { type: 'event', params: { type: 'card.inserted', reader: 'R0' } });
  assert.deepEqual(events, [['card.inserted', 'R0'], ['event', 'card.inserted']]);

  win.deliver(popup, { type: 'attention' });
  assert.equal(popup.focused, 1);
  await client.close();
});

test('BridgeClient_BridgeWindowClosed_PendingFailBridgeClosed_DisconnectedWithoutReconnect', async () => {
  const { popup, client } = await attachedBridge();
  const disconnected = new Promise((resolve) => client.on('disconnected', resolve));
  const pending = client.readersList();
  popup.closed = true;
  await assert.rejects(pending, (e) => e.reason === 'BRIDGE_CLOSED' && e.data.outcome === 'unknown');
  const event = await disconnected;
  assert.equal(event.willReconnect, false);
  assert.equal(client.connected, false);
  await assert.rejects(client.systemInfo(), (e) => e.reason === 'CONNECTION_CLOSED' && e.data.outcome === 'none');
});

test('BridgeClient_SendsItsHeartbeat_AndCloseClosesTheWindow', async () => {
  mock.timers.enable({ apis: ['setInterval', 'setTimeout'] });
  try {
    const { popup, client } = await attachedBridge();
    const before = popup.posted.length;
    mock.timers.tick(BRIDGE_HEARTBEAT_MS * 3);
    const pings = popup.posted.slice(before).filter((p) => p.message.type === 'ping');
    assert.equal(pings.length, 3);
    assert.ok(pings.every((p) => p.targetOrigin === BRIDGE_ORIGIN));
    const pending = client.systemInfo();
    await client.close();
    await assert.rejects(pending, (e) => e.reason === 'CONNECTION_CLOSED');
    assert.deepEqual(popup.posted.at(-1).message, { type: 'close' });
    assert.equal(popup.closed, true);
    const after = popup.posted.length;
    mock.timers.tick(BRIDGE_HEARTBEAT_MS * 3);
    assert.equal(popup.posted.length, after, 'no heartbeat after close');
  } finally {
    mock.timers.reset();
  }
  await tick();
});
