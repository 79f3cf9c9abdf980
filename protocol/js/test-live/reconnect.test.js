// The client across a daemon restart: it reconnects by itself, subscribes again, and
// events flow on the new connection. Runs its own tenderkeyd on another port, so the
// daemon the other tests use is not disturbed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TenderKeyError } from '../tenderkey.js';
import {
  DAEMON_URL, LIMIT, READER, cardCtl, nextEvent, open, startDaemon,
} from './live-support.js';

const FAST = {
  initialDelayMs: 100, maxDelayMs: 500, factor: 2, jitter: 0, maxAttempts: 100,
};

test('DaemonRestart_ClientReconnectsResubscribesAndReceivesEvents', LIMIT, async (t) => {
  const port = Number(new URL(DAEMON_URL).port) + 1;
  let daemon = await startDaemon(port);
  t.after(() => daemon.stop());

  const tk = await open(t, { url: daemon.url, reconnect: FAST });
  await tk.subscribe();
  const before = await tk.systemInfo();

  const disconnected = nextEvent(tk, 'disconnected');
  assert.equal(await daemon.stop(), 0, 'tenderkeyd exits 0 on SIGTERM');
  const d = await disconnected;
  assert.equal(d.code, 1001, 'the daemon going away closes with 1001');
  assert.equal(d.willReconnect, true);
  assert.equal(tk.connected, false);
  await assert.rejects(tk.systemInfo(),
    (err) => err instanceof TenderKeyError && err.reason === 'CONNECTION_CLOSED');

  const connected = nextEvent(tk, 'connected', { timeoutMs: 30_000 });
  daemon = await startDaemon(port);
  assert.deepEqual(await connected, { reconnected: true });
  assert.equal(tk.connected, true);
  assert.equal(tk.subscribed, true);
  assert.deepEqual(await tk.systemInfo(), before);

  // The daemon the other test files use sees the same card: the test ends only once that
  // daemon has the card back too, so the next file does not find the reader empty.
  const shared = await open(t);
  await shared.subscribe();
  let removedByTest = false;
  t.after(async () => {
    if (removedByTest) await cardCtl(0, 'insert');
  });
  const onReader = { filter: (e) => e.reader === READER };
  const removed = nextEvent(tk, 'card.removed', onReader);
  await cardCtl(0, 'remove');
  removedByTest = true;
  assert.equal((await removed).reader, READER, 'the subscription was renewed on the new connection');
  const inserted = nextEvent(tk, 'card.inserted', onReader);
  const insertedShared = nextEvent(shared, 'card.inserted', onReader);
  await cardCtl(0, 'insert');
  removedByTest = false;
  await inserted;
  await insertedShared;
});
