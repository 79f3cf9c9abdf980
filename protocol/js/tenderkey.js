// TenderKey WebSocket API v1 client. An ES module without dependencies for browsers
// and for Node 20+ (with a WebSocket implementation, global or passed to connect()).
// The protocol is described in protocol/README.md.

import { messageFor } from './messages.js';

export { messageFor, resolveLanguage, MESSAGES, LANGUAGES, DEFAULT_LANGUAGE } from './messages.js';

export const PROTOCOL_VERSION = 1;
export const SUBPROTOCOL = 'tenderkey.v1';
export const DEFAULT_URL = 'ws://127.0.0.1:61261/';
export const DEFAULT_TIMEOUT_MS = 130_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_RECONNECT = Object.freeze({
  initialDelayMs: 500, maxDelayMs: 15_000, factor: 2, jitter: 0.2, maxAttempts: Infinity,
});

// reason -> JSON-RPC code; the same table as protocol/errors.json (a test keeps them equal).
export const ERROR_CODES = Object.freeze({
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL: -32603,
  SERVICE_UNAVAILABLE: -32010,
  NO_READER: -32011,
  NO_CARD: -32012,
  CARD_REMOVED: -32013,
  UNSUPPORTED_CARD: -32014,
  CARD_ERROR: -32015,
  AMBIGUOUS_CARD: -32016,
  BUSY: -32020,
  TIMEOUT: -32021,
  PAYLOAD_TOO_LARGE: -32022,
  PIN_REQUIRED: -32030,
  PIN_FORMAT: -32031,
  PIN_INCORRECT: -32032,
  PIN_BLOCKED: -32033,
  PUK_INCORRECT: -32034,
  PUK_BLOCKED: -32035,
  PINPAD_CANCELLED: -32036,
  PINPAD_TIMEOUT: -32037,
  PIN_LAST_ATTEMPT: -32038,
  NOT_PERMITTED: -32050,
  CERTIFICATE_NOT_FOUND: -32040,
  UNSUPPORTED_ALGORITHM: -32041,
  KEY_USAGE: -32042,
  DECRYPT_FAILED: -32043,
  NOT_ATTACHED: -32051,
  ALREADY_ATTACHED: -32052,
  ORIGIN_NOT_ALLOWED: -32053,
  PAGE_PIN_REFUSED: -32054,
});

// Reasons the client raises itself; they have no JSON-RPC code.
export const CLIENT_REASONS = Object.freeze([
  'CONNECTION_FAILED', 'CONNECTION_CLOSED', 'RESPONSE_TIMEOUT', 'POPUP_BLOCKED', 'BRIDGE_CLOSED', 'USER_CANCELLED',
]);

export const EVENT_TYPES = Object.freeze(['reader.added', 'reader.removed', 'card.inserted', 'card.removed']);

const POLICY_VIOLATION = 1008; // the origin lost its allow-list entry: reconnecting is futile
const OPEN = 1;

export class TenderKeyError extends Error {
  constructor(reason, { code, message, data, method, cause } = {}) {
    super(message ?? messageFor(reason, { lang: 'en', data, method }), cause === undefined ? undefined : { cause });
    this.name = 'TenderKeyError';
    this.reason = reason;
    this.code = code ?? ERROR_CODES[reason] ?? null;
    this.data = { ...data, reason };
    this.method = method;
  }

  get retriesLeft() {
    return this.data.retriesLeft;
  }

  localizedMessage(lang) {
    return messageFor(this, { lang });
  }

  // From the `error` member of a JSON-RPC failure response.
  static fromResponse(error, method) {
    const e = error !== null && typeof error === 'object' ? error : {};
    const data = e.data !== null && typeof e.data === 'object' ? e.data : {};
    const byCode = Object.keys(ERROR_CODES).find((r) => ERROR_CODES[r] === e.code);
    const reason = typeof data.reason === 'string' ? data.reason : (byCode ?? 'INTERNAL');
    return new TenderKeyError(reason, {
      code: Number.isInteger(e.code) ? e.code : undefined,
      message: typeof e.message === 'string' && e.message !== '' ? e.message : undefined,
      data,
      method,
    });
  }
}

// ---------- base64 ----------

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

// By tag rather than instanceof, so buffers from other realms (iframes, workers) count.
const BUFFER_TAGS = new Set(['[object ArrayBuffer]', '[object SharedArrayBuffer]']);

function isBinary(value) {
  return ArrayBuffer.isView(value) || BUFFER_TAGS.has(Object.prototype.toString.call(value));
}

function asBytes(value) {
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (isBinary(value)) return new Uint8Array(value);
  throw new TypeError('expected an ArrayBuffer or a typed array');
}

// Standard base64 with padding of an ArrayBuffer, typed array or DataView.
export function toBase64(bytes) {
  const u8 = asBytes(bytes);
  let s = '';
  for (let i = 0; i < u8.length; i += 0x8000) s += String.fromCharCode.apply(null, u8.subarray(i, i + 0x8000));
  return btoa(s);
}

// Bytes of a standard base64 string with padding (as the daemon sends them).
export function fromBase64(text) {
  if (typeof text !== 'string' || !BASE64.test(text)) throw new TypeError('not standard base64 with padding');
  const s = atob(text);
  const u8 = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) u8[i] = s.charCodeAt(i);
  return u8;
}

// Top-level binary parameter values (ArrayBuffer, typed arrays) become base64 strings.
function encodeParams(params) {
  if (params === undefined || params === null || typeof params !== 'object' || Array.isArray(params)) return params;
  let out = params;
  for (const [k, v] of Object.entries(params)) {
    if (!isBinary(v)) continue;
    if (out === params) out = { ...params };
    out[k] = toBase64(v);
  }
  return out;
}

// ---------- client ----------

function reconnectOptions(reconnect) {
  if (reconnect === false || reconnect === null) return null;
  if (reconnect === true || reconnect === undefined) return { ...DEFAULT_RECONNECT };
  if (typeof reconnect !== 'object') throw new TypeError('reconnect must be a boolean or an object');
  return { ...DEFAULT_RECONNECT, ...reconnect };
}

// The methods of the API (protocol/README.md) as calls of `call(method, params, options)`,
// which each client defines: the direct WebSocket client and the bridge client.
class ApiMethods {
  #subscribed = false;

  get subscribed() {
    return this.#subscribed;
  }

  systemInfo(options) { return this.call('system.info', undefined, options); }

  readersList(options) { return this.call('readers.list', undefined, options); }

  certificatesList(params, options) { return this.call('certificates.list', params, options); }

  pinStatus(params, options) { return this.call('pin.status', params, options); }

  pinVerify(params, options) { return this.call('pin.verify', params, options); }

  pinChange(params, options) { return this.call('pin.change', params, options); }

  pinUnblock(params, options) { return this.call('pin.unblock', params, options); }

  pukChange(params, options) { return this.call('puk.change', params, options); }

  sign(params, options) { return this.call('sign', params, options); }

  decrypt(params, options) { return this.call('decrypt', params, options); }

  register(params, options) { return this.call('register', params, options); }

  async subscribe(options) {
    const result = await this.call('events.subscribe', undefined, options);
    this.#subscribed = true;
    return result;
  }
}

class Client extends ApiMethods {
  #url;
  #WebSocket;
  #timeoutMs;
  #connectTimeoutMs;
  #reconnect;
  #ws = null;
  #nextId = 1;
  #pending = new Map(); // id -> { resolve, reject, timer, method }
  #listeners = new Map(); // type -> Set of functions
  #closing = false;
  #reconnectTimer = null;
  #attempts = 0;

  constructor(options) {
    super();
    this.#url = options.url ?? DEFAULT_URL;
    this.#WebSocket = options.WebSocket ?? globalThis.WebSocket;
    if (typeof this.#WebSocket !== 'function') {
      throw new TypeError('no WebSocket implementation: pass one as options.WebSocket');
    }
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.#reconnect = reconnectOptions(options.reconnect);
  }

  get url() {
    return this.#url;
  }

  get connected() {
    return this.#ws !== null && this.#ws.readyState === OPEN;
  }

  // ----- events -----

  on(type, listener) {
    if (typeof listener !== 'function') throw new TypeError('listener must be a function');
    if (!this.#listeners.has(type)) this.#listeners.set(type, new Set());
    this.#listeners.get(type).add(listener);
    return () => this.off(type, listener);
  }

  off(type, listener) {
    this.#listeners.get(type)?.delete(listener);
  }

  #emit(type, payload) {
    const set = this.#listeners.get(type);
    if (!set || set.size === 0) return false;
    for (const listener of [...set]) {
      try {
        listener(payload);
      } catch (err) {
        // A failing listener must not stop the others nor the client.
        if (type !== 'error' && this.#emit('error', err)) continue;
        console.error(err);
      }
    }
    return true;
  }

  // ----- connection -----

  static async create(options) {
    const client = new Client(options);
    await client.#open();
    return client;
  }

  #open() {
    return new Promise((resolve, reject) => {
      let ws;
      try {
        ws = new this.#WebSocket(this.#url, SUBPROTOCOL);
      } catch (cause) {
        reject(new TenderKeyError('CONNECTION_FAILED', { cause }));
        return;
      }
      let settled = false;
      const fail = (cause) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(new TenderKeyError('CONNECTION_FAILED', { cause }));
      };
      const timer = setTimeout(() => {
        fail(new Error(`no connection within ${this.#connectTimeoutMs} ms`));
        try { ws.close(); } catch { /* already closing */ }
      }, this.#connectTimeoutMs);
      ws.addEventListener('open', () => {
        if (settled) return;
        if (ws.protocol !== SUBPROTOCOL) {
          fail(new Error(`the server selected subprotocol "${ws.protocol}", not ${SUBPROTOCOL}`));
          ws.close(1000);
          return;
        }
        settled = true;
        clearTimeout(timer);
        this.#ws = ws;
        resolve();
      });
      ws.addEventListener('message', (ev) => {
        if (this.#ws === ws) this.#onMessage(ev.data);
      });
      ws.addEventListener('close', (ev) => {
        if (!settled) fail(new Error(`closed during the handshake (code ${ev.code})`));
        else if (this.#ws === ws) this.#onClose(ev);
      });
      // 'error' is always followed by 'close', which does the work.
      ws.addEventListener('error', () => {});
    });
  }

  #onClose(ev) {
    this.#ws = null;
    this.#rejectAll({ outcome: 'unknown', closeCode: ev.code });
    const willReconnect = !this.#closing && this.#reconnect !== null && ev.code !== POLICY_VIOLATION;
    this.#emit('disconnected', { code: ev.code, reason: ev.reason ?? '', willReconnect });
    if (willReconnect) this.#scheduleReconnect();
  }

  #rejectAll(data) {
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      this.#pending.delete(id);
      p.reject(new TenderKeyError('CONNECTION_CLOSED', { data, method: p.method }));
    }
  }

  #scheduleReconnect() {
    const r = this.#reconnect;
    if (this.#attempts >= r.maxAttempts) {
      this.#emit('error', new TenderKeyError('CONNECTION_FAILED', {
        message: `gave up reconnecting after ${this.#attempts} attempts`,
      }));
      return;
    }
    const base = Math.min(r.maxDelayMs, r.initialDelayMs * r.factor ** this.#attempts);
    const delay = Math.max(0, base * (1 + r.jitter * (2 * Math.random() - 1)));
    this.#attempts += 1;
    this.#reconnectTimer = setTimeout(() => this.#reconnectNow(), delay);
  }

  async #reconnectNow() {
    this.#reconnectTimer = null;
    if (this.#closing) return;
    try {
      await this.#open();
    } catch {
      if (!this.#closing) this.#scheduleReconnect();
      return;
    }
    if (this.#closing) {
      this.#ws.close(1000);
      return;
    }
    this.#attempts = 0;
    if (this.subscribed) {
      try {
        await this.call('events.subscribe');
      } catch (err) {
        // A connection lost again is handled by its own close; anything else is reported.
        if (err.reason === 'CONNECTION_CLOSED') return;
        this.#emit('error', err);
      }
    }
    this.#emit('connected', { reconnected: true });
  }

  close() {
    this.#closing = true;
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = null;
    this.#rejectAll({ outcome: 'unknown' });
    const ws = this.#ws;
    if (!ws) return Promise.resolve();
    return new Promise((resolve) => {
      ws.addEventListener('close', () => resolve());
      ws.close(1000);
    });
  }

  // ----- requests -----

  #onMessage(text) {
    let msg;
    try {
      if (typeof text !== 'string') throw new Error('binary message');
      msg = JSON.parse(text);
    } catch (cause) {
      this.#emit('error', new Error('unreadable message from the daemon', { cause }));
      return;
    }
    if (msg !== null && typeof msg === 'object' && msg.method === 'event' && !('id' in msg)) {
      const params = msg.params;
      if (params !== null && typeof params === 'object' && typeof params.type === 'string') {
        this.#emit(params.type, params);
        this.#emit('event', params);
        return;
      }
    }
    const p = msg !== null && typeof msg === 'object' ? this.#pending.get(msg.id) : undefined;
    if (!p && Number.isInteger(msg?.id) && msg.id > 0 && msg.id < this.#nextId) {
      return; // a late answer to a request that already timed out on this side
    }
    if (!p) {
      const err = msg?.error ? TenderKeyError.fromResponse(msg.error) : new Error('unexpected message from the daemon');
      this.#emit('error', err);
      return;
    }
    this.#pending.delete(msg.id);
    clearTimeout(p.timer);
    if ('error' in msg) p.reject(TenderKeyError.fromResponse(msg.error, p.method));
    else p.resolve(msg.result);
  }

  call(method, params, options = {}) {
    const ws = this.#ws;
    if (!ws || ws.readyState !== OPEN) {
      return Promise.reject(new TenderKeyError('CONNECTION_CLOSED', { data: { outcome: 'none' }, method }));
    }
    const id = this.#nextId;
    this.#nextId = id >= Number.MAX_SAFE_INTEGER ? 1 : id + 1;
    const msg = { jsonrpc: '2.0', id, method };
    const encoded = encodeParams(params);
    if (encoded !== undefined) msg.params = encoded;
    const text = JSON.stringify(msg);
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new TenderKeyError('RESPONSE_TIMEOUT', { data: { outcome: 'unknown' }, method }));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer, method });
      try {
        ws.send(text);
      } catch (cause) {
        clearTimeout(timer);
        this.#pending.delete(id);
        reject(new TenderKeyError('CONNECTION_CLOSED', { data: { outcome: 'none' }, method, cause }));
      }
    });
  }
}

// Opens a connection to the daemon. Resolves with the client once it is open; rejects
// with a TenderKeyError CONNECTION_FAILED when it cannot be opened.
export function connect(options = {}) {
  return Client.create(options);
}

// ---------- bridge window ----------

export const DEFAULT_BRIDGE_URL = 'http://127.0.0.1:61261/bridge';
export const DEFAULT_BRIDGE_CONNECT_TIMEOUT_MS = 60_000;
export const BRIDGE_HEARTBEAT_MS = 2_000;
const BRIDGE_WATCH_MS = 500;
const BRIDGE_FEATURES = 'popup,width=520,height=420';

function bridgeWindowName() {
  const bytes = new Uint8Array(12);
  globalThis.crypto.getRandomValues(bytes);
  return `tenderkey-bridge-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

// The client of openBridge(): the methods and events of connect(), relayed over postMessage
// through the bridge window, which holds the WebSocket to the daemon.
class BridgeClient extends ApiMethods {
  #window;
  #popup;
  #bridgeOrigin;
  #timeoutMs;
  #nextId = 1;
  #pending = new Map(); // id -> { resolve, reject, timer, method }
  #listeners = new Map();
  #open = false;
  #heartbeat = null;
  #watch = null;
  #onMessage = (event) => this.#receive(event);

  constructor({ window, popup, bridgeOrigin, timeoutMs }) {
    super();
    this.#window = window;
    this.#popup = popup;
    this.#bridgeOrigin = bridgeOrigin;
    this.#timeoutMs = timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  get connected() {
    return this.#open;
  }

  /** The bridge window (for focusing it). */
  get window() {
    return this.#popup;
  }

  on(type, listener) {
    if (typeof listener !== 'function') throw new TypeError('listener must be a function');
    if (!this.#listeners.has(type)) this.#listeners.set(type, new Set());
    this.#listeners.get(type).add(listener);
    return () => this.off(type, listener);
  }

  off(type, listener) {
    this.#listeners.get(type)?.delete(listener);
  }

  #emit(type, payload) {
    for (const listener of [...(this.#listeners.get(type) ?? [])]) {
      try {
        listener(payload);
      } catch (err) {
        if (type !== 'error' && (this.#listeners.get('error')?.size ?? 0) > 0) this.#emit('error', err);
        else console.error(err);
      }
    }
  }

  // Waits for the bridge's ready message, binds it to this page's origin (the first message
  // it receives from us), and resolves once the daemon accepted the attach.
  start(connectTimeoutMs) {
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.#starting = null;
        if (error) {
          this.#stop();
          try { this.#popup.close(); } catch { /* already gone */ }
          reject(error);
        } else {
          resolve(this);
        }
      };
      const timer = setTimeout(() => finish(new TenderKeyError('CONNECTION_FAILED', {
        message: `the bridge window did not connect within ${connectTimeoutMs} ms`,
      })), connectTimeoutMs);
      this.#starting = finish;
      this.#window.addEventListener('message', this.#onMessage);
      this.#watch = setInterval(() => this.#checkPopup(), BRIDGE_WATCH_MS);
    });
  }

  #starting = null;

  #post(message) {
    try {
      this.#popup.postMessage(message, this.#bridgeOrigin);
      return true;
    } catch {
      return false;
    }
  }

  #receive(event) {
    // Only the bridge window we opened, at the daemon's origin; nothing else is listened to.
    if (event.source !== this.#popup || event.origin !== this.#bridgeOrigin) return;
    const msg = event.data;
    if (msg === null || typeof msg !== 'object') return;
    switch (msg.type) {
      case 'tenderkey-bridge-ready':
        if (this.#starting) this.#post({ type: 'hello' });
        return;
      case 'attached':
        if (!this.#starting) return;
        this.#open = true;
        this.#heartbeat = setInterval(() => this.#post({ type: 'ping' }), BRIDGE_HEARTBEAT_MS);
        this.#starting(null);
        return;
      case 'failed':
        if (this.#starting) this.#starting(new TenderKeyError(typeof msg.reason === 'string' ? msg.reason : 'CONNECTION_FAILED'));
        return;
      case 'attention':
        try { this.#popup.focus(); } catch { /* cannot focus */ }
        return;
      case 'event':
        if (msg.params !== null && typeof msg.params === 'object' && typeof msg.params.type === 'string') {
          this.#emit(msg.params.type, msg.params);
          this.#emit('event', msg.params);
        }
        return;
      case 'disconnected':
        this.#closed({ code: msg.code });
        return;
      case 'result':
      case 'error':
      case 'closed': {
        const p = this.#pending.get(msg.id);
        if (!p) return;
        this.#pending.delete(msg.id);
        clearTimeout(p.timer);
        if (msg.type === 'result') p.resolve(msg.result);
        else if (msg.type === 'error') p.reject(TenderKeyError.fromResponse(msg.error, p.method));
        else p.reject(new TenderKeyError('BRIDGE_CLOSED', { data: { outcome: msg.outcome === 'none' ? 'none' : 'unknown' }, method: p.method }));
        return;
      }
      default:
    }
  }

  #checkPopup() {
    let closed = true;
    try { closed = this.#popup.closed; } catch { /* treat as closed */ }
    if (!closed) return;
    if (this.#starting) {
      this.#starting(new TenderKeyError('BRIDGE_CLOSED', { data: { outcome: 'none' } }));
    } else {
      this.#closed({ code: null });
    }
  }

  #stop() {
    clearInterval(this.#heartbeat);
    clearInterval(this.#watch);
    this.#heartbeat = null;
    this.#watch = null;
    this.#window.removeEventListener('message', this.#onMessage);
  }

  #rejectAll(reason, data) {
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      this.#pending.delete(id);
      p.reject(new TenderKeyError(reason, { data, method: p.method }));
    }
  }

  #closed({ code }) {
    if (!this.#open) return;
    this.#open = false;
    this.#stop();
    this.#rejectAll('BRIDGE_CLOSED', { outcome: 'unknown' });
    // No reconnect: a new bridge window needs a new user gesture.
    this.#emit('disconnected', { code, reason: 'bridge window closed', willReconnect: false });
  }

  close() {
    if (this.#open) this.#post({ type: 'close' });
    this.#open = false;
    this.#stop();
    this.#rejectAll('CONNECTION_CLOSED', { outcome: 'unknown' });
    try { this.#popup.close(); } catch { /* already gone */ }
    return Promise.resolve();
  }

  call(method, params, options = {}) {
    if (!this.#open) {
      return Promise.reject(new TenderKeyError('CONNECTION_CLOSED', { data: { outcome: 'none' }, method }));
    }
    const id = this.#nextId++;
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    const encoded = encodeParams(params);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new TenderKeyError('RESPONSE_TIMEOUT', { data: { outcome: 'unknown' }, method }));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer, method });
      const message = { type: 'call', id, method };
      if (encoded !== undefined) message.params = encoded;
      if (!this.#post(message)) {
        clearTimeout(timer);
        this.#pending.delete(id);
        reject(new TenderKeyError('BRIDGE_CLOSED', { data: { outcome: 'none' }, method }));
      }
    });
  }
}

// Opens the daemon's bridge window and resolves with a client that relays through it: for
// portals the browser counts as public, which cannot open a WebSocket to loopback (Local
// Network Access). Must be called synchronously inside a user gesture (a click handler): the
// window opens before the first await. Rejects with POPUP_BLOCKED when no window opens,
// BRIDGE_CLOSED when it is closed before it is ready, ORIGIN_NOT_ALLOWED when the daemon has
// no allow-list entry for this page's origin, CONNECTION_FAILED when the daemon cannot be
// reached. Never reconnects: a new window needs a new gesture.
export function openBridge(options = {}) {
  const win = options.window ?? globalThis.window;
  if (!win || typeof win.open !== 'function') {
    return Promise.reject(new TypeError('openBridge() needs a browser window (or options.window)'));
  }
  const url = new URL(options.url ?? DEFAULT_BRIDGE_URL);
  let popup = null;
  try {
    popup = win.open(url.href, bridgeWindowName(), options.features ?? BRIDGE_FEATURES);
  } catch {
    popup = null;
  }
  if (!popup) return Promise.reject(new TenderKeyError('POPUP_BLOCKED'));
  const client = new BridgeClient({ window: win, popup, bridgeOrigin: url.origin, timeoutMs: options.timeoutMs });
  return client.start(options.connectTimeoutMs ?? DEFAULT_BRIDGE_CONNECT_TIMEOUT_MS);
}
