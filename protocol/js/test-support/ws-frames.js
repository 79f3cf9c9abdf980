// RFC 6455 framing shared by the test server and the test client.

import { createHash, randomBytes } from 'node:crypto';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export const OP = Object.freeze({ CONTINUATION: 0, TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 });

export function acceptKey(key) {
  return createHash('sha1').update(key + GUID).digest('base64');
}

export function encodeFrame(opcode, payload, { mask = false, fin = true } = {}) {
  const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload ?? '');
  const len = data.length;
  let header;
  if (len < 126) {
    header = Buffer.alloc(2);
    header[1] = len;
  } else if (len < 65536) {
    header = Buffer.alloc(4);
    header[1] = 126;
    header.writeUInt16BE(len, 2);
  } else {
    header = Buffer.alloc(10);
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(len), 2);
  }
  header[0] = (fin ? 0x80 : 0) | opcode;
  if (!mask) return Buffer.concat([header, data]);
  header[1] |= 0x80;
  const key = randomBytes(4);
  const masked = Buffer.alloc(len);
  for (let i = 0; i < len; i++) masked[i] = data[i] ^ key[i & 3];
  return Buffer.concat([header, key, masked]);
}

export function closePayload(code, reason = '') {
  if (code === undefined) return Buffer.alloc(0);
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code);
  return Buffer.concat([b, Buffer.from(reason)]);
}

export function parseClosePayload(payload) {
  if (payload.length < 2) return { code: 1005, reason: '' };
  return { code: payload.readUInt16BE(0), reason: payload.subarray(2).toString('utf8') };
}

// Incremental frame reader: feed() chunks, get complete messages and control frames
// through the callbacks. `expectMasked` is true on the server side.
export class FrameReader {
  #buf = Buffer.alloc(0);
  #fragments = [];
  #fragmentOpcode = null;

  constructor({ expectMasked, onMessage, onControl, onError }) {
    this.expectMasked = expectMasked;
    this.onMessage = onMessage;
    this.onControl = onControl;
    this.onError = onError;
  }

  feed(chunk) {
    this.#buf = Buffer.concat([this.#buf, chunk]);
    for (;;) {
      const b = this.#buf;
      if (b.length < 2) return;
      const fin = (b[0] & 0x80) !== 0;
      const opcode = b[0] & 0x0f;
      const masked = (b[1] & 0x80) !== 0;
      let len = b[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        off = 10;
      }
      if (masked !== this.expectMasked) {
        this.onError(1002, masked ? 'masked frame from the server' : 'unmasked frame from the client');
        return;
      }
      const need = off + (masked ? 4 : 0) + len;
      if (b.length < need) return;
      let payload = b.subarray(off + (masked ? 4 : 0), need);
      if (masked) {
        const key = b.subarray(off, off + 4);
        payload = Buffer.from(payload.map((x, i) => x ^ key[i & 3]));
      } else {
        payload = Buffer.from(payload);
      }
      this.#buf = b.subarray(need);
      if (opcode >= 8) {
        this.onControl(opcode, payload);
        continue;
      }
      if (opcode !== OP.CONTINUATION) {
        this.#fragmentOpcode = opcode;
        this.#fragments = [];
      }
      this.#fragments.push(payload);
      if (fin) {
        const data = Buffer.concat(this.#fragments);
        const op = this.#fragmentOpcode;
        this.#fragments = [];
        this.#fragmentOpcode = null;
        this.onMessage(op, data);
      }
    }
  }
}
