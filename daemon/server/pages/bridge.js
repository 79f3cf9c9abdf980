// The TenderKey bridge window. A portal on the public web cannot open a WebSocket to the
// loopback daemon (Local Network Access), but a top-level window served by the daemon can. The
// portal opens this page as a popup (protocol/js openBridge()); the page binds to its opener,
// attaches its own WebSocket to the opener's origin (bridge.attach) and relays the opener's
// API requests, so the daemon judges every request as that origin.
//
// Rules (docs/integrating.md, "The bridge window"):
// - no opener, or an opener that is not a top-level window: refuse;
// - window.name is cleared at once, so no page can target this window by name;
// - one data-free ready message to the opener with targetOrigin "*"; then only messages whose
//   source is the opener count, the origin of the first one binds the window for its whole
//   life, every other source or origin is ignored, and every message to the opener carries
//   that origin as targetOrigin;
// - only the methods of RELAYED, only their known members, never lastAttempt, never bridge.*;
// - the window closes when its opener closes or stops sending its heartbeat.
// No storage API is used: every bridge window shares the daemon's one origin.
'use strict';

(() => {
  const TEXT = {
    'zh-TW': {
      title: 'TenderKey 讀卡連線視窗',
      starting: '正在啟動…',
      waiting: '正在等候網站…',
      connecting: '正在連線至 TenderKey…',
      ready: '已連線，正在為下列網站使用 IC 卡：',
      site: '網站',
      keepOpen: '請保持此視窗開啟；網站使用完畢後會自動關閉。',
      noOpener: '此視窗須由網站開啟，不能單獨使用。',
      framedOpener: '開啟此視窗的是嵌入在其他網頁中的內容，基於安全不予連線。',
      badOrigin: '無法辨識開啟此視窗的網站。',
      notAllowed: '此網站未獲准使用 TenderKey。請洽系統管理員。',
      daemonDown: '無法連線至 TenderKey 服務，請確認服務已啟動。',
      closed: '與 TenderKey 的連線已中斷。',
      openerGone: '網站已關閉，此視窗即將關閉。',
      pinTitle: '請輸入 IC 卡的 PIN 碼',
      pinOrigin: '網站',
      pinOperation: '作業',
      pinSubject: '憑證',
      pinContent: '內容',
      pinTries: '剩餘嘗試次數',
      pinLabel: 'PIN 碼（只在此視窗輸入，網站看不到）',
      ok: '確定',
      cancel: '取消',
      lastTry: '這是最後 1 次嘗試機會：若 PIN 碼錯誤，IC 卡將被鎖定。',
      confirmLast: '我確認 PIN 碼無誤，要使用最後一次機會',
      op_sign: '數位簽章',
      op_decrypt: '解密',
      op_register: '註冊（以 IC 卡證明身分）',
      'op_pin.verify': '驗證 PIN 碼',
      contentData: (fp, size) => `SHA-256 ${fp}（${size} 位元組）`,
      contentDigest: (fp) => `摘要 ${fp}`,
      contentEnvelope: (size, to) => `${size} 位元組的加密資料，收件者：${to}`,
      contentNone: '—',
      denied: '您已拒絕此網站使用 TenderKey。',
      pinpadTitle: '請在讀卡機上確認',
      pinpadConfirm: '請核對以上內容，再用讀卡機的按鍵輸入 PIN 碼，並按讀卡機上的確認鍵。PIN 碼不經過電腦。',
      pinpadContinue: '在讀卡機上輸入',
      pinpadWaiting: (s) => `讀卡機正在等候您輸入 PIN 碼…（${s} 秒）`,
      pinpadCancelled: '已在讀卡機上取消輸入，作業未執行。',
      pinpadTimeout: '讀卡機等候逾時，未輸入 PIN 碼；作業未執行，請在網站上再試一次。',
      pinpadUserCancelled: '已取消，網站不會收到結果。若讀卡機仍在等候，請按讀卡機上的取消鍵。',
      pinIncorrect: (n) => `PIN 碼錯誤，尚可嘗試 ${n} 次。`,
      pinBlocked: 'PIN 碼已鎖定，請以 PUK 解鎖。',
    },
    en: {
      title: 'TenderKey card connection',
      starting: 'Starting…',
      waiting: 'Waiting for the site…',
      connecting: 'Connecting to TenderKey…',
      ready: 'Connected. The card is used for this site:',
      site: 'Site',
      keepOpen: 'Keep this window open; it closes when the site is done.',
      noOpener: 'This window must be opened by a site; it cannot be used on its own.',
      framedOpener: 'This window was opened by content embedded in another page; for safety it does not connect.',
      badOrigin: 'The site that opened this window cannot be identified.',
      notAllowed: 'This site is not allowed to use TenderKey. Ask your administrator.',
      daemonDown: 'Cannot reach the TenderKey service; make sure it is running.',
      closed: 'The connection to TenderKey was lost.',
      openerGone: 'The site was closed; this window closes now.',
      pinTitle: 'Enter the PIN of your card',
      pinOrigin: 'Site',
      pinOperation: 'Operation',
      pinSubject: 'Certificate',
      pinContent: 'Content',
      pinTries: 'Tries left',
      pinLabel: 'PIN (typed only in this window; the site never sees it)',
      ok: 'OK',
      cancel: 'Cancel',
      lastTry: 'This is the last try: a wrong PIN blocks the card.',
      confirmLast: 'I am sure of the PIN and want to use the last try',
      op_sign: 'Digital signature',
      op_decrypt: 'Decryption',
      op_register: 'Registration (prove the card holder)',
      'op_pin.verify': 'PIN verification',
      contentData: (fp, size) => `SHA-256 ${fp} (${size} bytes)`,
      contentDigest: (fp) => `digest ${fp}`,
      contentEnvelope: (size, to) => `${size} bytes of encrypted data for ${to}`,
      contentNone: '—',
      denied: 'You denied this site the use of TenderKey.',
      pinpadTitle: 'Confirm on the reader',
      pinpadConfirm: "Check the above, then type the PIN on the reader's keypad and press its OK key. The PIN never passes through the computer.",
      pinpadContinue: 'Enter it on the reader',
      pinpadWaiting: (s) => `The reader is waiting for your PIN… (${s} s)`,
      pinpadCancelled: 'The entry was cancelled on the reader; nothing was done.',
      pinpadTimeout: 'Nothing was entered on the reader in time; nothing was done. Try again from the site.',
      pinpadUserCancelled: 'Cancelled: the site gets no result. If the reader is still waiting, press Cancel on the reader.',
      pinIncorrect: (n) => `Wrong PIN; ${n} tries left.`,
      pinBlocked: 'The PIN is blocked; unblock it with the PUK.',
    },
  };
  const { lang, showOrigin, fitWindow } = window.TenderKeyConsent;
  const t = (key) => TEXT[lang][key];

  // The methods relayed from the opener and the members each may carry. lastAttempt is
  // never among them: only a decision made in this window may say "use the last try".
  const RELAYED = {
    'system.info': [],
    'readers.list': [],
    'certificates.list': ['reader'],
    'events.subscribe': [],
    'pin.status': ['cardId'],
    'pin.verify': ['cardId', 'pin'],
    sign: ['certificateId', 'pin', 'hash', 'digest', 'data', 'algorithm', 'format', 'cms', 'signatureEncoding'],
    decrypt: ['certificateId', 'pin', 'cms', 'algorithm', 'hash', 'ciphertext'],
    register: ['certificateId', 'pin', 'challenge'],
  };
  const NESTED = { sign: { cms: ['detached', 'signingTime'] } };
  const HEARTBEAT_LIMIT_MS = 10_000; // the client pings every 2 s
  const WATCH_MS = 500;

  const $ = (id) => document.getElementById(id);
  let bound = null; // the opener's origin, once bound
  let socket = null;
  let attached = false;
  let pagePins = true; // false: the administrator refuses PINs typed into pages
  let lastPing = Date.now();
  let nextId = 1;
  const pending = new Map(); // daemon request id -> resolve(response)
  const PIN_METHODS = new Set(['sign', 'decrypt', 'register', 'pin.verify']);
  let pinQueue = Promise.resolve(); // one PIN dialog at a time
  let registrable = null; // the registrable domain of the opener's origin, from the daemon

  function state(name, key) {
    document.body.dataset.state = name;
    $('status').textContent = t(key);
  }

  function showSite(origin, registrable) {
    showOrigin($('site-origin'), $('site-unicode'), origin, registrable);
    $('site-label').textContent = t('site');
    $('site').hidden = false;
  }

  function toOpener(message) {
    if (bound !== null && window.opener && !window.opener.closed) window.opener.postMessage(message, bound);
  }

  function fail(key, reason) {
    state('error', key);
    if (reason) toOpener({ type: 'failed', reason });
    if (socket) {
      socket.onclose = null;
      socket.close(1000);
      socket = null;
    }
    attached = false;
  }

  function closeWindow(key) {
    state('error', key);
    if (socket) {
      socket.onclose = null;
      socket.close(1000);
    }
    window.close();
  }

  // Only what RELAYED names, copied member by member; anything else never reaches the daemon.
  function filterParams(method, params) {
    const out = {};
    if (params === null || typeof params !== 'object' || Array.isArray(params)) return out;
    for (const name of RELAYED[method]) {
      if (!Object.prototype.hasOwnProperty.call(params, name)) continue;
      const nested = NESTED[method]?.[name];
      const value = params[name];
      if (nested && value !== null && typeof value === 'object' && !Array.isArray(value)) {
        out[name] = {};
        for (const member of nested) {
          if (Object.prototype.hasOwnProperty.call(value, member)) out[name][member] = value[member];
        }
      } else {
        out[name] = value;
      }
    }
    return out;
  }

  // One request of this window's own to the daemon; resolves with the response message, or
  // null when the connection closed first.
  function daemonCall(method, params) {
    if (!attached || socket === null || socket.readyState !== WebSocket.OPEN) return Promise.resolve(null);
    const daemonId = nextId++;
    return new Promise((resolve) => {
      pending.set(daemonId, resolve);
      socket.send(JSON.stringify({ jsonrpc: '2.0', id: daemonId, method, params }));
    });
  }

  function answer(id, response, sentToDaemon = true) {
    if (response === null) toOpener({ type: 'closed', id, outcome: sentToDaemon ? 'unknown' : 'none' });
    else if ('error' in response) toOpener({ type: 'error', id, error: response.error });
    else toOpener({ type: 'result', id, result: response.result });
  }

  async function relay(message) {
    const { id, method, params } = message;
    if (!(typeof id === 'number' || typeof id === 'string')) return;
    if (!Object.prototype.hasOwnProperty.call(RELAYED, method)) {
      toOpener({ type: 'error', id, error: { code: -32601, message: 'Method not found', data: { reason: 'METHOD_NOT_FOUND' } } });
      return;
    }
    if (!attached || socket === null || socket.readyState !== WebSocket.OPEN) {
      answer(id, null, false);
      return;
    }
    const filtered = filterParams(method, params);
    const wantsPin = PIN_METHODS.has(method) && (filtered.pin === undefined || filtered.pin === '');
    if (wantsPin) delete filtered.pin; // an empty PIN counts as none
    if (!wantsPin && !pagePins && filtered.pin !== undefined) {
      toOpener({
        type: 'error',
        id,
        error: { code: -32054, message: 'PINs typed into web pages are refused', data: { reason: 'PAGE_PIN_REFUSED' } },
      });
      return;
    }
    // A reader with a PIN pad: the daemon would start the PIN pad at once on a request
    // without a PIN, so this window learns the reader first and shows what is approved before
    // anything is sent.
    const card = wantsPin ? await cardOf(method, filtered) : null;
    if (card?.pinpad === true) {
      const turn = pinQueue.then(() => viaPinpad(id, method, filtered, card));
      pinQueue = turn.catch(() => {});
      await turn;
      return;
    }
    const first = await daemonCall(method, filtered);
    if (!wantsPin || first?.error?.data?.reason !== 'PIN_REQUIRED') {
      answer(id, first);
      return;
    }
    // The PIN is asked here, in this window, and sent to the daemon only from here.
    const retriesLeft = first.error.data.retriesLeft;
    const turn = pinQueue.then(() => askPin(method, filtered, retriesLeft, card));
    pinQueue = turn.catch(() => {});
    const entry = await turn;
    if (entry === null) {
      cancelled(id);
      return;
    }
    const withPin = { ...filtered, pin: entry.pin };
    if (entry.lastAttempt) withPin.lastAttempt = true;
    entry.pin = '';
    const second = await daemonCall(method, withPin);
    withPin.pin = '';
    showOutcome(second);
    answer(id, second);
  }

  function cancelled(id) {
    toOpener({ type: 'error', id, error: { code: null, message: 'The user cancelled', data: { reason: 'USER_CANCELLED' } } });
  }

  // The card a PIN request is for, as the daemon lists it: {cardId, subject, pinpad}, where
  // pinpad is readers.list's `pinpad` for the reader holding the card (the same fact the daemon
  // decides PIN pad entry by). null when the daemon does not say (an unknown certificate, or an
  // origin without `read`): the request then goes as it came, and on a reader without a PIN pad
  // the daemon answers PIN_REQUIRED, which opens the PIN field.
  async function cardOf(method, params) {
    let cardId = typeof params.cardId === 'string' ? params.cardId : null;
    let subject = null;
    if (typeof params.certificateId === 'string') {
      const list = await daemonCall('certificates.list', {});
      const cert = list?.result?.certificates?.find((c) => c.id === params.certificateId);
      if (!cert) return null;
      cardId = cert.cardId;
      subject = cert.subject;
    }
    if (cardId === null) return null;
    const readers = await daemonCall('readers.list', {});
    const reader = readers?.result?.readers?.find((r) => r.card?.id === cardId);
    if (!reader) return null;
    return { cardId, subject, pinpad: reader.pinpad === true };
  }

  // PIN entry on the reader's PIN pad. The dialog shows the same facts as for a PIN typed here
  // and "confirm on the reader"; the request goes to the daemon without a PIN (so the daemon
  // starts the PIN pad) and the dialog shows progress until the daemon answers. At one try left
  // nothing is sent until the user confirms the last try here; the request then says
  // lastAttempt, which the daemon honours from the bridge only. Cancel before sending answers
  // the opener USER_CANCELLED with the card untouched. Cancel while the reader waits answers
  // USER_CANCELLED at once too, but the computer cannot stop a reader's PIN entry: the user is
  // asked to press Cancel on the reader, whatever the daemon answers later is dropped (the
  // opener never gets a result it was told was cancelled), and the next PIN request waits for
  // that answer so that it never meets a reader still busy with this one.
  async function viaPinpad(id, method, params, card) {
    const status = await daemonCall('pin.status', { cardId: card.cardId });
    const retries = status?.result?.retriesLeft;
    if (retries === 0) {
      // Blocked: the daemon answers PIN_BLOCKED without touching the card or the PIN pad.
      const reply = await daemonCall(method, params);
      showOutcome(reply);
      answer(id, reply);
      return;
    }
    const facts = await pinFacts(method, params, retries, card);
    showPinDialog(method, facts, true);
    let lastTry = facts.tries === 1;
    let lastAttempt = false;
    for (;;) {
      if (lastTry && !lastAttempt) {
        document.body.dataset.pin = 'pinpad-confirm';
        $('pin-ok').hidden = false;
        $('pin-confirm-last').focus();
        const choice = await pinAction(() => $('pin-confirm-last').checked);
        if (choice === 'cancel') {
          hidePinDialog();
          cancelled(id);
          return;
        }
        lastAttempt = true;
      }
      document.body.dataset.pin = 'pinpad-waiting';
      $('pin-ok').hidden = true;
      $('pin-last').hidden = true;
      $('pin-confirm-last-label').hidden = true;
      const stopProgress = showProgress();
      $('pin-cancel').focus();
      const request = { ...params };
      if (lastAttempt) request.lastAttempt = true;
      const reply = daemonCall(method, request);
      const first = await Promise.race([reply, pinAction(null)]);
      stopProgress();
      if (first === 'cancel') {
        cancelled(id);
        hidePinDialog();
        showOutcomeText(t('pinpadUserCancelled'), 'USER_CANCELLED');
        document.body.dataset.pin = 'pinpad-cancelled';
        await reply;
        delete document.body.dataset.pin;
        return;
      }
      if (first?.error?.data?.reason === 'PIN_LAST_ATTEMPT' && !lastAttempt) {
        // The counter fell to one since pin.status (another program): confirm first.
        lastTry = true;
        $('pin-tries').textContent = '1';
        setLastTry(true);
        continue;
      }
      hidePinDialog();
      showOutcome(first);
      answer(id, first);
      return;
    }
  }

  // Resolves with 'ok' when OK is pressed and `accept()` allows it, or 'cancel'; with no
  // `accept`, only Cancel counts.
  function pinAction(accept) {
    return new Promise((resolve) => {
      $('pin-ok').onclick = accept ? () => { if (accept()) resolve('ok'); } : null;
      $('pin-cancel').onclick = () => resolve('cancel');
    });
  }

  // The reader's wait, with the seconds it has lasted; returns the function that ends it.
  function showProgress() {
    const started = Date.now();
    const text = () => { $('pin-progress-text').textContent = t('pinpadWaiting')(Math.floor((Date.now() - started) / 1000)); };
    text();
    $('pin-progress').hidden = false;
    const timer = setInterval(text, 1000);
    fitWindow();
    return () => {
      clearInterval(timer);
      $('pin-progress').hidden = true;
    };
  }

  // What the user should know after a PIN was used: a PIN pad's cancel or timeout, a wrong or
  // blocked PIN. The opener gets the answer itself as well.
  function showOutcome(response) {
    const reason = response?.error?.data?.reason;
    const text = {
      PINPAD_CANCELLED: t('pinpadCancelled'),
      PINPAD_TIMEOUT: t('pinpadTimeout'),
      PIN_INCORRECT: Number.isInteger(response?.error?.data?.retriesLeft) ? t('pinIncorrect')(response.error.data.retriesLeft) : null,
      PIN_BLOCKED: t('pinBlocked'),
    }[reason] ?? null;
    showOutcomeText(text, reason);
  }

  function showOutcomeText(text, reason) {
    $('outcome').textContent = text ?? '';
    $('outcome').hidden = text === null;
    $('outcome').dataset.reason = text === null ? '' : reason;
  }

  function fromBase64(text) {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  function hexGroups(bytes) {
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0').toUpperCase()).join('');
    return hex.match(/.{1,4}/g).join(' ');
  }

  // What the user is asked to approve: the certificate, the tries left (from the daemon's
  // PIN_REQUIRED answer or pin.status) and what is signed or opened, read from the daemon by
  // this window (never from the opener's words).
  async function pinFacts(method, params, retriesLeft, card) {
    const facts = {
      subject: card?.subject ?? t('contentNone'),
      tries: Number.isInteger(retriesLeft) ? retriesLeft : null,
      content: t('contentNone'),
    };
    if (!card?.subject && params.certificateId) {
      const list = await daemonCall('certificates.list', {});
      const cert = list?.result?.certificates?.find((c) => c.id === params.certificateId);
      if (cert) facts.subject = cert.subject;
    }
    try {
      if (method === 'sign' && typeof params.data === 'string') {
        const data = fromBase64(params.data);
        const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', data));
        facts.content = t('contentData')(hexGroups(hash), data.length);
      } else if (method === 'sign' && typeof params.digest === 'string') {
        facts.content = t('contentDigest')(hexGroups(fromBase64(params.digest)));
      } else if (method === 'decrypt') {
        const envelope = params.cms ?? params.ciphertext;
        if (typeof envelope === 'string') facts.content = t('contentEnvelope')(fromBase64(envelope).length, facts.subject);
      }
    } catch {
      facts.content = t('contentNone');
    }
    return facts;
  }

  // Fills and shows the PIN dialog. `pinpad`: the PIN is typed on the reader, so there is no PIN
  // field and the dialog says "confirm on the reader" instead.
  function showPinDialog(method, facts, pinpad) {
    $('pin-dialog').dataset.mode = pinpad ? 'pinpad' : 'field';
    $('pin-title').textContent = t(pinpad ? 'pinpadTitle' : 'pinTitle');
    $('pin-origin-label').textContent = t('pinOrigin');
    showOrigin($('pin-origin'), null, bound, registrable);
    $('pin-operation-label').textContent = t('pinOperation');
    $('pin-operation').textContent = t(`op_${method}`);
    $('pin-subject-label').textContent = t('pinSubject');
    $('pin-subject').textContent = facts.subject;
    $('pin-content-label').textContent = t('pinContent');
    $('pin-content').textContent = facts.content;
    $('pin-tries-label').textContent = t('pinTries');
    $('pin-tries').textContent = facts.tries === null ? t('contentNone') : String(facts.tries);
    setLastTry(facts.tries === 1);
    $('pin-reader').textContent = t('pinpadConfirm');
    $('pin-reader').hidden = !pinpad;
    $('pin-entry').hidden = pinpad;
    $('pin-progress').hidden = true;
    $('pin-label').textContent = t('pinLabel');
    $('pin-ok').textContent = t(pinpad ? 'pinpadContinue' : 'ok');
    $('pin-ok').hidden = false;
    $('pin-cancel').textContent = t('cancel');
    $('pin-input').value = '';
    showOutcomeText(null);
    $('pin-dialog').hidden = false;
    fitWindow();
    toOpener({ type: 'attention' });
  }

  function setLastTry(lastTry) {
    $('pin-last').hidden = !lastTry;
    $('pin-last').textContent = t('lastTry');
    $('pin-confirm-last-label').hidden = !lastTry;
    $('pin-confirm-last').checked = false;
    $('pin-confirm-last-text').textContent = t('confirmLast');
  }

  function hidePinDialog() {
    $('pin-ok').onclick = null;
    $('pin-cancel').onclick = null;
    $('pin-input').onkeydown = null;
    $('pin-input').value = '';
    $('pin-dialog').hidden = true;
    delete document.body.dataset.pin;
  }

  // The PIN field; resolves with {pin, lastAttempt} or null when the user cancels.
  async function askPin(method, params, retriesLeft, card) {
    const facts = await pinFacts(method, params, retriesLeft, card);
    showPinDialog(method, facts, false);
    document.body.dataset.pin = 'asking';
    const input = $('pin-input');
    input.focus();
    const lastTry = facts.tries === 1;
    return new Promise((resolve) => {
      const ok = () => {
        if (input.value === '') return;
        // At one try left the last try is used only after the user confirmed it here.
        if (lastTry && !$('pin-confirm-last').checked) return;
        const entry = { pin: input.value, lastAttempt: lastTry };
        hidePinDialog();
        resolve(entry);
      };
      const cancel = () => {
        hidePinDialog();
        resolve(null);
      };
      $('pin-ok').onclick = ok;
      $('pin-cancel').onclick = cancel;
      input.onkeydown = (event) => {
        if (event.key === 'Enter') ok();
        else if (event.key === 'Escape') cancel();
      };
    });
  }

  function onDaemonMessage(text) {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (msg.method === 'event' && !('id' in msg)) {
      toOpener({ type: 'event', params: msg.params });
      return;
    }
    if (!pending.has(msg.id)) return;
    const resolve = pending.get(msg.id);
    pending.delete(msg.id);
    resolve(msg);
  }

  // The daemon offers the user's consent for the opener's origin: the answer is the user's,
  // given in this window, and sent as bridge.consent by this script (never by the opener).
  async function consentAsked(ws, domain) {
    registrable = typeof domain === 'string' ? domain : null;
    const decision = await window.TenderKeyConsent.ask({
      origin: bound, registrable, onShown: () => toOpener({ type: 'attention' }),
    });
    if (socket !== ws) return;
    if (decision === null) {
      fail('denied', 'NOT_PERMITTED');
      return;
    }
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'bridge.consent', params: { decision } }));
  }

  function attach() {
    state('connecting', 'connecting');
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`;
    const ws = new WebSocket(url, 'tenderkey.v1');
    socket = ws;
    ws.onopen = () => {
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'bridge.attach', params: { origin: bound } }));
    };
    ws.onmessage = (event) => {
      if (attached) {
        onDaemonMessage(event.data);
        return;
      }
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch {
        return;
      }
      if (msg.id !== 0 && msg.id !== 1) return;
      if ('error' in msg) {
        const reason = msg.error?.data?.reason ?? 'INTERNAL';
        if (msg.id === 0 && reason === 'ORIGIN_NOT_ALLOWED' && msg.error.data.consent === true) {
          consentAsked(ws, msg.error.data.registrableDomain);
          return;
        }
        fail(reason === 'ORIGIN_NOT_ALLOWED' ? 'notAllowed' : 'badOrigin', reason);
        return;
      }
      attached = true;
      pagePins = msg.result?.pagePins !== false;
      state('ready', 'ready');
      showSite(bound, registrable);
      $('hint').textContent = t('keepOpen');
      toOpener({ type: 'attached', origin: bound });
    };
    ws.onclose = (event) => {
      socket = null;
      const wasAttached = attached;
      attached = false;
      for (const resolve of pending.values()) resolve(null);
      pending.clear();
      if (wasAttached) {
        toOpener({ type: 'disconnected', code: event.code });
        closeWindow('closed');
      } else {
        fail('daemonDown', 'CONNECTION_FAILED');
      }
    };
  }

  function onMessage(event) {
    if (event.source !== window.opener || window.opener === null) return;
    if (bound === null) {
      // The first message from the opener binds this window to its origin for good.
      bound = event.origin;
      if (!/^https?:\/\/[^/]+$/.test(bound)) {
        state('error', 'badOrigin');
        return;
      }
      lastPing = Date.now();
      attach();
      return;
    }
    if (event.origin !== bound) return;
    const message = event.data;
    if (message === null || typeof message !== 'object') return;
    if (message.type === 'ping') {
      lastPing = Date.now();
      toOpener({ type: 'pong' });
    } else if (message.type === 'call') {
      relay(message);
    } else if (message.type === 'close') {
      closeWindow('openerGone');
    }
  }

  function watchOpener() {
    const opener = window.opener;
    if (opener === null || opener.closed || (bound !== null && Date.now() - lastPing > HEARTBEAT_LIMIT_MS)) {
      closeWindow('openerGone');
      return;
    }
    setTimeout(watchOpener, WATCH_MS);
  }

  function start() {
    window.name = '';
    document.documentElement.lang = lang === 'zh-TW' ? 'zh-Hant-TW' : 'en';
    document.title = t('title');
    $('title').textContent = t('title');
    const opener = window.opener;
    if (!opener) {
      state('error', 'noOpener');
      return;
    }
    let topLevel = false;
    try {
      topLevel = opener.top === opener;
    } catch {
      topLevel = false;
    }
    if (!topLevel) {
      state('error', 'framedOpener');
      return;
    }
    state('waiting', 'waiting');
    window.addEventListener('message', onMessage);
    opener.postMessage({ type: 'tenderkey-bridge-ready' }, '*');
    setTimeout(watchOpener, WATCH_MS);
  }

  start();
})();
