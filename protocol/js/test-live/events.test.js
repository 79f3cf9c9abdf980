// Card events pushed by the daemon when the virtual card is pulled out and put back.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TenderKeyError } from '../tenderkey.js';
import {
  LIMIT, READER, cardCtl, nextEvent, open,
} from './live-support.js';

test('Subscribe_CardRemovedThenInserted_EmitsCardRemovedAndCardInserted', LIMIT, async (t) => {
  const tk = await open(t);
  const seen = [];
  tk.on('event', (ev) => seen.push(ev.type));
  assert.deepEqual(await tk.subscribe(), { subscribed: true });
  assert.equal(tk.subscribed, true);
  assert.deepEqual(await tk.subscribe(), { subscribed: true }, 'subscribing again is harmless');

  const { readers } = await tk.readersList();
  const card = readers.find((r) => r.name === READER).card;
  assert.ok(card, `a card in ${READER}`);

  let removedByTest = false;
  t.after(async () => {
    if (removedByTest) await cardCtl(0, 'insert');
  });

  const removed = nextEvent(tk, 'card.removed', { filter: (e) => e.reader === READER });
  assert.match(await cardCtl(0, 'remove'), /^ok/);
  removedByTest = true;
  assert.deepEqual(await removed, { type: 'card.removed', reader: READER, cardId: card.id });

  const after = (await tk.readersList()).readers.find((r) => r.name === READER);
  assert.equal(after.cardPresent, false);
  assert.equal(after.card, null);
  await assert.rejects(tk.certificatesList({ reader: READER }),
    (err) => err instanceof TenderKeyError && err.reason === 'NO_CARD');
  await assert.rejects(tk.pinStatus({ cardId: card.id }),
    (err) => err instanceof TenderKeyError && err.reason === 'NO_CARD');

  const inserted = nextEvent(tk, 'card.inserted', { filter: (e) => e.reader === READER });
  assert.match(await cardCtl(0, 'insert'), /^ok/);
  removedByTest = false;
  assert.deepEqual(await inserted, { type: 'card.inserted', reader: READER, card });

  assert.equal((await tk.certificatesList({ reader: READER })).certificates.length, 5);
  assert.deepEqual(seen.filter((type) => type.startsWith('card.')), ['card.removed', 'card.inserted'],
    'each event once, in order');
});

test('NoSubscription_CardRemoved_NoEventArrives', LIMIT, async (t) => {
  const quiet = await open(t);
  const watcher = await open(t);
  await watcher.subscribe();
  const got = [];
  quiet.on('event', (ev) => got.push(ev));

  let removedByTest = false;
  t.after(async () => {
    if (removedByTest) await cardCtl(0, 'insert');
  });
  const removed = nextEvent(watcher, 'card.removed', { filter: (e) => e.reader === READER });
  await cardCtl(0, 'remove');
  removedByTest = true;
  await removed;
  const inserted = nextEvent(watcher, 'card.inserted', { filter: (e) => e.reader === READER });
  await cardCtl(0, 'insert');
  removedByTest = false;
  await inserted;
  await quiet.systemInfo(); // anything already sent to `quiet` has arrived by now
  assert.deepEqual(got, [], 'a connection that did not subscribe gets no events');
});
