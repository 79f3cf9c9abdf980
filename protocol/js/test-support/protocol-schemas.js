// Loads protocol/schema/ through its index.json and checks whole TenderKey messages
// against it. Usable by any Node test that sees daemon traffic (client tests, daemon
// end-to-end tests).

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SchemaSet } from './schema-validator.js';

export const PROTOCOL_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SCHEMA_DIR = join(PROTOCOL_DIR, 'schema');

const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));

function jsonFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return jsonFiles(p);
    return name.endsWith('.json') ? [p] : [];
  });
}

export function loadProtocol() {
  const index = readJson(join(SCHEMA_DIR, 'index.json'));
  const errors = readJson(join(PROTOCOL_DIR, 'errors.json'));
  const set = new SchemaSet();
  const files = new Map(); // path relative to schema/ (with '/') -> document
  for (const path of jsonFiles(SCHEMA_DIR)) {
    const rel = relative(SCHEMA_DIR, path).split(sep).join('/');
    if (rel === 'index.json') continue;
    const doc = readJson(path);
    set.add(doc);
    files.set(rel, doc);
  }
  const idOf = (rel) => {
    const doc = files.get(rel);
    if (!doc) throw new Error(`index.json names a missing schema file ${rel}`);
    return doc.$id;
  };
  const check = (rel, instance) => set.validate(idOf(rel), instance);
  const merge = (...runs) => ({
    valid: runs.every((r) => r.valid),
    errors: runs.flatMap((r) => r.errors),
  });
  const methodOf = (name) => {
    const m = index.methods[name] ?? index.bridgeMethods?.[name];
    if (!m) throw new Error(`unknown method ${name}`);
    return m;
  };

  return {
    index,
    errors,
    set,
    files,
    idOf,
    check,
    // A request as a client sends it: the envelope, then the method's params.
    request(msg) {
      const env = check(index.envelope.request, msg);
      if (!env.valid) return env;
      const m = index.methods[msg.method] ?? index.bridgeMethods?.[msg.method];
      if (!m) return { valid: false, errors: [{ path: '/method', message: `unknown method ${msg.method}` }] };
      return merge(env, check(m.params, msg.params ?? {}));
    },
    params(method, params) {
      return check(methodOf(method).params, params);
    },
    result(method, result) {
      return check(methodOf(method).result, result);
    },
    success(method, msg) {
      const env = check(index.envelope.success, msg);
      return env.valid ? merge(env, check(methodOf(method).result, msg.result)) : env;
    },
    failure(msg) {
      return check(index.envelope.error, msg);
    },
    notification(msg) {
      return check(index.envelope.notification, msg);
    },
    event(params) {
      const rel = index.events[params?.type];
      if (!rel) return { valid: false, errors: [{ path: '/type', message: 'unknown event type' }] };
      return check(rel, params);
    },
    health(body) {
      return check(index.health, body);
    },
  };
}

export function describeErrors(run) {
  return run.errors.map((e) => `${e.path || '/'} ${e.message}`).join('; ');
}
