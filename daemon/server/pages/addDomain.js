// The HiPKI dialect's /addDomain?domain=HOST (docs/hipki.md): a portal whose calls were refused
// as "site not authorised" opens it as a popup to have itself trusted. Here that is the consent
// dialog of the bridge window, for the opener's own origin only:
// - window.name is cleared; without a top-level opener the page does nothing;
// - the opener's origin is the origin of the document that opened this window, as the browser
//   reports it (document.referrer). The opener posts nothing to this window, so that is the one
//   trustworthy source. A page whose referrer policy withholds it (the browsers' default one
//   does, from an https page to this http window) cannot be identified: the request is refused
//   with the data-free answer posted to "*", and the site's signing popup asks for the user's
//   consent instead, binding to the origin of the package it receives;
// - HOST must be that origin's host name, else the request is refused: a page cannot ask the
//   user to trust another site;
// - an origin the daemon already admits is answered at once; one it may offer for consent is
//   shown to the user, whose "Always allow" is stored by the daemon (bridge.consent); there is
//   no "Allow once", since this window makes no call of its own;
// - the one answer, the string {"ret_code":N} (0, or the refusal code), goes to the opener with
//   that origin as targetOrigin; then the window closes.
// No storage API is used.
'use strict';

(() => {
  const TEXT = {
    'zh-TW': {
      waiting: '正在連線至 TenderKey…',
      noOpener: '此視窗須由網站開啟，不能單獨使用。',
      noOrigin: '無法辨識開啟此視窗的網站，因此無法將它加入信任網站。網站要求簽章時，簽章視窗會再詢問您是否允許。',
      otherHost: '網站只能要求信任它自己的網域，此要求不予受理。',
      notAllowed: '此網站未獲准使用 TenderKey。請洽系統管理員。',
      denied: '您已拒絕此網站使用 TenderKey。',
      trusted: '已允許此網站使用 TenderKey，此視窗即將關閉。',
      daemonDown: '無法連線至 TenderKey 服務，請確認服務已啟動。',
    },
    en: {
      waiting: 'Connecting to TenderKey…',
      noOpener: 'This window must be opened by a site; it cannot be used on its own.',
      noOrigin: 'The site that opened this window cannot be identified, so it cannot be trusted here. When the site asks for a signature, its signing window asks you instead.',
      otherHost: 'A site may only ask to trust its own domain; this request is refused.',
      notAllowed: 'This site is not allowed to use TenderKey. Ask your administrator.',
      denied: 'You denied this site the use of TenderKey.',
      trusted: 'This site may now use TenderKey; this window closes now.',
      daemonDown: 'Cannot reach the TenderKey service; make sure it is running.',
    },
  };
  const { lang } = window.TenderKeyConsent;
  const t = (key) => TEXT[lang][key];
  const $ = (id) => document.getElementById(id);
  const SITE_NOT_AUTHORISED = 0x76000031;
  const INTERNAL = 0x7600000d;

  const opener = window.opener;
  let origin = null;

  function state(name, key) {
    document.body.dataset.state = name;
    $('status').textContent = t(key);
  }

  // The one answer to the opener; the window closes after a success, and stays to show a
  // refusal to the user.
  function finish(retCode, name, key) {
    state(name, key);
    if (opener && !opener.closed) opener.postMessage(JSON.stringify({ ret_code: retCode }), origin);
    if (retCode === 0) window.close();
  }

  function openerOrigin() {
    let url;
    try { url = new URL(document.referrer); } catch { return null; }
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.origin : null;
  }

  function consent(ws, domain) {
    window.resizeTo(520, 460);
    window.TenderKeyConsent.ask({ origin, registrable: typeof domain === 'string' ? domain : null, allowOnce: false })
      .then((decision) => {
        if (decision === null) {
          ws.onclose = null;
          ws.close();
          finish(SITE_NOT_AUTHORISED, 'error', 'denied');
          return;
        }
        ws.send(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'bridge.consent', params: { decision } }));
      });
  }

  function attach() {
    state('connecting', 'waiting');
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`, 'tenderkey.v1');
    ws.onopen = () => ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'bridge.attach', params: { origin } }));
    ws.onmessage = (event) => {
      let message;
      try { message = JSON.parse(event.data); } catch { return; }
      if (message.id !== 1 && message.id !== 2) return;
      if (message.id === 1 && message.error?.data?.reason === 'ORIGIN_NOT_ALLOWED' && message.error.data.consent === true) {
        consent(ws, message.error.data.registrableDomain);
        return;
      }
      ws.onclose = null;
      ws.close();
      if (message.error) finish(SITE_NOT_AUTHORISED, 'error', 'notAllowed');
      else finish(0, 'ready', 'trusted');
    };
    ws.onclose = () => finish(INTERNAL, 'error', 'daemonDown');
  }

  function start() {
    window.name = '';
    document.documentElement.lang = lang === 'zh-TW' ? 'zh-Hant-TW' : 'en';
    let topLevel = false;
    try { topLevel = opener !== null && opener.top === opener; } catch { topLevel = false; }
    if (!topLevel) {
      state('error', 'noOpener');
      return;
    }
    origin = openerOrigin();
    if (origin === null) {
      state('error', 'noOrigin');
      opener.postMessage(JSON.stringify({ ret_code: SITE_NOT_AUTHORISED }), '*');
      return;
    }
    const domain = new URLSearchParams(location.search).get('domain') ?? '';
    if (domain.toLowerCase() !== new URL(origin).hostname) {
      finish(SITE_NOT_AUTHORISED, 'error', 'otherHost');
      return;
    }
    attach();
  }

  start();
})();
