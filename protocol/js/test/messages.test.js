// User-facing messages: one for every reason in both languages, with their values.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadProtocol } from '../test-support/protocol-schemas.js';
import { LANGUAGES, MESSAGES, messageFor, resolveLanguage } from '../messages.js';
import { CLIENT_REASONS, TenderKeyError } from '../tenderkey.js';

const p = loadProtocol();
const ALL_REASONS = [...Object.keys(p.errors.reasons), ...CLIENT_REASONS];

// Representative data for each reason, as the daemon (or the client) sends it.
const SAMPLE = {
  INVALID_PARAMS: { field: 'cms.detached' },
  INTERNAL: { correlationId: 'c0ffee42' },
  CARD_REMOVED: { outcome: 'unknown' },
  CARD_ERROR: { sw: '6a82' },
  TIMEOUT: { outcome: 'unknown' },
  PAYLOAD_TOO_LARGE: { field: 'data', limit: 524288 },
  PIN_FORMAT: { field: 'newPin' },
  PIN_INCORRECT: { retriesLeft: 2 },
  PIN_BLOCKED: { retriesLeft: 0 },
  PUK_INCORRECT: { retriesLeft: 3 },
  PUK_BLOCKED: { retriesLeft: 0 },
  PIN_LAST_ATTEMPT: { retriesLeft: 1 },
  NOT_PERMITTED: { capability: 'manage' },
  CONNECTION_CLOSED: { outcome: 'none', closeCode: 1006 },
  RESPONSE_TIMEOUT: { outcome: 'unknown' },
};

const SIMPLIFIED = /[码错锁请证输读机务无连线时试确认网页为这据个发应误数钥签选择书处块态]/u;

function assertWellFormed(text, what) {
  assert.equal(typeof text, 'string', what);
  assert.ok(text.length > 5, `${what}: "${text}"`);
  assert.doesNotMatch(text, /[{}]|undefined|null|NaN|\[object/, `${what}: "${text}"`);
}

test('Messages_ExistForEveryReason_InBothLanguages', () => {
  assert.deepEqual([...LANGUAGES], ['zh-TW', 'en']);
  for (const lang of LANGUAGES) {
    for (const reason of ALL_REASONS) {
      assert.ok(Object.hasOwn(MESSAGES[lang], reason), `${lang} message for ${reason}`);
    }
  }
});

test('Messages_SameKeysInBothLanguages_AndNoStrayKeys', () => {
  assert.deepEqual(Object.keys(MESSAGES.en).sort(), Object.keys(MESSAGES['zh-TW']).sort());
  for (const key of Object.keys(MESSAGES.en)) {
    const [reason, variant] = key.split('.');
    if (key === 'UNKNOWN') continue;
    assert.ok(ALL_REASONS.includes(reason), `${key} belongs to a reason`);
    if (variant) assert.ok(['unknown', 'puk', 'field', 'plain'].includes(variant), `${key} variant`);
  }
});

test('Messages_RenderCompletely_ForEveryReasonAndVariant', () => {
  for (const lang of LANGUAGES) {
    for (const reason of ALL_REASONS) {
      const data = SAMPLE[reason] ?? {};
      assertWellFormed(messageFor(reason, { lang, data }), `${lang} ${reason}`);
      assertWellFormed(messageFor(reason, { lang }), `${lang} ${reason} without data`);
      assertWellFormed(messageFor(reason, { lang, data, method: 'pin.unblock' }), `${lang} ${reason} about the PUK`);
      assertWellFormed(messageFor(reason, { lang, data: { ...data, outcome: 'none' } }), `${lang} ${reason} outcome none`);
    }
  }
});

test('Messages_ZhTW_IsTraditionalChinese', () => {
  for (const reason of ALL_REASONS) {
    const text = messageFor(reason, { lang: 'zh-TW', data: SAMPLE[reason] ?? {} });
    assert.match(text, /\p{Script=Han}/u, reason);
    assert.doesNotMatch(text, SIMPLIFIED, `${reason} uses simplified characters: ${text}`);
    assert.match(text, /[。！]$/u, `${reason} ends with a full-width stop: ${text}`);
  }
});

test('PinIncorrect_InterpolatesRetriesLeft', () => {
  assert.equal(messageFor('PIN_INCORRECT', { data: { retriesLeft: 2 } }), 'PIN 碼錯誤，尚可嘗試 2 次。');
  assert.equal(messageFor('PIN_INCORRECT', { lang: 'en', data: { retriesLeft: 2 } }), 'Incorrect PIN. 2 attempts left.');
  assert.equal(messageFor('PIN_INCORRECT', { lang: 'en', data: { retriesLeft: 1 } }), 'Incorrect PIN. 1 attempt left.');
  assert.equal(messageFor('PUK_INCORRECT', { lang: 'zh-TW', data: { retriesLeft: 5 } }), 'PUK 碼錯誤，尚可嘗試 5 次。');
  assert.equal(messageFor('PIN_INCORRECT', {}), 'PIN 碼錯誤，請重新輸入。', 'without a count');
  assert.equal(messageFor({ reason: 'PIN_INCORRECT', retriesLeft: 4 }), 'PIN 碼錯誤，尚可嘗試 4 次。', 'from a data object');
});

test('PinMessages_SpeakOfThePuk_WhenThePukIsMeant', () => {
  assert.match(messageFor('PIN_LAST_ATTEMPT', { method: 'pin.verify' }), /^PIN 碼僅剩最後 1 次/);
  assert.match(messageFor('PIN_LAST_ATTEMPT', { method: 'pin.unblock' }), /^PUK 碼僅剩最後 1 次/);
  assert.match(messageFor('PIN_LAST_ATTEMPT', { method: 'puk.change', lang: 'en' }), /PUK attempt/);
  assert.equal(messageFor('PIN_REQUIRED', { method: 'sign' }), '請輸入 PIN 碼。');
  assert.equal(messageFor('PIN_REQUIRED', { method: 'pin.unblock' }), '請輸入 PUK 碼。');
  assert.equal(messageFor('PIN_REQUIRED', { method: 'pin.unblock', lang: 'en' }), 'Please enter your PUK.');
  assert.match(messageFor('PIN_FORMAT', { data: { field: 'newPuk' } }), /^新 PUK 碼格式不符合卡片規定（8 位數字）/);
  assert.match(messageFor('PIN_FORMAT', { data: { field: 'pin' } }), /^PIN 碼格式不符合卡片規定（6 至 8 位數字）/);
  assert.match(messageFor('PIN_FORMAT', { lang: 'en', data: { field: 'newPin' } }), /^The new PIN does not meet/);
});

test('UncertainOutcomes_AreSaidSo', () => {
  assert.match(messageFor('TIMEOUT', { data: { outcome: 'unknown' } }), /無法確認/);
  assert.doesNotMatch(messageFor('TIMEOUT', { data: { outcome: 'none' } }), /無法確認/);
  assert.match(messageFor('CARD_REMOVED', { lang: 'en', data: { outcome: 'unknown' } }), /may have completed/);
  assert.match(messageFor('CONNECTION_CLOSED', { lang: 'en', data: { outcome: 'unknown' } }), /may or may not/);
});

test('Messages_CarryTheDetailsTheUserMayNeed', () => {
  assert.match(messageFor('CARD_ERROR', { data: { sw: '6a82' } }), /6a82/);
  assert.match(messageFor('INTERNAL', { lang: 'en', data: { correlationId: 'c0ffee42' } }), /c0ffee42/);
  assert.match(messageFor('NOT_PERMITTED', { data: { capability: 'manage' } }), /「卡片密碼管理」/);
  assert.match(messageFor('NOT_PERMITTED', { lang: 'en', data: { capability: 'sign' } }), /"sign"/);
  assert.match(messageFor('NOT_PERMITTED', { data: { capability: 'sign-raw' } }), /「原始簽章（兼作註冊的金鑰）」/);
  assert.match(messageFor('INVALID_PARAMS', { data: { field: 'cms.detached' } }), /cms\.detached/);
});

test('Languages_Resolve', () => {
  assert.equal(resolveLanguage(), 'zh-TW');
  assert.equal(resolveLanguage('zh'), 'zh-TW');
  assert.equal(resolveLanguage('zh-Hant-TW'), 'zh-TW');
  assert.equal(resolveLanguage('ZH-tw'), 'zh-TW');
  assert.equal(resolveLanguage('en-GB'), 'en');
  assert.equal(resolveLanguage('ja'), 'en');
  assert.equal(resolveLanguage('zhx'), 'en');
});

test('UnknownReason_GetsAGenericMessageNamingIt', () => {
  assert.equal(messageFor('CARD_ON_FIRE'), '發生未預期的錯誤（CARD_ON_FIRE），請稍後再試。');
  assert.match(messageFor('CARD_ON_FIRE', { lang: 'en' }), /\(CARD_ON_FIRE\)/);
});

test('TenderKeyError_LocalizedMessage_UsesItsDataAndMethod', () => {
  const e = new TenderKeyError('PIN_LAST_ATTEMPT', { data: { retriesLeft: 1 }, method: 'puk.change' });
  assert.match(e.localizedMessage(), /^PUK 碼/);
  assert.match(e.localizedMessage('en'), /PUK attempt/);
  assert.equal(e.message, e.localizedMessage('en'), 'English text when the daemon gave none');
});
