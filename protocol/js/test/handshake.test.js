// The handshake checks of the contract (Host 403, Origin 403, subprotocol 400, connection
// limit 503, in this order) as the daemon stand-in applies them; the client tests that
// expect CONNECTION_FAILED rely on them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { startFakeDaemon } from '../test-support/fake-daemon.js';
import { NodeWebSocket } from '../test-support/ws-client.js';
import { connect } from '../tenderkey.js';

// A network test that hangs fails instead of holding up the run.
const LIMIT = { timeout: 20_000 };

const ORIGIN = 'https://web.pcc.gov.tw';

function handshake(port, headers) {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1', port, path: '/', agent: false,
      headers: {
        Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', ...headers,
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: 101, headers: res.headers });
    });
    req.on('response', (res) => {
      res.resume();
      resolve({ status: res.statusCode, headers: res.headers });
    });
    req.on('error', reject);
    req.end();
  });
}

test('Handshake_ChecksHostOriginSubprotocolLimit_InThisOrder', LIMIT, async (t) => {
  const daemon = await startFakeDaemon({ allowedOrigins: [ORIGIN], maxConnections: 1 });
  t.after(() => daemon.stop());
  const port = daemon.server.port;
  const good = { Host: `127.0.0.1:${port}`, Origin: ORIGIN, 'Sec-WebSocket-Protocol': 'tenderkey.v1' };
  const status = async (h) => (await handshake(port, { ...good, ...h })).status;

  assert.equal(await status({ Host: `evil.example:${port}`, Origin: 'https://evil.example', 'Sec-WebSocket-Protocol': 'x' }), 403);
  assert.equal(await status({ Host: `LOCALHOST:${port}`, Origin: 'https://evil.example', 'Sec-WebSocket-Protocol': 'x' }), 403);
  assert.equal(await status({ Host: `[::1]:${port}`, 'Sec-WebSocket-Protocol': 'x' }), 400, 'IPv6 loopback host passes, subprotocol refused');
  assert.equal(await status({ Origin: 'https://a.web.pcc.gov.tw' }), 403, 'exact entries do not match subdomains');
  assert.equal(await status({ 'Sec-WebSocket-Protocol': 'chat, tenderkey.v2' }), 400);
  const ok = await handshake(port, { ...good, 'Sec-WebSocket-Protocol': 'chat, tenderkey.v1' });
  assert.equal(ok.status, 101);
  assert.equal(ok.headers['sec-websocket-protocol'], 'tenderkey.v1');
  assert.equal(ok.headers['sec-websocket-accept'], 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=', 'RFC 6455 example key');

  while (daemon.connections.length) await new Promise((r) => setTimeout(r, 5));
  const first = await connect({ url: daemon.url, WebSocket: NodeWebSocket.withOrigin(ORIGIN), reconnect: false });
  t.after(() => first.close());
  assert.equal(await status({}), 503, 'over the connection limit');
  assert.equal(await status({ Origin: 'https://evil.example' }), 403, 'origin is checked before the limit');
});
