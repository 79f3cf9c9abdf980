// Shared set-up of the live tests: tenderkey.js against a running tenderkeyd next to the
// virtual PIV card of tests/harness/with-cards. tests/js/run-live.sh starts the daemon and
// passes its address and allow-list in the environment:
//
//   TK_LIVE_URL             ws://127.0.0.1:<port>/ of the running daemon
//   TK_LIVE_ORIGIN          an origin allowed read,sign,decrypt,register,manage
//   TK_LIVE_ORIGIN_LIMITED  an origin allowed read,sign only
//   TK_LIVE_DAEMON          the tenderkeyd binary (the reconnect test runs its own)
//   TK_READER_0, TK_VCARD_CONTROL_0, TK_VCARD_CA_0   from the harness
//
// Every message the client sends or receives is checked against protocol/schema/.

import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connect } from '../tenderkey.js';
import { describeErrors, loadProtocol } from '../test-support/protocol-schemas.js';
import { NodeWebSocket } from '../test-support/ws-client.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CARD_CTL = join(REPO, 'tests', 'harness', 'card-ctl');

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run these tests with tests/js/run-live.sh inside `
      + 'tests/harness/with-cards (ctest -R protocol.js_live)');
  }
  return value;
}

export const DAEMON_URL = required('TK_LIVE_URL');
export const ORIGIN = required('TK_LIVE_ORIGIN');
export const ORIGIN_LIMITED = required('TK_LIVE_ORIGIN_LIMITED');
export const DAEMON = required('TK_LIVE_DAEMON');
export const READER = required('TK_READER_0');
required('TK_VCARD_CONTROL_0');
export const CA_PEM = readFileSync(required('TK_VCARD_CA_0'));

export const PIN = '123456';
export const WRONG_PIN = '654321';

// A card operation on the virtual card takes well under a second; a hang fails the test.
export const LIMIT = { timeout: 60_000 };

const protocol = loadProtocol();

// A browser-like WebSocket (the interface tenderkey.js uses) that sends `origin` in its
// handshake and records schema violations of the traffic into `violations`.
function checkedWebSocket(origin, violations) {
  const methods = new Map(); // request id -> method
  const note = (what, run, text) => {
    if (!run.valid) violations.push(`${what}: ${describeErrors(run)} in ${text}`);
  };
  return class extends NodeWebSocket.withOrigin(origin) {
    constructor(url, protocols) {
      super(url, protocols);
      this.addEventListener('message', (ev) => {
        let msg;
        try {
          msg = JSON.parse(ev.data);
        } catch {
          violations.push(`not JSON: ${ev.data}`);
          return;
        }
        if (msg.method === 'event') {
          note('notification', protocol.notification(msg), ev.data);
          note('event', protocol.event(msg.params), ev.data);
        } else if ('error' in msg) {
          note('error', protocol.failure(msg), ev.data);
        } else if (methods.has(msg.id)) {
          note(methods.get(msg.id), protocol.success(methods.get(msg.id), msg), ev.data);
        } else {
          violations.push(`answer to an unknown id: ${ev.data}`);
        }
      });
    }

    send(text) {
      const msg = JSON.parse(text);
      note('request', protocol.request(msg), text);
      methods.set(msg.id, msg.method);
      super.send(text);
    }
  };
}

// Connects the real client; closes it and checks the traffic when the test ends.
export async function open(t, { origin = ORIGIN, url = DAEMON_URL, reconnect = false } = {}) {
  const violations = [];
  const tk = await connect({ url, WebSocket: checkedWebSocket(origin, violations), reconnect });
  t.after(async () => {
    await tk.close();
    assert.deepEqual(violations, [], 'every message matched protocol/schema/');
  });
  return tk;
}

// The next event of `type` (matching `filter`) the client emits.
export function nextEvent(tk, type, { filter = () => true, timeoutMs = 15_000 } = {}) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${type} event within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = tk.on(type, (payload) => {
      if (!filter(payload)) return;
      clearTimeout(timer);
      off();
      resolve(payload);
    });
  });
}

export async function cardCtl(index, command) {
  const { stdout } = await promisify(execFile)(CARD_CTL, [String(index), command]);
  return stdout.trim();
}

// GET /health of a daemon; resolves with the parsed body, rejects when nothing listens.
export function health(port) {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path: '/health', timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => { body += chunk; });
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`/health answered ${res.statusCode}`));
        else resolve(JSON.parse(body));
      });
    });
    req.on('timeout', () => req.destroy(new Error('/health timed out')));
    req.on('error', reject);
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitHealthy(port, child, timeoutMs = 20_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`tenderkeyd exited with ${child.exitCode} at start`);
    try {
      return await health(port);
    } catch (err) {
      if (Date.now() > end) throw new Error(`tenderkeyd on port ${port} never became healthy`, { cause: err });
      await sleep(50);
    }
  }
}

// Starts one more tenderkeyd on `port`, allowed for ORIGIN; resolves once /health answers.
// stop() sends SIGTERM and resolves with the exit code.
export async function startDaemon(port) {
  const child = spawn(DAEMON, ['--dev', '--port', String(port), '--log-level', 'warn',
    '--allow-origin', `${ORIGIN}=read,sign,decrypt,register,manage`], { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  await waitHealthy(port, child);
  return {
    url: `ws://127.0.0.1:${port}/`,
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
