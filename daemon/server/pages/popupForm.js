// The HiPKI dialect's popup (docs/hipki.md), served at /popupForm and /ChtPopupForm on the HiPKI
// listener. A portal written for the vendor's component opens it with window.open; this page:
// - clears window.name, and refuses to work without a top-level opener;
// - posts the data-free string {"func":"getTbs"} to its opener with targetOrigin "*";
// - takes the first string message whose source is the opener as the package and binds to
//   that message's origin for its whole life (every later message is ignored);
// - with an empty pin (MakeSignature, DecryptData) asks for the PIN itself;
// - opens its own WebSocket to the daemon, bridge.attach to the bound origin, hipki.call with
//   the package, posts the raw JSON string of the response to the opener with the bound origin
//   as targetOrigin, and closes.
// No storage API is used.
'use strict';

(() => {
  const TEXT = {
    'zh-TW': {
      working: '正在處理…',
      waiting: '正在等候網站…',
      noOpener: '此視窗須由網站開啟，不能單獨使用。',
      pinTitle: '請輸入 IC 卡的 PIN 碼',
      pinLabel: 'PIN 碼',
      ok: '確定',
      cancel: '取消',
      done: '完成，此視窗即將關閉。',
    },
    en: {
      working: 'Working…',
      waiting: 'Waiting for the site…',
      noOpener: 'This window must be opened by a site; it cannot be used on its own.',
      pinTitle: 'Enter the PIN of your card',
      pinLabel: 'PIN',
      ok: 'OK',
      cancel: 'Cancel',
      done: 'Done; this window closes now.',
    },
  };
  const lang = (navigator.languages ?? [navigator.language ?? ''])
    .some((l) => /^zh\b/i.test(l) && !/^zh-(cn|sg|hans)/i.test(l)) ? 'zh-TW' : 'en';
  const t = (key) => TEXT[lang][key];
  const $ = (id) => document.getElementById(id);

  // ret_code values the page itself answers (docs/hipki.md).
  const BAD_JSON = 0x7600000b;
  const SITE_NOT_AUTHORISED = 0x76000031;
  const INTERNAL = 0x7600000d;
  const USER_CANCELLED = 0x76000999;
  const RESPONSE_FUNC = { MakeSignature: 'sign', DecryptData: 'decrypt', GetUserCert: 'pkcs11info', CheckEnvir: 'pkcs11info' };

  const opener = window.opener;
  let bound = null;
  let func = '';

  const status = (key) => { $('status').textContent = t(key); };

  // The one answer to the opener, then the window closes.
  function finish(response) {
    if (bound !== null && opener && !opener.closed) opener.postMessage(JSON.stringify(response), bound);
    status('done');
    window.close();
  }

  function failure(retCode, message) {
    return { func: RESPONSE_FUNC[func] ?? func, ret_code: retCode, last_error: 0, message };
  }

  function askPin() {
    return new Promise((resolve) => {
      window.resizeTo(420, 320);
      $('pin-title').textContent = t('pinTitle');
      $('pin-origin').textContent = bound;
      $('pin-label').textContent = t('pinLabel');
      $('pin-ok').textContent = t('ok');
      $('pin-cancel').textContent = t('cancel');
      $('pin-dialog').hidden = false;
      $('pin-input').focus();
      const done = (value) => {
        $('pin-dialog').hidden = true;
        resolve(value);
      };
      $('pin-ok').addEventListener('click', () => {
        const value = $('pin-input').value;
        $('pin-input').value = '';
        if (value !== '') done(value);
      });
      $('pin-input').addEventListener('keydown', (e) => { if (e.key === 'Enter') $('pin-ok').click(); });
      $('pin-cancel').addEventListener('click', () => done(null));
    });
  }

  function run(pkg) {
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`;
    const ws = new WebSocket(url, 'tenderkey.v1');
    let answered = false;
    const send = (id, method, params) => ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    ws.addEventListener('open', () => send(1, 'bridge.attach', { origin: bound }));
    ws.addEventListener('message', (event) => {
      let message;
      try { message = JSON.parse(event.data); } catch { return; }
      if (message.id === 1) {
        if (message.error) {
          answered = true;
          ws.close();
          finish(failure(SITE_NOT_AUTHORISED, 'site not authorised'));
          return;
        }
        send(2, 'hipki.call', { package: pkg });
        delete pkg.pin;
      } else if (message.id === 2) {
        answered = true;
        ws.close();
        finish(message.result ?? failure(message.error?.data?.reason === 'METHOD_NOT_FOUND' ? SITE_NOT_AUTHORISED : INTERNAL,
          message.error?.message ?? 'failed'));
      }
    });
    ws.addEventListener('close', () => { if (!answered) finish(failure(INTERNAL, 'the connection to TenderKey was lost')); });
  }

  async function onPackage(text) {
    let pkg;
    try { pkg = JSON.parse(text); } catch { pkg = null; }
    if (pkg === null || typeof pkg !== 'object' || Array.isArray(pkg)) {
      finish(failure(BAD_JSON, 'the package is not JSON'));
      return;
    }
    func = typeof pkg.func === 'string' ? pkg.func : '';
    status('working');
    if ((func === 'MakeSignature' || func === 'DecryptData') && (pkg.pin ?? '') === '') {
      const pin = await askPin();
      if (pin === null) {
        finish(failure(USER_CANCELLED, 'cancelled'));
        return;
      }
      // The adapter percent-decodes the PIN once, as the portals encode it.
      pkg.pin = encodeURIComponent(pin);
    }
    run(pkg);
  }

  function start() {
    window.name = '';
    let topLevel = false;
    try { topLevel = opener !== null && opener.top === opener; } catch { topLevel = false; }
    if (!topLevel) {
      status('noOpener');
      return;
    }
    status('waiting');
    window.addEventListener('message', (event) => {
      if (event.source !== opener || bound !== null || typeof event.data !== 'string') return;
      if (!/^https?:\/\/[^/?#@\s]+$/.test(event.origin)) return;
      bound = event.origin;
      onPackage(event.data);
    });
    opener.postMessage('{"func":"getTbs"}', '*');
  }

  start();
})();
