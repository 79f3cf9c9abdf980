// Runs tenderkey.js with the runtime's own WebSocket (globalThis.WebSocket) against the
// daemon stand-in whose URL is argv[2], and prints what it observed as JSON.

import { connect } from '../tenderkey.js';

const url = process.argv[2];
const out = { hasGlobalWebSocket: typeof globalThis.WebSocket === 'function' };
const tk = await connect({ url, reconnect: { initialDelayMs: 20, maxDelayMs: 100, jitter: 0 } });
out.info = await tk.systemInfo();
try {
  await tk.pinVerify({ cardId: 'piv-0011', pin: '000000' });
} catch (e) {
  out.error = { reason: e.reason, code: e.code, retriesLeft: e.retriesLeft, zh: e.localizedMessage('zh-TW') };
}
const inserted = new Promise((resolve) => tk.on('card.inserted', resolve));
await tk.subscribe();
out.event = await inserted;
const reconnected = new Promise((resolve) => tk.on('connected', resolve));
try {
  await tk.pinStatus({ cardId: 'piv-0011' });
} catch (e) {
  out.dropped = { reason: e.reason, outcome: e.data.outcome, closeCode: e.data.closeCode };
}
out.reconnected = await reconnected;
out.subscribedAgain = tk.subscribed;
out.infoAfterReconnect = await tk.systemInfo();
await tk.close();
process.stdout.write(JSON.stringify(out));
