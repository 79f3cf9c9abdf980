// tenderkey.js against a stand-in daemon over real WebSocket connections on loopback.
// Every request the client sends and every message the stand-in sends is checked
// against the schemas (daemon.violations).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { DaemonError, startFakeDaemon, SYSTEM_INFO } from '../test-support/fake-daemon.js';
import { NodeWebSocket } from '../test-support/ws-client.js';
import {
  connect, fromBase64, SUBPROTOCOL, TenderKeyError, toBase64,
} from '../tenderkey.js';

// A network test that hangs fails instead of holding up the run.
const LIMIT = { timeout: 20_000 };

const CARD = 'piv-8fcb6f7feb15d8db67820d81617a0930';
const CERT = `${CARD}:9c`;
const FAST = { initialDelayMs: 20, maxDelayMs: 200, factor: 2, jitter: 0 };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(predicate, what, timeoutMs = 3000) {
  const end = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

async function setup(t, { server = {}, client = {} } = {}) {
  const daemon = await startFakeDaemon(server);
  const tk = await connect({ url: daemon.url, WebSocket: NodeWebSocket, ...client });
  t.after(async () => {
    await tk.close();
    await daemon.stop();
    assert.deepEqual(daemon.violations, [], 'every message matched the schemas');
  });
  return { daemon, tk };
}

async function rejection(promise) {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  assert.fail('expected a rejection');
}

test('Connect_OffersTheSubprotocol_AndCallsSystemInfo', LIMIT, async (t) => {
  const { daemon, tk } = await setup(t);
  assert.deepEqual(await tk.systemInfo(), SYSTEM_INFO);
  assert.deepEqual(daemon.server.handshakes[0].offered, [SUBPROTOCOL]);
  assert.equal(tk.connected, true);
  const { msg } = daemon.requests[0];
  assert.deepEqual(Object.keys(msg).sort(), ['id', 'jsonrpc', 'method'], 'no params member for a method without params');
});

test('Requests_AreCorrelatedById_WhenAnsweredOutOfOrder', LIMIT, async (t) => {
  const { daemon, tk } = await setup(t);
  const held = [];
  daemon.handle('pin.status', (params, ctx) => {
    held.push({ ...ctx, params });
    return undefined; // answered below, in reverse order
  });
  const cards = ['card-a', 'card-b', 'card-c'];
  const calls = cards.map((cardId) => tk.pinStatus({ cardId }));
  await until(() => held.length === 3, 'three requests');
  assert.equal(new Set(held.map((h) => h.id)).size, 3, 'distinct ids');
  for (const h of [...held].reverse()) {
    const retriesLeft = cards.indexOf(h.params.cardId) + 1;
    daemon.sendResult(h.conn, h.id, 'pin.status', { retriesLeft, blocked: false, pinpad: false });
  }
  const results = await Promise.all(calls);
  assert.deepEqual(results.map((r) => r.retriesLeft), [1, 2, 3]);
});

test('PinRequired_CarriesTheTriesLeft', LIMIT, async (t) => {
  const { daemon, tk } = await setup(t);
  daemon.handle('sign', () => {
    throw new DaemonError('PIN_REQUIRED', { retriesLeft: 2 });
  });
  const err = await rejection(tk.sign({ certificateId: `${CARD}:9c`, data: 'AAEC', format: 'cms' }));
  assert.equal(err.reason, 'PIN_REQUIRED');
  assert.deepEqual(err.data, { reason: 'PIN_REQUIRED', retriesLeft: 2 });
  assert.equal(err.retriesLeft, 2);
});

test('ErrorResponse_BecomesTenderKeyError_WithReasonCodeDataAndMethod', LIMIT, async (t) => {
  const { daemon, tk } = await setup(t);
  daemon.handle('pin.verify', () => {
    throw new DaemonError('PIN_INCORRECT', { retriesLeft: 2 });
  });
  const err = await rejection(tk.pinVerify({ cardId: CARD, pin: '000000' }));
  assert.ok(err instanceof TenderKeyError);
  assert.ok(err instanceof Error);
  assert.equal(err.name, 'TenderKeyError');
  assert.equal(err.reason, 'PIN_INCORRECT');
  assert.equal(err.code, -32032);
  assert.deepEqual(err.data, { reason: 'PIN_INCORRECT', retriesLeft: 2 });
  assert.equal(err.retriesLeft, 2);
  assert.equal(err.method, 'pin.verify');
  assert.equal(err.message, 'Incorrect PIN', 'the daemon\'s log text');
  assert.equal(err.localizedMessage(), 'PIN 碼錯誤，尚可嘗試 2 次。');
});

test('ErrorResponse_WithoutReason_IsMappedByCode', () => {
  const e = TenderKeyError.fromResponse({ code: -32012, message: 'No card' }, 'pin.status');
  assert.equal(e.reason, 'NO_CARD');
  assert.equal(e.code, -32012);
  const odd = TenderKeyError.fromResponse({ code: -1, message: '' });
  assert.equal(odd.reason, 'INTERNAL');
  assert.equal(odd.code, -1);
  assert.equal(TenderKeyError.fromResponse(null).reason, 'INTERNAL');
});

test('EveryTypedMethod_SendsItsMethodWithSchemaValidParams', LIMIT, async (t) => {
  const { daemon, tk } = await setup(t);
  const calls = [
    ['readers.list', () => tk.readersList(), { readers: [] }],
    ['certificates.list', () => tk.certificatesList(), { certificates: [], caCertificates: [] }],
    ['certificates.list', () => tk.certificatesList({ reader: 'R' }), { certificates: [], caCertificates: [] }],
    ['pin.status', () => tk.pinStatus({ cardId: CARD }), { retriesLeft: 3, blocked: false, pinpad: true }],
    ['pin.verify', () => tk.pinVerify({ cardId: CARD, pin: '123456', lastAttempt: true }), { verified: true }],
    ['pin.change', () => tk.pinChange({ cardId: CARD, pin: '123456', newPin: '654321' }), { changed: true }],
    ['pin.unblock', () => tk.pinUnblock({ cardId: CARD, puk: '12345678', newPin: '654321' }), { unblocked: true }],
    ['puk.change', () => tk.pukChange({ cardId: CARD }), { changed: true }],
    ['sign', () => tk.sign({ certificateId: CERT, pin: '123456', data: 'AAAA', format: 'cms' }), { cms: 'MIIB', certificate: 'MIIB' }],
    ['decrypt', () => tk.decrypt({ certificateId: CERT, cms: 'MIIB' }), { data: 'AAAA' }],
    ['register', () => tk.register({ certificateId: CERT, challenge: 'n'.repeat(44) }), {
      unverifiedCertificate: 'MIIB', algorithm: 'RS256', signature: 'AAAA', format: 'web-eid:1.0',
      appVersion: 'urn:tenderkey:0.1.0', certificates: ['MIIB'], chain: [],
    }],
    ['events.subscribe', () => tk.subscribe(), { subscribed: true }],
  ];
  for (const [method, call, result] of calls) {
    daemon.handle(method, () => result);
    const before = daemon.requests.length;
    assert.deepEqual(await call(), result, method);
    assert.equal(daemon.requests[before].msg.method, method);
  }
  assert.equal(tk.subscribed, true);
  assert.deepEqual(await tk.call('system.info'), SYSTEM_INFO, 'generic call');
});

test('BinaryParams_AreSentAsBase64', LIMIT, async (t) => {
  const { daemon, tk } = await setup(t);
  daemon.handle('sign', () => ({ signature: 'AAAA', certificate: 'MIIB', algorithm: 'ECDSA', hash: 'SHA-256' }));
  const digest = new Uint8Array(32).map((_, i) => i * 7);
  await tk.sign({ certificateId: CERT, digest });
  await tk.sign({ certificateId: CERT, data: digest.buffer, format: 'cms' }).catch(() => {});
  const [first, second] = daemon.requests.filter((r) => r.msg.method === 'sign');
  assert.equal(first.msg.params.digest, Buffer.from(digest).toString('base64'));
  assert.equal(second.msg.params.data, Buffer.from(digest).toString('base64'));
  assert.ok(ArrayBuffer.isView(digest), 'the caller\'s params are not modified');
});

test('Base64Conversion_RoundTripsEveryLength_AndMatchesNode', () => {
  for (let n = 0; n < 300; n++) {
    const bytes = new Uint8Array(n).map(() => Math.floor(Math.random() * 256));
    const b64 = toBase64(bytes);
    assert.equal(b64, Buffer.from(bytes).toString('base64'));
    assert.deepEqual(fromBase64(b64), bytes);
  }
  const big = new Uint8Array(200_000).fill(0xab);
  assert.equal(toBase64(big), Buffer.from(big).toString('base64'), 'large input');
  assert.equal(toBase64(new Uint16Array([0x0102]).buffer), 'AgE=');
  assert.equal(toBase64(new DataView(new Uint8Array([1, 2, 3, 4]).buffer, 1, 2)), 'AgM=');
  for (const bad of ['A', 'AA', 'AA=', 'AA AA', 'ab-_', 'AAAA\n', 42]) assert.throws(() => fromBase64(bad), TypeError);
  assert.throws(() => toBase64('text'), TypeError);
});

test('Request_WithoutAnswer_FailsAfterItsTimeout_AndALateAnswerIsIgnored', LIMIT, async (t) => {
  const { daemon, tk } = await setup(t, { client: { timeoutMs: 80 } });
  const held = [];
  daemon.handle('pin.status', (params, ctx) => {
    held.push(ctx);
    return undefined;
  });
  const errors = [];
  tk.on('error', (e) => errors.push(e));
  const started = Date.now();
  const err = await rejection(tk.pinStatus({ cardId: CARD }));
  const elapsed = Date.now() - started;
  assert.equal(err.reason, 'RESPONSE_TIMEOUT');
  assert.equal(err.code, null);
  assert.deepEqual(err.data, { reason: 'RESPONSE_TIMEOUT', outcome: 'unknown' });
  assert.ok(elapsed >= 75 && elapsed < 1000, `timed out after ${elapsed} ms`);
  const quick = await rejection(tk.pinStatus({ cardId: CARD }, { timeoutMs: 10 }));
  assert.equal(quick.reason, 'RESPONSE_TIMEOUT', 'per-call timeout');
  daemon.sendResult(held[0].conn, held[0].id, 'pin.status', { retriesLeft: 3, blocked: false, pinpad: false });
  assert.deepEqual(await tk.systemInfo(), SYSTEM_INFO, 'the connection still works');
  assert.deepEqual(errors, [], 'a late answer is not an error');
});

test('Request_WhileDisconnected_FailsAtOnce_WithOutcomeNone', LIMIT, async (t) => {
  const { daemon, tk } = await setup(t, { client: { reconnect: false } });
  daemon.closeAll(1001);
  await until(() => !tk.connected, 'disconnect');
  const err = await rejection(tk.systemInfo());
  assert.equal(err.reason, 'CONNECTION_CLOSED');
  assert.equal(err.data.outcome, 'none');
  assert.equal(err.method, 'system.info');
});

test('Request_InFlightWhenTheConnectionDrops_FailsWithOutcomeUnknown_AndIsNotResent', LIMIT, async (t) => {
  const { daemon, tk } = await setup(t, { client: { reconnect: FAST } });
  daemon.handle('pin.change', () => undefined);
  const pending = tk.pinChange({ cardId: CARD, pin: '123456', newPin: '654321' });
  await daemon.nextRequest('pin.change');
  daemon.terminateAll();
  const err = await rejection(pending);
  assert.equal(err.reason, 'CONNECTION_CLOSED');
  assert.deepEqual(err.data, { reason: 'CONNECTION_CLOSED', outcome: 'unknown', closeCode: 1006 });
  await until(() => daemon.server.handshakes.length === 2 && tk.connected, 'reconnect');
  await tk.systemInfo();
  assert.equal(daemon.requests.filter((r) => r.msg.method === 'pin.change').length, 1, 'never re-sent');
});

test('Reconnect_AfterADrop_SubscribesAgain_AndDeliversLaterEvents', LIMIT, async (t) => {
  const { daemon, tk } = await setup(t, { client: { reconnect: FAST } });
  const seen = [];
  const lifecycle = [];
  tk.on('card.inserted', (e) => seen.push(e));
  tk.on('disconnected', (e) => lifecycle.push(['disconnected', e]));
  tk.on('connected', (e) => lifecycle.push(['connected', e]));
  await tk.subscribe();
  daemon.closeAll(1001, 'restart');
  await until(() => lifecycle.some(([k]) => k === 'connected'), 'reconnected');
  assert.deepEqual(lifecycle, [
    ['disconnected', { code: 1001, reason: 'restart', willReconnect: true }],
    ['connected', { reconnected: true }],
  ]);
  assert.equal(daemon.requests.filter((r) => r.msg.method === 'events.subscribe').length, 2, 'subscribed again');
  assert.equal(daemon.connections[0].subscribed, true);
  const card = { id: CARD, type: 'piv', atr: '3b8f', label: '範例' };
  daemon.emit({ type: 'card.inserted', reader: 'R', card });
  await until(() => seen.length === 1, 'event after reconnect');
  assert.deepEqual(seen[0], { type: 'card.inserted', reader: 'R', card });
});

test('Reconnect_WithoutPriorSubscription_DoesNotSubscribe', LIMIT, async (t) => {
  const { daemon, tk } = await setup(t, { client: { reconnect: FAST } });
  let connected = 0;
  tk.on('connected', () => connected++);
  daemon.terminateAll();
  await until(() => connected === 1, 'reconnected');
  assert.equal(daemon.requests.filter((r) => r.msg.method === 'events.subscribe').length, 0);
});

test('Reconnect_BacksOffExponentially_WhileTheDaemonRefuses', LIMIT, async (t) => {
  let refusing = false;
  const { daemon, tk } = await setup(t, {
    server: { refuse: () => (refusing ? 503 : 0) },
    client: { reconnect: { initialDelayMs: 40, maxDelayMs: 160, factor: 2, jitter: 0 } },
  });
  let connected = false;
  tk.on('connected', () => { connected = true; });
  refusing = true;
  const droppedAt = Date.now();
  daemon.terminateAll();
  await until(() => daemon.server.handshakes.length >= 6, 'five refused attempts', 5000);
  refusing = false;
  await until(() => connected, 'reconnected', 5000);
  const times = daemon.server.handshakes.slice(1, 6).map((h) => h.time);
  const gaps = [times[0] - droppedAt, ...times.slice(1).map((x, i) => x - times[i])];
  const expected = [40, 80, 160, 160, 160];
  gaps.forEach((gap, i) => {
    assert.ok(gap >= expected[i] - 5 && gap < expected[i] + 400, `gap ${i} was ${gap} ms, expected about ${expected[i]}`);
  });
});

test('Reconnect_GivesUpAfterMaxAttempts_AndReportsIt', LIMIT, async (t) => {
  const { daemon, tk } = await setup(t, { client: { reconnect: { ...FAST, maxAttempts: 2 } } });
  const errors = [];
  tk.on('error', (e) => errors.push(e));
  daemon.server.options.refuse = () => 503;
  daemon.terminateAll();
  await until(() => errors.length === 1, 'giving up');
  assert.equal(errors[0].reason, 'CONNECTION_FAILED');
  assert.equal(daemon.server.handshakes.length, 3, 'the first connection and two attempts');
});

test('Reconnect_NotAfterPolicyClose1008_NorAfterClose_NorWhenDisabled', LIMIT, async (t) => {
  const a = await setup(t, { client: { reconnect: FAST } });
  const events = [];
  a.tk.on('disconnected', (e) => events.push(e));
  a.daemon.closeAll(1008, 'origin removed');
  await until(() => events.length === 1, 'disconnect');
  assert.equal(events[0].willReconnect, false);

  const b = await setup(t, { client: { reconnect: false } });
  b.daemon.closeAll(1001);
  await until(() => !b.tk.connected, 'disconnect');

  const c = await setup(t, { client: { reconnect: FAST } });
  const closed = [];
  c.tk.on('disconnected', (e) => closed.push(e));
  await c.tk.close();
  assert.equal(closed.length, 1);
  assert.equal(closed[0].willReconnect, false);

  await sleep(150);
  assert.equal(a.daemon.server.handshakes.length, 1);
  assert.equal(b.daemon.server.handshakes.length, 1);
  assert.equal(c.daemon.server.handshakes.length, 1);
});

test('Close_RejectsPendingRequests_AndResolves', LIMIT, async (t) => {
  const { daemon, tk } = await setup(t);
  daemon.handle('sign', () => undefined);
  const pending = rejection(tk.sign({ certificateId: CERT, digest: new Uint8Array(32) }));
  await daemon.nextRequest('sign');
  await tk.close();
  const err = await pending;
  assert.equal(err.reason, 'CONNECTION_CLOSED');
  assert.equal(err.data.outcome, 'unknown');
  assert.equal(tk.connected, false);
  assert.equal((await rejection(tk.systemInfo())).data.outcome, 'none');
});

test('Events_AreDispatchedByType_AndToEventListeners', LIMIT, async (t) => {
  const { daemon, tk } = await setup(t);
  const byType = [];
  const all = [];
  const removed = [];
  tk.on('reader.added', (e) => byType.push(e));
  tk.on('event', (e) => all.push(e.type));
  const stop = tk.on('card.removed', (e) => removed.push(e));
  await tk.subscribe();
  daemon.emit({ type: 'reader.added', reader: 'R' });
  daemon.emit({ type: 'card.removed', reader: 'R', cardId: null });
  await until(() => all.length === 2, 'two events');
  stop();
  daemon.emit({ type: 'card.removed', reader: 'R', cardId: CARD });
  daemon.emit({ type: 'reader.removed', reader: 'R' });
  await until(() => all.length === 4, 'four events');
  assert.deepEqual(byType, [{ type: 'reader.added', reader: 'R' }]);
  assert.deepEqual(all, ['reader.added', 'card.removed', 'card.removed', 'reader.removed']);
  assert.deepEqual(removed, [{ type: 'card.removed', reader: 'R', cardId: null }], 'no event after unsubscribing the listener');
});

test('Events_AListenerThatThrows_DoesNotStopTheOthers_AndIsReported', LIMIT, async (t) => {
  const { daemon, tk } = await setup(t);
  const got = [];
  const errors = [];
  const boom = new Error('listener failed');
  tk.on('reader.added', () => { throw boom; });
  tk.on('reader.added', (e) => got.push(e.reader));
  tk.on('error', (e) => errors.push(e));
  await tk.subscribe();
  daemon.emit({ type: 'reader.added', reader: 'R1' });
  await until(() => got.length === 1, 'second listener');
  assert.deepEqual(errors, [boom]);
  assert.deepEqual(await tk.systemInfo(), SYSTEM_INFO);
});

test('UnmatchedMessages_AreReportedAsErrors', LIMIT, async (t) => {
  const { daemon, tk } = await setup(t);
  const errors = [];
  tk.on('error', (e) => errors.push(e));
  const conn = daemon.connections[0];
  conn.send('{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error","data":{"reason":"PARSE_ERROR"}}}');
  conn.send('not json');
  await until(() => errors.length === 2, 'two errors');
  assert.equal(errors[0].reason, 'PARSE_ERROR');
  assert.match(errors[1].message, /unreadable/);
});

test('Connect_Fails_WhenNothingListens', LIMIT, async () => {
  const probe = createServer();
  await new Promise((r) => probe.listen(0, '127.0.0.1', r));
  const { port } = probe.address();
  await new Promise((r) => probe.close(r));
  const err = await rejection(connect({ url: `ws://127.0.0.1:${port}/`, WebSocket: NodeWebSocket }));
  assert.ok(err instanceof TenderKeyError);
  assert.equal(err.reason, 'CONNECTION_FAILED');
  assert.equal(err.code, null);
});

test('Connect_Fails_WhenTheHandshakeIsRefused', LIMIT, async (t) => {
  const daemon = await startFakeDaemon({ allowedOrigins: ['https://web.pcc.gov.tw'] });
  t.after(() => daemon.stop());
  const denied = await rejection(connect({ url: daemon.url, WebSocket: NodeWebSocket }));
  assert.equal(denied.reason, 'CONNECTION_FAILED');
  const allowed = await connect({ url: daemon.url, WebSocket: NodeWebSocket.withOrigin('https://web.pcc.gov.tw') });
  await allowed.close();
});

test('Connect_Fails_WhenTheServerSelectsNoSubprotocol', LIMIT, async (t) => {
  const daemon = await startFakeDaemon({ selectProtocol: () => null });
  t.after(() => daemon.stop());
  const err = await rejection(connect({ url: daemon.url, WebSocket: NodeWebSocket, reconnect: FAST }));
  assert.equal(err.reason, 'CONNECTION_FAILED');
  assert.match(err.cause.message, /tenderkey\.v1/);
  await sleep(100);
  assert.equal(daemon.server.handshakes.length, 1, 'a failed first connection is not retried');
});

test('Connect_Fails_WhenTheHandshakeHangs', LIMIT, async (t) => {
  const sockets = [];
  const silent = createServer((socket) => sockets.push(socket.resume()));
  await new Promise((r) => silent.listen(0, '127.0.0.1', r));
  t.after(() => {
    for (const s of sockets) s.destroy();
    return new Promise((r) => silent.close(r));
  });
  const started = Date.now();
  const err = await rejection(connect({
    url: `ws://127.0.0.1:${silent.address().port}/`, WebSocket: NodeWebSocket, connectTimeoutMs: 100,
  }));
  assert.equal(err.reason, 'CONNECTION_FAILED');
  assert.ok(Date.now() - started < 2000);
});

test('Connect_WithoutAWebSocketImplementation_IsATypeError', LIMIT, async () => {
  const saved = globalThis.WebSocket;
  globalThis.WebSocket = undefined;
  try {
    await assert.rejects(connect(), TypeError);
  } finally {
    globalThis.WebSocket = saved;
  }
});
