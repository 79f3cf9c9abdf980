// Every JSON example in protocol/README.md validates against its schema, and the
// README's tables agree with errors.json, error.json and index.json.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeErrors, loadProtocol, PROTOCOL_DIR } from '../test-support/protocol-schemas.js';

const p = loadProtocol();
const readme = readFileSync(join(PROTOCOL_DIR, 'README.md'), 'utf8');

// ```json <kind> [method]  — kind: request | response <method> | error | notification | health
function examples() {
  const out = [];
  const re = /^```json([^\n]*)\n([\s\S]*?)^```$/gm;
  for (let m; (m = re.exec(readme));) {
    const line = readme.slice(0, m.index).split('\n').length;
    const [kind, method] = m[1].trim().split(/\s+/);
    out.push({ line, kind, method, text: m[2] });
  }
  return out;
}

function section(title) {
  const start = readme.indexOf(title);
  assert.ok(start >= 0, `README has a section "${title}"`);
  const next = readme.indexOf('\n#', start + title.length);
  return readme.slice(start, next < 0 ? undefined : next);
}

function tableRows(text) {
  return text.split('\n').filter((l) => /^\|/.test(l) && !/^\|\s*-/.test(l))
    .map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));
}

const all = examples();

test('ReadmeExamples_AreTaggedAndParse', () => {
  assert.ok(all.length >= 40, `found ${all.length} examples`);
  for (const ex of all) {
    assert.ok(['request', 'response', 'error', 'notification', 'health'].includes(ex.kind),
      `README line ${ex.line}: json block tagged "${ex.kind ?? ''}"`);
    assert.doesNotThrow(() => JSON.parse(ex.text), `README line ${ex.line} is not JSON`);
  }
});

test('ReadmeExamples_ValidateAgainstTheirSchemas', () => {
  for (const ex of all) {
    const msg = JSON.parse(ex.text);
    const run = {
      request: () => p.request(msg),
      response: () => p.success(ex.method, msg),
      error: () => p.failure(msg),
      notification: () => p.notification(msg),
      health: () => p.health(msg),
    }[ex.kind]();
    assert.ok(run.valid, `README line ${ex.line} (${ex.kind} ${ex.method ?? ''}): ${describeErrors(run)}`);
  }
});

test('ReadmeExamples_CoverEveryMethodAndEvent', () => {
  for (const method of Object.keys(p.index.methods)) {
    assert.ok(all.some((e) => e.kind === 'request' && JSON.parse(e.text).method === method), `request example of ${method}`);
    assert.ok(all.some((e) => e.kind === 'response' && e.method === method), `response example of ${method}`);
  }
  for (const type of Object.keys(p.index.events)) {
    assert.ok(all.some((e) => e.kind === 'notification' && JSON.parse(e.text).params.type === type), `example of ${type}`);
  }
});

test('ReadmeErrorTable_MatchesErrorsJson_AndErrorSchema', () => {
  const rows = tableRows(section('### 8.1 Reasons sent by the daemon')).slice(1);
  const errorSchema = p.files.get('error.json');
  assert.deepEqual(rows.map((r) => r[0]), Object.keys(p.errors.reasons), 'same reasons in the same order');
  for (const [reason, code, members] of rows) {
    assert.equal(Number(code), p.errors.reasons[reason].code, `code of ${reason}`);
    const def = errorSchema.$defs[reason];
    const expected = Object.keys(def.properties).filter((k) => k !== 'reason')
      .map((k) => (def.required.includes(k) ? `\`${k}\`` : `\`${k}\` (optional)`));
    const listed = members === '—' ? [] : members.split(', ');
    assert.deepEqual(listed, expected, `data members of ${reason}`);
  }
});

test('ReadmeCapabilityTable_MatchesIndex', () => {
  const rows = tableRows(section('### Origin allow-list and capabilities')).slice(1);
  const fromReadme = {};
  for (const [cap, methods] of rows) {
    for (const m of methods.split(', ')) fromReadme[m.replace(/`/g, '')] = cap.replace(/`/g, '');
  }
  const fromIndex = Object.fromEntries(Object.entries(p.index.methods).map(([m, v]) => [m, v.capability]));
  assert.deepEqual(fromReadme, fromIndex);
});

test('ReadmeMethodSections_ExistForEveryMethod_WithTheirCapability', () => {
  for (const [method, { capability }] of Object.entries(p.index.methods)) {
    const s = section(`### \`${method}\``);
    assert.match(s, new RegExp(`Capability \`${capability}\``), `${method} names its capability`);
  }
});
