// A small RFC 6455 server on node:http with the handshake checks of the TenderKey
// contract (Host 403, Origin 403, subprotocol 400, connection limit 503), for tests.

import { createServer } from 'node:http';
import { acceptKey, closePayload, encodeFrame, FrameReader, OP, parseClosePayload } from './ws-frames.js';

export const SUBPROTOCOL = 'tenderkey.v1';

class ServerConnection {
  #onGone;

  constructor(socket, { origin, protocols, onGone }) {
    this.#onGone = onGone;
    this.socket = socket;
    this.origin = origin;
    this.protocols = protocols;
    this.closed = false;
    this.onmessage = () => {};
    this.onclose = () => {};
    this.reader = new FrameReader({
      expectMasked: true,
      onMessage: (opcode, data) => {
        if (opcode === OP.TEXT) this.onmessage(data.toString('utf8'));
        else this.close(1003, 'binary frames are not accepted');
      },
      onControl: (opcode, payload) => {
        if (opcode === OP.PING) this.#write(encodeFrame(OP.PONG, payload));
        else if (opcode === OP.CLOSE) {
          const { code } = parseClosePayload(payload);
          this.close(code === 1005 ? undefined : code);
        }
      },
      onError: (code, reason) => this.close(code, reason),
    });
    socket.on('data', (chunk) => this.reader.feed(chunk));
    // The HTTP server makes half-open sockets: the client's FIN must end ours too.
    socket.on('end', () => socket.destroy());
    socket.on('close', () => this.#gone());
    socket.on('error', () => this.#gone());
  }

  #write(buf) {
    if (!this.socket.destroyed) this.socket.write(buf);
  }

  send(text) {
    if (!this.closed) this.#write(encodeFrame(OP.TEXT, text));
  }

  // Close handshake from the server side: send the close frame, end the socket.
  close(code = 1000, reason = '') {
    if (this.closed) return;
    this.#write(encodeFrame(OP.CLOSE, closePayload(code, reason)));
    this.socket.end();
    this.#gone();
  }

  // Drop the TCP connection without a close frame (the client sees 1006).
  terminate() {
    this.socket.destroy();
    this.#gone();
  }

  #gone() {
    if (this.closed) return;
    this.closed = true;
    this.#onGone();
    this.onclose();
  }
}

function refuse(socket, status, text) {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
}

export class TestWebSocketServer {
  // options: allowedOrigins (array, null = any), maxConnections, selectProtocol
  // (a function of the offered list returning the protocol to select, or null for none),
  // refuse (a function of the request returning an HTTP status to refuse with, or 0).
  constructor(options = {}) {
    this.options = options;
    this.connections = new Set();
    this.handshakes = [];
    this.onconnection = () => {};
    this.server = createServer((req, res) => {
      res.writeHead(404, { 'Content-Length': 0 });
      res.end();
    });
    this.server.on('upgrade', (req, socket) => this.#upgrade(req, socket));
  }

  async listen(port = 0) {
    await new Promise((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.port = this.server.address().port;
    return this.port;
  }

  get url() {
    return `ws://127.0.0.1:${this.port}/`;
  }

  #upgrade(req, socket) {
    const { allowedOrigins = null, maxConnections = 32 } = this.options;
    const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    this.handshakes.push({ time: Date.now(), headers: req.headers, offered });
    const hosts = [`127.0.0.1:${this.port}`, `localhost:${this.port}`, `[::1]:${this.port}`];
    const extra = this.options.refuse?.(req) ?? 0;
    if (!hosts.includes(String(req.headers.host ?? '').toLowerCase())) return refuse(socket, 403, 'Forbidden');
    const origin = req.headers.origin;
    if (allowedOrigins && (!origin || !allowedOrigins.includes(origin))) return refuse(socket, 403, 'Forbidden');
    if (!offered.includes(SUBPROTOCOL)) return refuse(socket, 400, 'Bad Request');
    if (this.connections.size >= maxConnections) return refuse(socket, 503, 'Service Unavailable');
    if (extra) return refuse(socket, extra, 'Refused');
    const selected = this.options.selectProtocol ? this.options.selectProtocol(offered) : SUBPROTOCOL;
    const lines = [
      'HTTP/1.1 101 Switching Protocols',
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Accept: ${acceptKey(req.headers['sec-websocket-key'])}`,
    ];
    if (selected) lines.push(`Sec-WebSocket-Protocol: ${selected}`);
    socket.write(lines.join('\r\n') + '\r\n\r\n');
    const conn = new ServerConnection(socket, {
      origin,
      protocols: offered,
      onGone: () => this.connections.delete(conn),
    });
    this.connections.add(conn);
    this.onconnection(conn);
  }

  async close() {
    for (const c of this.connections) c.terminate();
    this.server.closeAllConnections?.();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
