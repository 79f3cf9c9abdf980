// A stand-in for the daemon's WebSocket side, for client tests: JSON-RPC over the test
// server, scripted method handlers, event pushes, and a schema check of every request
// it receives and every response and event it sends (collected in `violations`).

import { TestWebSocketServer } from './ws-server.js';
import { describeErrors, loadProtocol } from './protocol-schemas.js';

let protocol;
const schemas = () => (protocol ??= loadProtocol());

export class DaemonError extends Error {
  constructor(reason, data = {}, message = undefined) {
    super(message ?? schemas().errors.reasons[reason]?.message ?? reason);
    this.reason = reason;
    this.data = data;
  }
}

export const SYSTEM_INFO = Object.freeze({
  name: 'TenderKey', version: '0.1.0', protocol: 1, backends: ['piv'], origin: 'https://portal.example.gov.tw',
});

export class FakeDaemon {
  #waiters = [];

  constructor(serverOptions = {}) {
    this.server = new TestWebSocketServer(serverOptions);
    this.requests = []; // { conn, msg }
    this.violations = [];
    this.handlers = new Map([
      ['system.info', () => SYSTEM_INFO],
      ['events.subscribe', (params, { conn }) => {
        conn.subscribed = true;
        return { subscribed: true };
      }],
    ]);
    this.server.onconnection = (conn) => {
      conn.subscribed = false;
      conn.onmessage = (text) => this.#onMessage(conn, text);
    };
  }

  async start() {
    await this.server.listen();
    return this;
  }

  get url() {
    return this.server.url;
  }

  get connections() {
    return [...this.server.connections];
  }

  handle(method, fn) {
    this.handlers.set(method, fn);
    return this;
  }

  // Resolves with the next request (or one already received and not yet taken) whose
  // method matches.
  nextRequest(method) {
    const i = this.requests.findIndex((r) => !r.taken && r.msg.method === method);
    if (i >= 0) {
      this.requests[i].taken = true;
      return Promise.resolve(this.requests[i]);
    }
    return new Promise((resolve) => this.#waiters.push({ method, resolve }));
  }

  #check(kind, run) {
    if (!run.valid) this.violations.push(`${kind}: ${describeErrors(run)}`);
  }

  #send(conn, msg, check) {
    this.#check(check.kind, check.run(msg));
    conn.send(JSON.stringify(msg));
  }

  async #onMessage(conn, text) {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      this.violations.push(`request: not JSON: ${text.slice(0, 80)}`);
      return;
    }
    this.#check('request', schemas().request(msg));
    const entry = { conn, msg, taken: false };
    this.requests.push(entry);
    const w = this.#waiters.findIndex((x) => x.method === msg.method);
    if (w >= 0) {
      entry.taken = true;
      this.#waiters.splice(w, 1)[0].resolve(entry);
    }
    const handler = this.handlers.get(msg.method);
    try {
      if (!handler) throw new DaemonError('METHOD_NOT_FOUND');
      const result = await handler(msg.params ?? {}, { conn, id: msg.id, msg });
      if (result === undefined) return; // the handler answered by itself (or never will)
      this.#send(conn, { jsonrpc: '2.0', id: msg.id, result }, {
        kind: `${msg.method} result`, run: (m) => schemas().success(msg.method, m),
      });
    } catch (err) {
      if (!(err instanceof DaemonError)) throw err;
      this.sendError(conn, msg.id, err);
    }
  }

  sendError(conn, id, err) {
    const { code } = schemas().errors.reasons[err.reason] ?? { code: -32603 };
    this.#send(conn, {
      jsonrpc: '2.0', id, error: { code, message: err.message, data: { reason: err.reason, ...err.data } },
    }, { kind: `${err.reason} error`, run: (m) => schemas().failure(m) });
  }

  sendResult(conn, id, method, result) {
    this.#send(conn, { jsonrpc: '2.0', id, result }, {
      kind: `${method} result`, run: (m) => schemas().success(method, m),
    });
  }

  // Pushes an event to every subscribed connection.
  emit(params) {
    const msg = { jsonrpc: '2.0', method: 'event', params };
    this.#check(`${params.type} event`, schemas().notification(msg));
    for (const conn of this.server.connections) if (conn.subscribed) conn.send(JSON.stringify(msg));
  }

  closeAll(code = 1001, reason = '') {
    for (const conn of this.server.connections) conn.close(code, reason);
  }

  terminateAll() {
    for (const conn of this.server.connections) conn.terminate();
  }

  async stop() {
    await this.server.close();
  }
}

export async function startFakeDaemon(serverOptions) {
  return new FakeDaemon(serverOptions).start();
}
