// errors.json is the single table of reasons and codes: the error schema and the
// JavaScript client must agree with it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadProtocol } from '../test-support/protocol-schemas.js';
import { CLIENT_REASONS, ERROR_CODES } from '../tenderkey.js';

const p = loadProtocol();
const reasons = Object.keys(p.errors.reasons);
const schema = p.files.get('error.json');

test('ErrorsJson_ContractReasons_WithUniqueCodesInTheirRanges', () => {
  assert.equal(p.errors.protocol, 1);
  assert.equal(reasons.length, 33);
  const codes = reasons.map((r) => p.errors.reasons[r].code);
  assert.equal(new Set(codes).size, codes.length, 'codes are unique');
  const standard = { PARSE_ERROR: -32700, INVALID_REQUEST: -32600, METHOD_NOT_FOUND: -32601, INVALID_PARAMS: -32602, INTERNAL: -32603 };
  for (const r of reasons) {
    const { code, message } = p.errors.reasons[r];
    if (r in standard) assert.equal(code, standard[r], r);
    else assert.ok(code <= -32000 && code >= -32099, `${r} in the JSON-RPC server error range`);
    assert.match(r, /^[A-Z][A-Z_]+$/);
    assert.ok(typeof message === 'string' && message.length > 0, `${r} has a log message`);
  }
});

test('ErrorSchema_ReasonEnumAndCodes_EqualErrorsJson', () => {
  assert.deepEqual(schema.$defs.reason.enum, reasons);
  const codeOf = Object.fromEntries(schema.allOf.map((rule) => [
    rule.if.properties.data.properties.reason.const, rule.then.properties.code.const,
  ]));
  assert.deepEqual(codeOf, Object.fromEntries(reasons.map((r) => [r, p.errors.reasons[r].code])));
  for (const r of reasons) {
    assert.equal(schema.$defs[r].properties.reason.const, r);
    assert.equal(schema.$defs[r].additionalProperties, false, `${r} data is closed`);
  }
});

test('ClientErrorCodes_EqualErrorsJson', () => {
  assert.deepEqual(ERROR_CODES, Object.fromEntries(reasons.map((r) => [r, p.errors.reasons[r].code])));
  for (const r of CLIENT_REASONS) assert.ok(!reasons.includes(r), `${r} is client-only`);
});
