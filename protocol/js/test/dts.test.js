// The TypeScript declarations cover every export and every method, without needing tsc:
// the declared names are read from the .d.ts files and compared with the modules.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tenderkey from '../tenderkey.js';
import * as messages from '../messages.js';
import { loadProtocol } from '../test-support/protocol-schemas.js';
import { startFakeDaemon } from '../test-support/fake-daemon.js';
import { NodeWebSocket } from '../test-support/ws-client.js';

// A network test that hangs fails instead of holding up the run.
const LIMIT = { timeout: 20_000 };

const read = (name) => readFileSync(new URL(`../${name}`, import.meta.url), 'utf8');
const tkDts = read('tenderkey.d.ts');
const msgDts = read('messages.d.ts');
const p = loadProtocol();

// Names a declaration file exports as values (not types).
function declaredValues(dts) {
  const names = new Set();
  for (const m of dts.matchAll(/^export declare (?:const|function|class|let|var) ([A-Za-z_$][\w$]*)/gm)) names.add(m[1]);
  for (const m of dts.matchAll(/^export \{([^}]*)\} from /gm)) {
    for (const n of m[1].split(',')) names.add(n.trim().split(/\s+as\s+/).pop());
  }
  return names;
}

function declaredTypes(dts) {
  const names = new Set();
  for (const m of dts.matchAll(/^export (?:interface|type) ([A-Za-z_$][\w$]*)/gm)) names.add(m[1]);
  for (const m of dts.matchAll(/^export type \{([^}]*)\} from /gm)) {
    for (const n of m[1].split(',')) names.add(n.trim());
  }
  return names;
}

function block(dts, start) {
  const i = dts.indexOf(start);
  assert.ok(i >= 0, `declaration "${start}"`);
  let depth = 0;
  for (let j = dts.indexOf('{', i); j < dts.length; j++) {
    if (dts[j] === '{') depth++;
    if (dts[j] === '}' && --depth === 0) return dts.slice(i, j + 1);
  }
  throw new Error(`unbalanced ${start}`);
}

const unionMembers = (dts, name) => {
  const m = new RegExp(`export type ${name} =([^;]*);`).exec(dts);
  assert.ok(m, `type ${name}`);
  return [...m[1].matchAll(/'([^']+)'/g)].map((x) => x[1]);
};

const camel = (method) => method.replace(/\.(\w)/g, (_, c) => c.toUpperCase());

test('TenderkeyDts_DeclaresExactlyTheModulesValueExports', () => {
  assert.deepEqual([...declaredValues(tkDts)].sort(), Object.keys(tenderkey).sort());
});

test('MessagesDts_DeclaresExactlyTheModulesValueExports', () => {
  assert.deepEqual([...declaredValues(msgDts)].sort(), Object.keys(messages).sort());
});

test('TenderkeyDts_ReExportsTheMessageTypes', () => {
  for (const t of declaredTypes(msgDts)) assert.ok(declaredTypes(tkDts).has(t), `type ${t}`);
});

test('TenderkeyDts_ReasonAndEventUnions_MatchTheProtocol', () => {
  assert.deepEqual(unionMembers(tkDts, 'DaemonReason'), Object.keys(p.errors.reasons));
  assert.deepEqual(unionMembers(tkDts, 'ClientReason'), [...tenderkey.CLIENT_REASONS]);
  assert.deepEqual(unionMembers(tkDts, 'EventType'), Object.keys(p.index.events));
  assert.deepEqual(unionMembers(tkDts, 'EventType'), [...tenderkey.EVENT_TYPES]);
  const eventMap = block(tkDts, 'export interface ClientEventMap');
  for (const type of [...tenderkey.EVENT_TYPES, 'event', 'connected', 'disconnected', 'error']) {
    assert.match(eventMap, new RegExp(`^\\s+'?${type.replace('.', '\\.')}'?:`, 'm'), `event ${type}`);
  }
});

test('TenderkeyDts_ClientInterface_HasAMethodPerProtocolMethod', () => {
  const client = block(tkDts, 'export interface TenderKeyClient');
  const wanted = Object.keys(p.index.methods).filter((m) => m !== 'events.subscribe').map(camel);
  for (const name of [...wanted, 'subscribe', 'call', 'on', 'off', 'close']) {
    assert.match(client, new RegExp(`^\\s+${name}[<(]`, 'm'), `TenderKeyClient.${name}`);
  }
});

test('Client_RuntimeMembers_AreAllDeclared', LIMIT, async () => {
  const daemon = await startFakeDaemon();
  const tk = await tenderkey.connect({ url: daemon.url, WebSocket: NodeWebSocket, reconnect: false });
  try {
    const client = block(tkDts, 'export interface TenderKeyClient');
    // The client's own members and those of the API methods it inherits.
    const members = [];
    for (let proto = Object.getPrototypeOf(tk); proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
      members.push(...Object.getOwnPropertyNames(proto).filter((n) => n !== 'constructor'));
    }
    assert.ok(members.length >= 17);
    for (const name of members) {
      assert.match(client, new RegExp(`^\\s+(?:readonly )?${name}[<(:]`, 'm'), `runtime member ${name} is declared`);
    }
  } finally {
    await tk.close();
    await daemon.stop();
  }
});
