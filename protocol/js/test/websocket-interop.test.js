// The client with the platform's own WebSocket implementation (Node's built-in one,
// the same API browsers have) instead of the test client: a check that tenderkey.js
// relies only on the standard WebSocket interface, and that the test server speaks
// RFC 6455 as a real client expects.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DaemonError, startFakeDaemon, SYSTEM_INFO } from '../test-support/fake-daemon.js';

// A network test that hangs fails instead of holding up the run.
const LIMIT = { timeout: 20_000 };

const SCENARIO = fileURLToPath(new URL('../test-support/interop-scenario.js', import.meta.url));
// Node 22+ has a global WebSocket; Node 20 has the same implementation behind a flag.
const FLAGS = typeof globalThis.WebSocket === 'function' ? [] : ['--experimental-websocket', '--no-warnings'];

test('BuiltInWebSocket_ConnectsCallsReceivesEventsAndReconnects', LIMIT, async (t) => {
  const daemon = await startFakeDaemon();
  t.after(() => daemon.stop());
  const card = { id: 'piv-0011', type: 'piv', atr: '3b8f8001', label: '範例工程股份有限公司' };
  daemon.handle('pin.verify', () => {
    throw new DaemonError('PIN_INCORRECT', { retriesLeft: 2 });
  });
  daemon.handle('events.subscribe', (params, { conn }) => {
    const first = !daemon.subscribedOnce;
    daemon.subscribedOnce = true;
    conn.subscribed = true;
    if (first) setTimeout(() => daemon.emit({ type: 'card.inserted', reader: 'Reader 00', card }), 20);
    return { subscribed: true };
  });
  daemon.handle('pin.status', (params, { conn }) => {
    conn.close(1001, 'restart');
    return undefined;
  });

  const stdout = await new Promise((resolve, reject) => {
    execFile(process.execPath, [...FLAGS, SCENARIO, daemon.url], { timeout: 20_000 }, (err, out, errOut) => {
      if (err) reject(new Error(`${err.message}\n${errOut}`));
      else resolve(out);
    });
  });
  const seen = JSON.parse(stdout);
  assert.equal(seen.hasGlobalWebSocket, true);
  assert.deepEqual(seen.info, SYSTEM_INFO);
  assert.deepEqual(seen.error, { reason: 'PIN_INCORRECT', code: -32032, retriesLeft: 2, zh: 'PIN 碼錯誤，尚可嘗試 2 次。' });
  assert.deepEqual(seen.event, { type: 'card.inserted', reader: 'Reader 00', card });
  assert.deepEqual(seen.dropped, { reason: 'CONNECTION_CLOSED', outcome: 'unknown', closeCode: 1001 });
  assert.deepEqual(seen.reconnected, { reconnected: true });
  assert.equal(seen.subscribedAgain, true);
  assert.deepEqual(seen.infoAfterReconnect, SYSTEM_INFO);
  assert.equal(daemon.requests.filter((r) => r.msg.method === 'events.subscribe').length, 2);
  assert.deepEqual(daemon.server.handshakes.map((h) => h.offered), [['tenderkey.v1'], ['tenderkey.v1']]);
  assert.deepEqual(daemon.violations, []);
});
