// pin.status, pin.verify and the capability check, with the messages tenderkey.js shows.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TenderKeyError, messageFor } from '../tenderkey.js';
import {
  LIMIT, ORIGIN_LIMITED, PIN, READER, WRONG_PIN, open,
} from './live-support.js';

async function cardIdOf(tk) {
  const { readers } = await tk.readersList();
  const reader = readers.find((r) => r.name === READER);
  assert.ok(reader?.card?.id, `a card in ${READER}`);
  return reader.card.id;
}

test('PinStatus_FreshCard_HasThreeTriesAndNoPinpad', LIMIT, async (t) => {
  const tk = await open(t);
  const status = await tk.pinStatus({ cardId: await cardIdOf(tk) });
  assert.deepEqual(status, { retriesLeft: 3, blocked: false, pinpad: false });
});

test('PinVerify_WrongPin_RejectsPinIncorrectWithRetriesLeftAndLocalizedMessages', LIMIT, async (t) => {
  // Whatever happens below, the card leaves this test with its three tries (after hooks run
  // in the order they were added: this one before open()'s, which closes the client).
  let tk = null;
  let cardId = null;
  t.after(() => (cardId ? tk.pinVerify({ cardId, pin: PIN }) : undefined));
  tk = await open(t);
  cardId = await cardIdOf(tk);

  let caught = null;
  try {
    await tk.pinVerify({ cardId, pin: WRONG_PIN });
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof TenderKeyError, `a TenderKeyError, got ${caught}`);
  assert.ok(caught instanceof Error);
  assert.equal(caught.name, 'TenderKeyError');
  assert.equal(caught.reason, 'PIN_INCORRECT');
  assert.equal(caught.code, -32032);
  assert.equal(caught.method, 'pin.verify');
  assert.equal(caught.retriesLeft, 2);
  assert.equal(caught.data.retriesLeft, 2);
  assert.equal(caught.localizedMessage('zh-TW'), 'PIN 碼錯誤，尚可嘗試 2 次。');
  assert.equal(caught.localizedMessage('en'), 'Incorrect PIN. 2 attempts left.');
  assert.equal(messageFor(caught), 'PIN 碼錯誤，尚可嘗試 2 次。', 'zh-TW is the default language');

  assert.deepEqual(await tk.pinStatus({ cardId }), { retriesLeft: 2, blocked: false, pinpad: false });
  assert.deepEqual(await tk.pinVerify({ cardId, pin: PIN }), { verified: true });
  assert.deepEqual(await tk.pinStatus({ cardId }), { retriesLeft: 3, blocked: false, pinpad: false },
    'a right PIN resets the counter');
});

test('PinVerify_BadFormat_IsPinFormatAndLeavesTheCounter', LIMIT, async (t) => {
  const tk = await open(t);
  const cardId = await cardIdOf(tk);
  await assert.rejects(tk.pinVerify({ cardId, pin: '12' }), (err) => {
    assert.equal(err.reason, 'PIN_FORMAT');
    assert.equal(err.data.field, 'pin');
    assert.equal(err.localizedMessage('en'), 'The PIN does not meet the card\'s rules (6 to 8 digits). Please enter it again.');
    assert.equal(err.localizedMessage('zh-TW'), 'PIN 碼格式不符合卡片規定（6 至 8 位數字），請重新輸入。');
    return true;
  });
  assert.equal((await tk.pinStatus({ cardId })).retriesLeft, 3);
});

test('PinVerify_FromAnOriginWithoutManage_IsNotPermittedAndTheCardIsUntouched', LIMIT, async (t) => {
  const limited = await open(t, { origin: ORIGIN_LIMITED });
  const cardId = await cardIdOf(limited);
  await assert.rejects(limited.pinVerify({ cardId, pin: WRONG_PIN }), (err) => {
    assert.ok(err instanceof TenderKeyError);
    assert.equal(err.reason, 'NOT_PERMITTED');
    assert.equal(err.code, -32050);
    assert.equal(err.data.capability, 'manage');
    assert.equal(err.localizedMessage('zh-TW'), '此網站未獲授權使用「卡片密碼管理」功能，請洽系統管理員。');
    assert.equal(err.localizedMessage('en'),
      'This website is not allowed to use the "manage" function. Please contact your administrator.');
    return true;
  });
  const { certificates } = await limited.certificatesList({ reader: READER });
  const decryptKey = certificates.find((c) => c.usableFor.includes('decrypt'));
  await assert.rejects(
    limited.decrypt({ certificateId: decryptKey.id, pin: PIN, algorithm: 'RSA-OAEP', ciphertext: new Uint8Array(256) }),
    (err) => err.reason === 'NOT_PERMITTED' && err.data.capability === 'decrypt',
  );
  // read is allowed to this origin, and the refused wrong PIN never reached the card.
  assert.equal((await limited.pinStatus({ cardId })).retriesLeft, 3);
});
