// tenderkey.js must load in a browser as it is: ES module syntax, relative imports of
// its own files only, and no Node-only names.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const source = (name) => readFileSync(new URL(`../${name}`, import.meta.url), 'utf8');
// Source text without comments and string literals (scanned together, left to right, so
// that neither can hide the other).
const TOKENS = /\/\/[^\n]*|\/\*[\s\S]*?\*\/|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"|`(?:\\.|[^`\\])*`/g;
const code = (name) => source(name).replace(TOKENS, (m) => (m.startsWith('/') ? ' ' : m));
const withoutStrings = (text) => text.replace(TOKENS, ' ');
const imports = (text) => [...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+'([^']+)'/gm)].map((m) => m[1]);

test('ClientModules_ImportOnlyEachOther', () => {
  assert.deepEqual([...new Set(imports(code('tenderkey.js')))], ['./messages.js']);
  assert.deepEqual(imports(code('messages.js')), []);
});

test('ClientModules_UseNoNodeOnlyNames', () => {
  for (const name of ['tenderkey.js', 'messages.js']) {
    const text = withoutStrings(source(name));
    for (const banned of [/\brequire\s*\(/, /\bprocess\./, /\bBuffer\b/, /\b__dirname\b/, /\bimport\.meta\b/, /\bglobal\./, /\bsetImmediate\b/]) {
      assert.doesNotMatch(text, banned, `${name} uses ${banned}`);
    }
  }
});

test('ClientModules_UseOnlyBrowserGlobals', () => {
  const text = code('tenderkey.js');
  for (const g of ['btoa', 'atob', 'setTimeout', 'clearTimeout']) assert.match(text, new RegExp(`\\b${g}\\(`), g);
  assert.match(text, /globalThis\.WebSocket/);
});
