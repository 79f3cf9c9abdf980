// A WebSocket client for Node with the browser API surface tenderkey.js relies on
// (constructor(url, protocols), protocol, readyState, send, close, and the open /
// message / error / close events), for tests on Node versions without a global
// WebSocket. Follows RFC 6455 for the handshake checks a browser makes.

import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import { acceptKey, closePayload, encodeFrame, FrameReader, OP, parseClosePayload } from './ws-frames.js';

const event = (type, props = {}) => Object.assign(new Event(type), props);

export class NodeWebSocket extends EventTarget {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;

  #socket = null;
  #protocol = '';
  #readyState = 0;
  #closeSent = false;
  #closeEvent = null;
  #abort = () => {};

  constructor(url, protocols = []) {
    super();
    this.url = url;
    const offered = Array.isArray(protocols) ? protocols : [protocols];
    const u = new URL(url);
    if (u.protocol !== 'ws:') throw new SyntaxError(`unsupported scheme ${u.protocol}`);
    const key = randomBytes(16).toString('base64');
    const headers = {
      Connection: 'Upgrade',
      Upgrade: 'websocket',
      'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': key,
      Origin: new.target.origin,
    };
    if (offered.length) headers['Sec-WebSocket-Protocol'] = offered.join(', ');
    const req = request({
      host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port || 80, path: u.pathname + u.search, headers, agent: false,
    });
    req.on('upgrade', (res, socket, head) => {
      if (this.#readyState === 3) {
        socket.destroy();
        return;
      }
      const selected = res.headers['sec-websocket-protocol'];
      if (res.headers['sec-websocket-accept'] !== acceptKey(key)
          || (selected !== undefined && !offered.includes(selected))) {
        socket.destroy();
        this.#fail();
        return;
      }
      this.#protocol = selected ?? '';
      this.#attach(socket, head);
    });
    this.#abort = () => req.destroy();
    req.on('response', (res) => {
      res.resume();
      this.#fail();
    });
    req.on('error', () => this.#fail());
    req.end();
  }

  // The Origin header every instance sends, as a page's browser would; a subclass
  // (withOrigin) sends another.
  static origin = 'https://portal.example.gov.tw';

  static withOrigin(origin) {
    return class extends NodeWebSocket {
      static origin = origin;
    };
  }

  get protocol() {
    return this.#protocol;
  }

  get readyState() {
    return this.#readyState;
  }

  #attach(socket, head) {
    this.#socket = socket;
    const reader = new FrameReader({
      expectMasked: false,
      onMessage: (opcode, data) => {
        if (this.#readyState !== 1) return;
        const payload = opcode === OP.TEXT ? data.toString('utf8') : data.buffer.slice(data.byteOffset, data.byteOffset + data.length);
        this.dispatchEvent(event('message', { data: payload }));
      },
      onControl: (opcode, payload) => {
        if (opcode === OP.PING) socket.write(encodeFrame(OP.PONG, payload, { mask: true }));
        else if (opcode === OP.CLOSE) {
          const { code, reason } = parseClosePayload(payload);
          if (!this.#closeSent) {
            this.#closeSent = true;
            socket.write(encodeFrame(OP.CLOSE, payload.length >= 2 ? payload.subarray(0, 2) : Buffer.alloc(0), { mask: true }));
          }
          this.#closeEvent = { code, reason, wasClean: true };
          socket.end();
        }
      },
      onError: () => socket.destroy(),
    });
    socket.on('data', (chunk) => reader.feed(chunk));
    socket.on('close', () => this.#finish());
    socket.on('error', () => {});
    this.#readyState = 1;
    this.dispatchEvent(event('open'));
    if (head?.length) reader.feed(head);
  }

  #fail() {
    if (this.#readyState === 3) return;
    this.#readyState = 3;
    this.dispatchEvent(event('error'));
    this.dispatchEvent(event('close', { code: 1006, reason: '', wasClean: false }));
  }

  #finish() {
    if (this.#readyState === 3) return;
    this.#readyState = 3;
    const e = this.#closeEvent ?? { code: 1006, reason: '', wasClean: false };
    if (!e.wasClean) this.dispatchEvent(event('error'));
    this.dispatchEvent(event('close', e));
  }

  send(text) {
    if (this.#readyState !== 1) throw new Error('InvalidStateError: the connection is not open');
    this.#socket.write(encodeFrame(typeof text === 'string' ? OP.TEXT : OP.BINARY, Buffer.from(text), { mask: true }));
  }

  close(code, reason = '') {
    if (this.#readyState >= 2) return;
    if (this.#readyState === 0) {
      this.#abort();
      this.#fail();
      return;
    }
    this.#readyState = 2;
    this.#closeSent = true;
    this.#socket.write(encodeFrame(OP.CLOSE, closePayload(code, reason), { mask: true }));
    // Wait for the server's close frame; give up after a while like a browser would.
    setTimeout(() => this.#socket.destroy(), 2000).unref();
  }
}
