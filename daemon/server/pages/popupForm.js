// The HiPKI dialect's popup (docs/hipki.md), served at /popupForm and /ChtPopupForm on the HiPKI
// listener. A portal written for the vendor's component opens it with window.open; this page:
// - clears window.name, and refuses to work without a top-level opener;
// - posts the data-free string {"func":"getTbs"} to its opener with targetOrigin "*";
// - takes the first string message whose source is the opener as the package and binds to
//   that message's origin for its whole life (every later message is ignored);
// - opens its own WebSocket to the daemon and attaches it to the bound origin
//   (bridge.attach); an origin the administrator did not list may be allowed by the user here,
//   as in the bridge window (consent.js, bridge.consent);
// - refuses a PIN carried by the package when the daemon refuses PINs typed into pages
//   ([pin] page_supplied = false), and with an empty pin (MakeSignature, DecryptData) asks for
//   the PIN itself;
// - sends hipki.call with the package, posts the raw JSON string of the response to the opener
//   with the bound origin as targetOrigin, and closes.
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
      denied: '您已拒絕此網站使用 TenderKey。',
      notAllowed: '此網站未獲准使用 TenderKey。請洽系統管理員。',
      pagePin: '系統管理員不允許網頁代為傳送 PIN 碼。',
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
      denied: 'You denied this site the use of TenderKey.',
      notAllowed: 'This site is not allowed to use TenderKey. Ask your administrator.',
      pagePin: 'Your administrator does not allow web pages to send the PIN.',
    },
  };
  const { lang } = window.TenderKeyConsent;
  const t = (key) => TEXT[lang][key];
  const $ = (id) => document.getElementById(id);

  // ret_code values the page itself answers (docs/hipki.md).
  const BAD_JSON = 0x7600000b;
  const SITE_NOT_AUTHORISED = 0x76000031;
  const INTERNAL = 0x7600000d;
  const USER_CANCELLED = 0x76000999;
  const NEEDS_PIN = new Set(['MakeSignature', 'DecryptData']);
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
      window.TenderKeyConsent.fitWindow();
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

  // The daemon connection: attach (with the user's consent when the daemon offers it), the
  // PIN rule, then hipki.call.
  function run(pkg, pagePin) {
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`;
    const ws = new WebSocket(url, 'tenderkey.v1');
    let answered = false;
    const send = (id, method, params) => ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    const answer = (response) => {
      answered = true;
      ws.close();
      finish(response);
    };
    const refused = (key, message) => {
      status(key);
      answer(failure(SITE_NOT_AUTHORISED, message));
    };
    const call = async (pagePins) => {
      if (pagePin && !pagePins) {
        delete pkg.pin;
        refused('pagePin', 'PINs typed into web pages are refused');
        return;
      }
      if (NEEDS_PIN.has(func) && !pagePin) {
        const pin = await askPin();
        if (pin === null) {
          answer(failure(USER_CANCELLED, 'cancelled'));
          return;
        }
        // The adapter percent-decodes the PIN once, as the portals encode it.
        pkg.pin = encodeURIComponent(pin);
      }
      status('working');
      send(2, 'hipki.call', { package: pkg });
      delete pkg.pin;
    };
    const consent = async (domain) => {
      window.resizeTo(520, 460);
      const decision = await window.TenderKeyConsent.ask({
        origin: bound, registrable: typeof domain === 'string' ? domain : null,
      });
      if (answered) return;
      if (decision === null) refused('denied', 'the user denied the site');
      else send(3, 'bridge.consent', { decision });
    };
    ws.addEventListener('open', () => send(1, 'bridge.attach', { origin: bound }));
    ws.addEventListener('message', (event) => {
      let message;
      try { message = JSON.parse(event.data); } catch { return; }
      if (message.id === 1 || message.id === 3) {
        if (!message.error) {
          call(message.result?.pagePins !== false);
        } else if (message.id === 1 && message.error.data?.reason === 'ORIGIN_NOT_ALLOWED' && message.error.data.consent === true) {
          consent(message.error.data.registrableDomain);
        } else {
          refused('notAllowed', 'site not authorised');
        }
      } else if (message.id === 2) {
        answer(message.result ?? failure(message.error?.data?.reason === 'METHOD_NOT_FOUND' ? SITE_NOT_AUTHORISED : INTERNAL,
          message.error?.message ?? 'failed'));
      }
    });
    ws.addEventListener('close', () => { if (!answered) finish(failure(INTERNAL, 'the connection to TenderKey was lost')); });
  }

  function onPackage(text) {
    let pkg;
    try { pkg = JSON.parse(text); } catch { pkg = null; }
    if (pkg === null || typeof pkg !== 'object' || Array.isArray(pkg)) {
      finish(failure(BAD_JSON, 'the package is not JSON'));
      return;
    }
    func = typeof pkg.func === 'string' ? pkg.func : '';
    status('working');
    // A PIN the page put in the package; an empty one counts as none.
    const pagePin = Object.prototype.hasOwnProperty.call(pkg, 'pin') && pkg.pin !== '';
    if (!pagePin) delete pkg.pin;
    run(pkg, pagePin);
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
