// system.info, readers.list and /health of a real tenderkeyd next to one virtual card.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PROTOCOL_VERSION, SUBPROTOCOL, TenderKeyError, connect } from '../tenderkey.js';
import { NodeWebSocket } from '../test-support/ws-client.js';
import {
  DAEMON_URL, LIMIT, ORIGIN, ORIGIN_LIMITED, READER, health, open,
} from './live-support.js';

test('SystemInfo_EchoesTheHandshakeOrigin', LIMIT, async (t) => {
  const tk = await open(t);
  assert.equal(tk.connected, true);
  const info = await tk.systemInfo();
  assert.equal(info.name, 'TenderKey');
  assert.equal(info.protocol, PROTOCOL_VERSION);
  assert.match(info.version, /^\d+\.\d+\.\d+$/);
  assert.deepEqual(info.backends, ['piv']);
  assert.equal(info.origin, ORIGIN);
});

test('SystemInfo_FromAnotherAllowedOrigin_EchoesThatOrigin', LIMIT, async (t) => {
  const tk = await open(t, { origin: ORIGIN_LIMITED });
  const info = await tk.systemInfo();
  assert.equal(info.origin, ORIGIN_LIMITED);
});

test('Connect_FromAnOriginNotAllowed_FailsWithConnectionFailed', LIMIT, async () => {
  await assert.rejects(
    connect({
      url: DAEMON_URL, WebSocket: NodeWebSocket.withOrigin('https://evil.example.com'), reconnect: false,
    }),
    (err) => err instanceof TenderKeyError && err.reason === 'CONNECTION_FAILED',
  );
});

test('ReadersList_ShowsTheVirtualReaderWithItsPivCard', LIMIT, async (t) => {
  const tk = await open(t);
  const { readers } = await tk.readersList();
  const reader = readers.find((r) => r.name === READER);
  assert.ok(reader, `reader ${READER} listed among ${readers.map((r) => r.name).join(', ')}`);
  assert.equal(reader.cardPresent, true);
  assert.equal(reader.pinpad, false);
  assert.equal(reader.card.type, 'piv');
  assert.match(reader.card.id, /^[A-Za-z0-9._-]{1,128}$/);
  assert.match(reader.card.atr, /^([0-9a-f]{2})+$/);
  assert.match(reader.card.label, /PIV Authentication/, 'the label is the CN of the 9A certificate');
  for (const other of readers.filter((r) => r !== reader)) {
    assert.equal(other.card === null, !other.cardPresent, `${other.name}: card null exactly when absent`);
  }
});

test('Health_ReportsOkAndTheReaderCount', LIMIT, async (t) => {
  const tk = await open(t);
  const { readers } = await tk.readersList();
  const port = Number(new URL(DAEMON_URL).port);
  const body = await health(port);
  assert.equal(body.status, 'ok');
  assert.equal(body.readers, readers.length);
  assert.equal(body.version, (await tk.systemInfo()).version);
});

test('Connect_NegotiatesTheSubprotocol', LIMIT, async (t) => {
  let seen = null;
  class Spy extends NodeWebSocket.withOrigin(ORIGIN) {
    constructor(url, protocols) {
      super(url, protocols);
      this.addEventListener('open', () => { seen = this.protocol; });
    }
  }
  const tk = await connect({ url: DAEMON_URL, WebSocket: Spy, reconnect: false });
  t.after(() => tk.close());
  assert.equal(seen, SUBPROTOCOL);
});
