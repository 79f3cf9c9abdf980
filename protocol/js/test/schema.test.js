// The schemas themselves: well-formed, complete, and strict where the contract is.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeErrors, loadProtocol } from '../test-support/protocol-schemas.js';
import { SchemaSet } from '../test-support/schema-validator.js';

const p = loadProtocol();

const CONTRACT_METHODS = {
  'system.info': 'read',
  'readers.list': 'read',
  'events.subscribe': 'read',
  'certificates.list': 'read',
  'pin.status': 'read',
  'pin.verify': 'manage',
  'pin.change': 'manage',
  'pin.unblock': 'manage',
  'puk.change': 'manage',
  sign: 'sign',
  decrypt: 'decrypt',
  register: 'register',
};
const CONTRACT_EVENTS = ['reader.added', 'reader.removed', 'card.inserted', 'card.removed'];

const CARD = 'piv-8fcb6f7feb15d8db67820d81617a0930';
const CERT = `${CARD}:9c`;
const SHA256 = '4yFFq1Xi8EoNHTDi5kFHMAWutJ4d/yCl/J+v+2b51rc=';
const SHA384 = '3zdDafoM+Jn+Xpr7sI861tWGEELMsmugE7mRwhEjFRxCw38T4xLo0CSnl5fGIt0m';
const SHA512 = 'CtwIeMzRl76PBsTmb115KwNOQdkRpqqfUfOSXkYoaXCvqilqtobuvuXu7JdiQPXaw6DHtA7t4wJorEu98sGIPg==';

function accepts(run, what) {
  assert.ok(run.valid, `${what} should be valid: ${describeErrors(run)}`);
}
function rejects(run, what) {
  assert.ok(!run.valid, `${what} should be invalid`);
}

test('Schemas_EveryKeywordSupported_AndEveryRefResolves', () => {
  assert.doesNotThrow(() => p.set.checkAll());
});

test('Schemas_UnsupportedKeyword_IsRefused', () => {
  const set = new SchemaSet().add({ $id: 'https://x.invalid/a.json', patternProperties: {} });
  assert.throws(() => set.checkAll(), /unsupported keyword "patternProperties"/);
  const set2 = new SchemaSet().add({ $id: 'https://x.invalid/b.json', $ref: 'c.json' });
  assert.throws(() => set2.checkAll(), /unknown schema/);
});

test('Schemas_AreDraft2020_12_WithIdsUnderOneBase', () => {
  for (const [rel, doc] of p.files) {
    assert.equal(doc.$schema, 'https://json-schema.org/draft/2020-12/schema', rel);
    assert.equal(doc.$id, `https://tenderkey.invalid/schema/v1/${rel}`, rel);
  }
});

test('Index_ListsExactlyTheContractMethods_WithTheirCapabilities', () => {
  assert.deepEqual(
    Object.fromEntries(Object.entries(p.index.methods).map(([m, v]) => [m, v.capability])),
    CONTRACT_METHODS,
  );
  assert.deepEqual(Object.keys(p.index.events).sort(), [...CONTRACT_EVENTS].sort());
  assert.equal(p.index.subprotocol, 'tenderkey.v1');
});

test('Index_NamesEverySchemaFile_AndOnlyExistingOnes', () => {
  const named = new Set([p.index.common, p.index.error, p.index.health, ...Object.values(p.index.envelope),
    ...Object.values(p.index.methods).flatMap((m) => [m.params, m.result]),
    ...Object.entries(p.index.bridgeMethods).filter(([k]) => k !== '$comment').flatMap(([, m]) => [m.params, m.result]),
    ...Object.values(p.index.events)]);
  assert.deepEqual([...named].sort(), [...p.files.keys()].sort());
});

test('ParamsSchemas_RefuseUnknownParameters_ForEveryMethod', () => {
  const minimal = {
    'pin.status': { cardId: CARD },
    'pin.verify': { cardId: CARD },
    'pin.change': { cardId: CARD },
    'pin.unblock': { cardId: CARD },
    'puk.change': { cardId: CARD },
    sign: { certificateId: CERT, digest: SHA256 },
    decrypt: { certificateId: CERT, cms: 'MIIB' },
    register: { certificateId: CERT, challenge: 'a'.repeat(44) },
  };
  for (const method of Object.keys(CONTRACT_METHODS)) {
    const ok = minimal[method] ?? {};
    accepts(p.params(method, ok), `${method} minimal params`);
    rejects(p.params(method, { ...ok, unexpected: 1 }), `${method} with an unknown parameter`);
    rejects(p.params(method, { ...ok, lastattempt: true }), `${method} with a mis-cased parameter`);
  }
});

test('ParamsSchemas_AcceptLastAttempt_WhereverAPinOrPukIsTaken', () => {
  const withSecret = {
    'pin.verify': { cardId: CARD, pin: '123456' },
    'pin.change': { cardId: CARD, pin: '123456', newPin: '654321' },
    'pin.unblock': { cardId: CARD, puk: '12345678', newPin: '654321' },
    'puk.change': { cardId: CARD, puk: '12345678', newPuk: '87654321' },
    sign: { certificateId: CERT, pin: '123456', digest: SHA256 },
    decrypt: { certificateId: CERT, pin: '123456', cms: 'MIIB' },
    register: { certificateId: CERT, pin: '123456', challenge: 'a'.repeat(44) },
  };
  for (const [method, params] of Object.entries(withSecret)) {
    accepts(p.params(method, { ...params, lastAttempt: true }), `${method} lastAttempt`);
    rejects(p.params(method, { ...params, lastAttempt: 'yes' }), `${method} lastAttempt as a string`);
  }
  rejects(p.params('pin.status', { cardId: CARD, lastAttempt: true }), 'pin.status takes no PIN');
});

test('PinParams_SecretsAreStringsOfAnyFormat_FormatIsTheDaemonsPinFormat', () => {
  accepts(p.params('pin.verify', { cardId: CARD, pin: '12' }), 'short PIN (PIN_FORMAT, not INVALID_PARAMS)');
  accepts(p.params('pin.verify', { cardId: CARD, pin: '' }), 'empty PIN');
  rejects(p.params('pin.verify', { cardId: CARD, pin: 123456 }), 'PIN as a number');
  rejects(p.params('pin.verify', { cardId: CARD, pin: null }), 'PIN null');
  rejects(p.params('pin.verify', {}), 'no cardId');
});

test('PinParams_PairedValues_ComeTogetherOrNotAtAll', () => {
  accepts(p.params('pin.change', { cardId: CARD }), 'pin.change on the PIN pad');
  rejects(p.params('pin.change', { cardId: CARD, pin: '123456' }), 'pin without newPin');
  rejects(p.params('pin.change', { cardId: CARD, newPin: '123456' }), 'newPin without pin');
  rejects(p.params('pin.unblock', { cardId: CARD, puk: '12345678' }), 'puk without newPin');
  rejects(p.params('pin.unblock', { cardId: CARD, puk: '12345678', newPuk: '12345678' }), 'newPuk in pin.unblock');
  rejects(p.params('puk.change', { cardId: CARD, newPuk: '12345678' }), 'newPuk without puk');
});

test('SignParams_ExactlyOneOfDigestAndData', () => {
  accepts(p.params('sign', { certificateId: CERT, data: '' }), 'empty data');
  rejects(p.params('sign', { certificateId: CERT }), 'neither');
  rejects(p.params('sign', { certificateId: CERT, digest: SHA256, data: 'AAAA' }), 'both');
});

test('SignParams_DigestLength_FollowsHash', () => {
  accepts(p.params('sign', { certificateId: CERT, digest: SHA256 }), 'SHA-256 by default');
  accepts(p.params('sign', { certificateId: CERT, hash: 'SHA-384', digest: SHA384 }), 'SHA-384');
  accepts(p.params('sign', { certificateId: CERT, hash: 'SHA-512', digest: SHA512 }), 'SHA-512');
  rejects(p.params('sign', { certificateId: CERT, digest: SHA384 }), '48 bytes with default hash');
  rejects(p.params('sign', { certificateId: CERT, hash: 'SHA-256', digest: SHA512 }), '64 bytes for SHA-256');
  rejects(p.params('sign', { certificateId: CERT, hash: 'SHA-512', digest: SHA256 }), '32 bytes for SHA-512');
  rejects(p.params('sign', { certificateId: CERT, hash: 'SHA-1', digest: SHA256 }), 'SHA-1');
  rejects(p.params('sign', { certificateId: CERT, hash: 'sha-256', digest: SHA256 }), 'lowercase hash name');
});

test('SignParams_CmsOptions_OnlyWithFormatCms_AndAttachedNeedsData', () => {
  accepts(p.params('sign', { certificateId: CERT, digest: SHA256, format: 'cms' }), 'cms detached by default');
  accepts(p.params('sign', { certificateId: CERT, digest: SHA256, format: 'cms', cms: { signingTime: false } }), 'no signing time');
  accepts(p.params('sign', { certificateId: CERT, data: 'AAAA', format: 'cms', cms: { detached: false } }), 'attached with data');
  rejects(p.params('sign', { certificateId: CERT, digest: SHA256, format: 'cms', cms: { detached: false } }), 'attached with digest');
  rejects(p.params('sign', { certificateId: CERT, digest: SHA256, cms: { detached: true } }), 'cms options with raw');
  rejects(p.params('sign', { certificateId: CERT, digest: SHA256, format: 'raw', cms: {} }), 'cms options with explicit raw');
  rejects(p.params('sign', { certificateId: CERT, digest: SHA256, format: 'cms', cms: { attached: true } }), 'unknown cms option');
  rejects(p.params('sign', { certificateId: CERT, digest: SHA256, format: 'pkcs7' }), 'unknown format');
});

test('SignParams_SignatureEncoding_OnlyForRawEcdsa', () => {
  accepts(p.params('sign', { certificateId: CERT, digest: SHA256, algorithm: 'ECDSA', signatureEncoding: 'p1363' }), 'ECDSA p1363');
  accepts(p.params('sign', { certificateId: CERT, digest: SHA256, signatureEncoding: 'der' }), 'algorithm left to the key');
  rejects(p.params('sign', { certificateId: CERT, digest: SHA256, algorithm: 'RSA-PSS', signatureEncoding: 'der' }), 'with RSA-PSS');
  rejects(p.params('sign', { certificateId: CERT, digest: SHA256, format: 'cms', signatureEncoding: 'p1363' }), 'with cms');
  rejects(p.params('sign', { certificateId: CERT, digest: SHA256, algorithm: 'ECDSA', signatureEncoding: 'raw' }), 'unknown encoding');
  rejects(p.params('sign', { certificateId: CERT, digest: SHA256, algorithm: 'RSASSA-PSS' }), 'unknown algorithm');
});

test('Base64_StandardCanonicalWithPadding_Only', () => {
  const sign = (data) => p.params('sign', { certificateId: CERT, data });
  for (const ok of ['', 'AA==', 'AAA=', 'AAAA', 'TWFu', 'TWE=', 'TQ==', 'ab+/']) accepts(sign(ok), ok);
  for (const bad of ['A', 'AA', 'AAA', 'AB==', 'AAB=', 'TQ=', 'ab-_', 'AAAA\n', 'AA AA', '====', 'AA=A']) {
    rejects(sign(bad), JSON.stringify(bad));
  }
});

test('Identifiers_CharacterSetsAndLengths', () => {
  accepts(p.params('pin.status', { cardId: 'a' }), 'one character');
  accepts(p.params('pin.status', { cardId: 'A'.repeat(128) }), '128 characters');
  rejects(p.params('pin.status', { cardId: 'A'.repeat(129) }), '129 characters');
  rejects(p.params('pin.status', { cardId: '' }), 'empty');
  rejects(p.params('pin.status', { cardId: 'abc:9c' }), 'colon in a cardId');
  rejects(p.params('pin.status', { cardId: 'a/b' }), 'slash');
  accepts(p.params('sign', { certificateId: 'abc:9c', data: '' }), 'colon in a certificateId');
  rejects(p.params('sign', { certificateId: 'abc 9c', data: '' }), 'space in a certificateId');
});

test('DecryptParams_TwoForms_ToldApartByCms', () => {
  accepts(p.params('decrypt', { certificateId: CERT, cms: 'MIIB' }), 'cms form');
  accepts(p.params('decrypt', { certificateId: CERT, algorithm: 'RSA-OAEP', ciphertext: 'AAAA' }), 'OAEP default hash');
  accepts(p.params('decrypt', { certificateId: CERT, algorithm: 'RSA-OAEP', hash: 'SHA-512', ciphertext: 'AAAA' }), 'OAEP SHA-512');
  accepts(p.params('decrypt', { certificateId: CERT, algorithm: 'RSAES-PKCS1-v1_5', ciphertext: 'AAAA' }), 'PKCS#1 v1.5');
  rejects(p.params('decrypt', { certificateId: CERT, algorithm: 'RSAES-PKCS1-v1_5', hash: 'SHA-256', ciphertext: 'AAAA' }), 'hash with v1.5');
  rejects(p.params('decrypt', { certificateId: CERT, cms: 'MIIB', algorithm: 'RSA-OAEP' }), 'cms with algorithm');
  rejects(p.params('decrypt', { certificateId: CERT, cms: 'MIIB', ciphertext: 'AAAA' }), 'cms with ciphertext');
  rejects(p.params('decrypt', { certificateId: CERT, ciphertext: 'AAAA' }), 'raw without algorithm');
  rejects(p.params('decrypt', { certificateId: CERT, algorithm: 'RSA-OAEP' }), 'raw without ciphertext');
  rejects(p.params('decrypt', { certificateId: CERT, cms: '' }), 'empty cms');
  rejects(p.params('decrypt', { certificateId: CERT }), 'neither form');
});

test('RegisterParams_Challenge_44To128PrintableCharacters', () => {
  const reg = (challenge) => p.params('register', { certificateId: CERT, challenge });
  accepts(reg('x'.repeat(44)), '44');
  accepts(reg('~'.repeat(128)), '128');
  accepts(reg('keDU4QdT0vlil+b4nnaBzD+b7uB3SqNckUQeUVvROTY='), 'base64 nonce');
  rejects(reg('x'.repeat(43)), '43');
  rejects(reg('x'.repeat(129)), '129');
  rejects(reg(`${'x'.repeat(43)} `), 'space');
  rejects(reg('挑'.repeat(44)), 'non-ASCII');
  rejects(p.params('register', { certificateId: CERT, challenge: 'x'.repeat(44), origin: 'https://evil.example' }), 'page-supplied origin');
});

test('RequestEnvelope_Ids_StringOrSafeInteger', () => {
  const req = (id) => p.check(p.index.envelope.request, { jsonrpc: '2.0', id, method: 'readers.list' });
  for (const ok of [0, 7, -1, 9007199254740991, -9007199254740991, 'a', 'x'.repeat(128), '請求-1']) accepts(req(ok), String(ok));
  for (const bad of [null, 1.5, 9007199254740992, -9007199254740992, '', 'x'.repeat(129), true, {}, []]) {
    rejects(req(bad), JSON.stringify(bad));
  }
  rejects(p.check(p.index.envelope.request, { jsonrpc: '2.0', method: 'readers.list' }), 'no id');
});

test('RequestEnvelope_Strict', () => {
  const base = { jsonrpc: '2.0', id: 1, method: 'readers.list' };
  const env = (m) => p.check(p.index.envelope.request, m);
  accepts(env(base), 'no params');
  accepts(env({ ...base, params: {} }), 'object params');
  accepts(env({ ...base, params: [] }), 'array params (INVALID_PARAMS, not INVALID_REQUEST)');
  rejects(env({ ...base, params: 'x' }), 'string params');
  rejects(env({ ...base, params: null }), 'null params');
  rejects(env({ ...base, jsonrpc: '1.0' }), 'jsonrpc 1.0');
  rejects(env({ ...base, method: '' }), 'empty method');
  rejects(env({ ...base, method: 7 }), 'numeric method');
  rejects(env({ ...base, extra: true }), 'extra member');
  rejects(env([base]), 'batch');
  accepts(p.request({ ...base, params: {} }), 'whole request');
  rejects(p.request({ ...base, method: 'card.format' }), 'unknown method');
  rejects(p.request({ ...base, method: 'pin.status', params: {} }), 'params of the method');
});

test('ErrorEnvelope_CodeIsFixedByReason_AndDataIsExact', () => {
  const fail = (error, id = 1) => p.failure({ jsonrpc: '2.0', id, error });
  const e = (reason, data = {}, code = p.errors.reasons[reason].code) => ({ code, message: 'm', data: { reason, ...data } });
  for (const reason of Object.keys(p.errors.reasons)) {
    const needs = {
      INTERNAL: { correlationId: 'c1' },
      CARD_REMOVED: { outcome: 'none' },
      CARD_ERROR: { sw: '6a82' },
      AMBIGUOUS_CARD: { readers: ['Reader A 00 00', 'Reader B 01 00'] },
      TIMEOUT: { outcome: 'unknown' },
      PAYLOAD_TOO_LARGE: { field: 'data', limit: 1024 },
      PIN_FORMAT: { field: 'pin' },
      PIN_INCORRECT: { retriesLeft: 2 },
      PIN_BLOCKED: { retriesLeft: 0 },
      PUK_INCORRECT: { retriesLeft: 1 },
      PUK_BLOCKED: { retriesLeft: 0 },
      PIN_LAST_ATTEMPT: { retriesLeft: 1 },
      NOT_PERMITTED: { capability: 'manage' },
    }[reason] ?? {};
    accepts(fail(e(reason, needs)), reason);
    rejects(fail(e(reason, needs, -32000)), `${reason} with a wrong code`);
    rejects(fail(e(reason, { ...needs, extra: 1 })), `${reason} with an extra data member`);
    if (Object.keys(needs).length && reason !== 'INVALID_PARAMS') rejects(fail(e(reason)), `${reason} without its data`);
  }
  accepts(fail(e('PARSE_ERROR'), null), 'id null');
  accepts(fail(e('INVALID_PARAMS', { field: 'cms.detached' })), 'dotted field');
  rejects(fail(e('INVALID_PARAMS', { field: 'cms/detached' })), 'pointer field');
  rejects(fail(e('PIN_INCORRECT', { retriesLeft: 0 })), 'PIN_INCORRECT with 0 left');
  rejects(fail(e('PIN_LAST_ATTEMPT', { retriesLeft: 2 })), 'PIN_LAST_ATTEMPT with 2 left');
  rejects(fail(e('PIN_FORMAT', { field: 'cardId' })), 'PIN_FORMAT about cardId');
  rejects(fail(e('CARD_ERROR', { sw: '6A82' })), 'uppercase sw');
  rejects(fail(e('AMBIGUOUS_CARD', { readers: ['Reader A 00 00'] })), 'AMBIGUOUS_CARD naming one reader');
  rejects(fail(e('AMBIGUOUS_CARD', { readers: ['R', 'R'] })), 'AMBIGUOUS_CARD naming a reader twice');
  rejects(fail(e('TIMEOUT', { outcome: 'maybe' })), 'unknown outcome');
  rejects(fail({ code: -32032, message: 'm', data: { reason: 'PIN_WRONG' } }), 'unknown reason');
  rejects(fail({ code: -32032, message: 'm' }), 'no data');
  rejects(fail({ code: -32032, message: '', data: { reason: 'PIN_INCORRECT', retriesLeft: 2 } }), 'empty message');
});

const reader = (over = {}) => ({
  name: 'R', cardPresent: true, pinpad: false,
  card: { id: CARD, type: 'piv', atr: '3b8f', label: 'x' }, ...over,
});

test('Reader_CardIsNullExactlyWhenNoCardIsPresent', () => {
  const list = (...readers) => p.result('readers.list', { readers });
  accepts(list(reader(), reader({ cardPresent: false, card: null })), 'with and without card');
  rejects(list(reader({ card: null })), 'present without card');
  rejects(list(reader({ cardPresent: false })), 'absent with card');
  accepts(list(reader({ card: { id: null, type: 'unknown', atr: '', label: '' } })), 'mute unknown card');
  rejects(list(reader({ card: { id: CARD, type: 'unknown', atr: '3b8f', label: '' } })), 'unknown card with id');
  rejects(list(reader({ card: { id: null, type: 'piv', atr: '3b8f', label: '' } })), 'PIV card without id');
  rejects(list(reader({ card: { id: CARD, type: 'piv', atr: '3B8F', label: '' } })), 'uppercase ATR');
  rejects(list(reader({ card: { id: CARD, type: 'piv', atr: '3b:8f', label: '' } })), 'ATR with separators');
  rejects(list(reader({ card: { id: CARD, type: 'piv', atr: '3b8', label: '' } })), 'ATR with half a byte');
});

const certificate = (over = {}) => ({
  id: CERT, cardId: CARD, reader: 'R', slot: '9c', label: 'Digital Signature', der: 'MIIB',
  subject: 'CN=範例,C=TW', issuer: 'CN=CA,C=TW', serialNumber: '2ceaa3b1', notBefore: '2024-04-01T00:00:00Z',
  notAfter: '2029-03-31T23:59:59Z', keyAlgorithm: 'RSA-2048', keyUsage: ['digitalSignature'], usableFor: ['sign'],
  expiresInDays: 10,
  subjectAttributes: [{ type: 'C', value: 'TW' }, { type: 'CN', value: '範例' }],
  issuerAttributes: [{ type: 'C', value: 'TW' }, { type: 'CN', value: 'CA' }],
  organizationId: null, subjectType: null, primaryCard: null, policies: [], extendedKeyUsage: [],
  fingerprintSha256: 'ab'.repeat(32), ...over,
});

test('Certificate_UsableFor_OneUseOrTheSignRegisterPair_InFixedOrder', () => {
  const list = (c) => p.result('certificates.list', { certificates: [certificate(c)], caCertificates: [] });
  for (const u of [[], ['sign'], ['decrypt'], ['register'], ['sign', 'register'], ['sign', 'decrypt'], ['decrypt', 'register']]) {
    accepts(list({ usableFor: u }), JSON.stringify(u));
  }
  for (const u of [['register', 'sign'], ['decrypt', 'sign'], ['sign', 'sign'], ['sign', 'decrypt', 'register'], ['login']]) {
    rejects(list({ usableFor: u }), JSON.stringify(u));
  }
});

test('Certificate_GpkiFacts', () => {
  const list = (c) => p.result('certificates.list', { certificates: [certificate(c)], caCertificates: [] });
  const ubn = { value: '12345678', source: 'both', mismatch: false, extensionValue: '12345678', subjectValue: '12345678' };
  accepts(list({ organizationId: ubn, subjectType: 'company', primaryCard: true }), 'company card');
  accepts(list({ organizationId: { ...ubn, source: 'extension', subjectValue: null } }), 'from the extension');
  accepts(list({ organizationId: { ...ubn, mismatch: true, subjectValue: '12345679' } }), 'mismatch');
  accepts(list({ policies: ['2.16.886.101.0.3.3'], extendedKeyUsage: ['clientAuth', '1.3.6.1.4.1.311.10.3.12'] }), 'policies, EKU');
  for (const t of ['company', 'organisation', 'agency', 'unit', 'person', 'other']) {
    accepts(list({ subjectType: t }), t);
  }
  rejects(list({ subjectType: 'government' }), 'unknown subject type');
  rejects(list({ organizationId: { ...ubn, source: 'card' } }), 'unknown source');
  rejects(list({ organizationId: '12345678' }), 'organizationId as a bare string');
  rejects(list({ policies: ['certificatePolicy'] }), 'policy not an OID');
  rejects(list({ fingerprintSha256: 'AB'.repeat(32) }), 'uppercase fingerprint');
  rejects(list({ subjectAttributes: [{ type: 'C' }] }), 'attribute without value');
  const { fingerprintSha256, ...noFingerprint } = certificate();
  assert.ok(fingerprintSha256);
  rejects(p.result('certificates.list', { certificates: [noFingerprint], caCertificates: [] }), 'missing fingerprint');
});

test('CertificatesList_CaCertificates_ApartFromKeys', () => {
  const {
    id, slot, keyAlgorithm, keyUsage, usableFor, expiresInDays, subjectAttributes, issuerAttributes, organizationId,
    subjectType, primaryCard, policies, extendedKeyUsage, fingerprintSha256, ...ca
  } = certificate();
  assert.ok(id && slot && keyAlgorithm && keyUsage && usableFor && expiresInDays !== undefined);
  accepts(p.result('certificates.list', { certificates: [], caCertificates: [ca] }), 'a CA certificate');
  accepts(p.result('certificates.list', { certificates: [], caCertificates: [{ ...ca, label: '' }] }), 'no label');
  rejects(p.result('certificates.list', { certificates: [], caCertificates: [certificate()] }), 'a key in caCertificates');
  rejects(p.result('certificates.list', { certificates: [] }), 'caCertificates missing');
});

test('Certificate_FieldFormats', () => {
  const list = (c) => p.result('certificates.list', { certificates: [certificate(c)], caCertificates: [] });
  accepts(list({ expiresInDays: -3 }), 'expired');
  accepts(list({ serialNumber: '00' }), 'serial zero');
  accepts(list({ slot: '82' }), 'retired slot');
  accepts(list({ keyUsage: [] }), 'no key usage extension');
  rejects(list({ serialNumber: '002c' }), 'serial with a sign octet');
  rejects(list({ serialNumber: '2C' }), 'uppercase serial');
  rejects(list({ slot: '9C' }), 'uppercase slot');
  rejects(list({ notAfter: '2029-03-31T23:59:59+08:00' }), 'date not in UTC');
  rejects(list({ notAfter: '2029-03-31T23:59:59.000Z' }), 'date with fraction');
  rejects(list({ notAfter: '2029-02-30T00:00:00Z' }), 'impossible date');
  rejects(list({ keyAlgorithm: 'RSA-1024' }), 'RSA-1024');
  rejects(list({ keyAlgorithm: 'EC-P521' }), 'EC-P521');
  rejects(list({ keyUsage: ['contentCommitment'] }), 'RFC 5280 alias not used');
  rejects(list({ keyUsage: ['digitalSignature', 'digitalSignature'] }), 'repeated key usage');
  rejects(list({ expiresInDays: 1.5 }), 'fractional days');
  rejects(list({ der: '' }), 'empty der');
  const { label, ...noLabel } = certificate();
  assert.ok(label);
  rejects(p.result('certificates.list', { certificates: [noLabel], caCertificates: [] }), 'missing label');
});

test('Results_Strict', () => {
  accepts(p.result('pin.status', { retriesLeft: 0, blocked: true, pinpad: false }), 'blocked');
  rejects(p.result('pin.status', { retriesLeft: 0, blocked: false, pinpad: false }), '0 left but not blocked');
  rejects(p.result('pin.status', { retriesLeft: 2, blocked: true, pinpad: false }), 'blocked with tries left');
  rejects(p.result('pin.verify', { verified: false }), 'verified false');
  rejects(p.result('events.subscribe', { subscribed: true, extra: 1 }), 'extra member');
  rejects(p.result('system.info', { name: 'TenderKey', version: '0.1', protocol: 1, backends: ['piv'], origin: 'o' }), 'two-part version');
  rejects(p.result('system.info', { name: 'TenderKey', version: '0.1.0', protocol: 2, backends: ['piv'], origin: 'o' }), 'protocol 2');
  rejects(p.result('system.info', { name: 'TenderKey', version: '0.1.0', protocol: 1, backends: ['opensc'], origin: 'o' }), 'unknown backend');
  accepts(p.result('sign', { signature: 'AAAA', certificate: 'MIIB', algorithm: 'ECDSA', hash: 'SHA-384' }), 'raw');
  accepts(p.result('sign', { cms: 'MIIB', certificate: 'MIIB' }), 'cms');
  rejects(p.result('sign', { cms: 'MIIB', certificate: 'MIIB', hash: 'SHA-256' }), 'cms with hash');
  rejects(p.result('sign', { signature: 'AAAA', certificate: 'MIIB' }), 'raw without algorithm');
  accepts(p.result('decrypt', { data: '' }), 'empty plaintext');
  const token = {
    unverifiedCertificate: 'MIIB', algorithm: 'ES384', signature: 'AAAA', format: 'web-eid:1.0',
    appVersion: 'urn:tenderkey:0.1.0', certificates: ['MIIB'], chain: [],
  };
  accepts(p.result('register', token), 'token');
  rejects(p.result('register', { ...token, algorithm: 'PS256' }), 'PS256');
  rejects(p.result('register', { ...token, format: 'web-eid:1' }), 'format');
  rejects(p.result('register', { ...token, certificates: [] }), 'no certificates');
  rejects(p.result('register', { ...token, appVersion: 'TenderKey 0.1.0' }), 'appVersion not a URN');
  accepts(p.result('register', { ...token, chain: ['MIIB', 'MIIC'] }), 'CA certificates in chain');
  const { chain, ...noChain } = token;
  assert.ok(chain);
  rejects(p.result('register', noChain), 'chain missing');
  rejects(p.result('register', { ...token, chain: [''] }), 'empty certificate in chain');
});

test('Notifications_CarryTheirEventsPayload', () => {
  const n = (params) => p.notification({ jsonrpc: '2.0', method: 'event', params });
  accepts(n({ type: 'reader.added', reader: 'R' }), 'reader.added');
  accepts(n({ type: 'card.removed', reader: 'R', cardId: null }), 'unknown card removed');
  accepts(n({ type: 'card.inserted', reader: 'R', card: reader().card }), 'card.inserted');
  rejects(n({ type: 'card.inserted', reader: 'R', card: null }), 'card.inserted without card');
  rejects(n({ type: 'reader.added', reader: reader() }), 'reader as an object');
  rejects(n({ type: 'card.removed', reader: 'R' }), 'card.removed without cardId');
  rejects(n({ type: 'card.moved', reader: 'R' }), 'unknown type');
  rejects(p.notification({ jsonrpc: '2.0', id: 1, method: 'event', params: { type: 'reader.added', reader: 'R' } }), 'with id');
});

test('Health_Body', () => {
  accepts(p.health({ status: 'ok', version: '1.2.3', readers: 0 }), 'ok');
  rejects(p.health({ status: 'ok', version: '1.2.3', readers: 0, origin: 'x' }), 'leaks more');
  rejects(p.health({ status: 'ok', version: '1.2.3', readers: -1 }), 'negative readers');
});
