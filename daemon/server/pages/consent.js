// The consent dialog of the daemon's windows (the bridge window, the HiPKI popup and its
// /addDomain page): whether an origin the administrator did not list may use the card. The
// answer is the user's, given in the window's own dialog; the window's script sends it to the
// daemon as bridge.consent (docs/security.md, "Consent"). Exposes window.TenderKeyConsent:
// - lang: 'zh-TW' or 'en', from the browser's languages;
// - showOrigin(box, unicodeBox, origin, registrable): the origin in full, its registrable domain
//   emphasised, and an internationalised name's Unicode form in unicodeBox;
// - fitWindow(): grows the window until everything it shows is visible;
// - ask({origin, registrable, allowOnce, onShown}): shows the dialog of the page (#consent-*
//   elements), resolves with 'once', 'always' or null (denied).
// No storage API is used.
'use strict';

window.TenderKeyConsent = (() => {
  const TEXT = {
    'zh-TW': {
      consentTitle: '是否允許此網站使用您的 IC 卡？',
      consentQuestion: '下列網站並未由系統管理員核准，要求使用 TenderKey：',
      consentUnicode: '此國際化網域名稱的原文為：',
      consentGrants: '允許後，此網站可讀取卡片上的憑證、以 IC 卡註冊身分，並製作 CMS 數位簽章（每次均須輸入 PIN 碼）；不能解密，也不能管理 PIN 碼。',
      consentWait: '按鈕將在此視窗顯示 1 秒且無任何操作後啟用。',
      consentDeny: '拒絕',
      consentOnce: '僅允許這一次',
      consentAlways: '一律允許',
    },
    en: {
      consentTitle: 'Allow this site to use your card?',
      consentQuestion: 'This site, which your administrator has not approved, asks to use TenderKey:',
      consentUnicode: 'This internationalised name reads:',
      consentGrants: 'If allowed, the site may read the certificates on your card, register with your card and make CMS signatures (each with your PIN); it may not decrypt or manage your PIN.',
      consentWait: 'The buttons become active once this window has been shown for 1 second without any input.',
      consentDeny: 'Deny',
      consentOnce: 'Allow once',
      consentAlways: 'Always allow',
    },
  };
  const lang = (navigator.languages ?? [navigator.language ?? ''])
    .some((l) => /^zh\b/i.test(l) && !/^zh-(cn|sg|hans)/i.test(l)) ? 'zh-TW' : 'en';
  const t = (key) => TEXT[lang][key];
  const $ = (id) => document.getElementById(id);
  const CONSENT_DELAY_MS = 1000;

  // The origin as the user must read it: in full (scheme, host, port; nothing is shortened: the
  // boxes wrap anywhere and the window grows to show them), the registrable domain emphasised
  // (the daemon's, from the Public Suffix List, when it gave one; otherwise a cautious guess),
  // and for an internationalised name its Unicode form in `unicodeBox`, emphasised alike, beside
  // the punycode form the browser reported. Returns true when a Unicode form is shown.
  function showOrigin(box, unicodeBox, origin, registrable) {
    const parts = originParts(origin, registrable);
    box.replaceChildren();
    if (unicodeBox) unicodeBox.replaceChildren();
    if (parts === null) {
      box.textContent = origin;
      if (unicodeBox) unicodeBox.hidden = true;
      return false;
    }
    const render = (target, head, domain) => {
      const strong = document.createElement('strong');
      strong.textContent = domain;
      target.append(parts.scheme + head, strong, parts.port);
    };
    render(box, parts.head, parts.domain);
    const head = unicodeName(parts.head);
    const domain = unicodeName(parts.domain);
    const international = head !== null && domain !== null && (head !== parts.head || domain !== parts.domain);
    if (unicodeBox) {
      if (international) render(unicodeBox, head, domain);
      unicodeBox.hidden = !international;
    }
    return international;
  }

  // {scheme, head, domain, port}: the host split before its registrable domain (head keeps its
  // trailing dot); null for what is not an http(s) origin.
  function originParts(origin, registrable) {
    const match = /^(https?:\/\/)([^/:]+|\[[^\]]+\])(:\d+)?$/.exec(origin);
    if (!match) return null;
    const [, scheme, host, port = ''] = match;
    if (typeof registrable === 'string' && registrable !== '' && (host === registrable || host.endsWith(`.${registrable}`))) {
      return { scheme, head: host.slice(0, host.length - registrable.length), domain: registrable, port };
    }
    const labels = host.split('.');
    const ip = /^[\d.]+$/.test(host) || host.startsWith('[');
    const secondLevel = /\.(gov|com|edu|org|net|idv|co|ac|go|or|ne)\.[a-z]{2}$/.test(host);
    const keep = ip ? labels.length : Math.min(labels.length, secondLevel ? 3 : 2);
    const head = labels.slice(0, labels.length - keep).join('.');
    return { scheme, head: head ? `${head}.` : '', domain: labels.slice(labels.length - keep).join('.'), port };
  }

  // RFC 3492 decoding of one "xn--" label, to show an internationalised name as the user
  // would read it next to its punycode form; null when the label is not valid punycode.
  function punycodeLabel(label) {
    const input = label.slice(4);
    const base = 36, tMin = 1, tMax = 26, skew = 38, damp = 700;
    const adapt = (delta, points, first) => {
      delta = first ? Math.floor(delta / damp) : delta >> 1;
      delta += Math.floor(delta / points);
      let k = 0;
      while (delta > ((base - tMin) * tMax) >> 1) {
        delta = Math.floor(delta / (base - tMin));
        k += base;
      }
      return k + Math.floor(((base - tMin + 1) * delta) / (delta + skew));
    };
    const digit = (c) => (c >= 48 && c <= 57 ? c - 22 : c >= 97 && c <= 122 ? c - 97 : -1);
    const split = input.lastIndexOf('-');
    const output = split > 0 ? Array.from(input.slice(0, split), (ch) => ch.codePointAt(0)) : [];
    let n = 128, i = 0, bias = 72;
    for (let pos = split > 0 ? split + 1 : 0; pos < input.length;) {
      const oldI = i;
      for (let w = 1, k = base; ; k += base) {
        if (pos >= input.length) return null;
        const d = digit(input.charCodeAt(pos++));
        if (d < 0) return null;
        i += d * w;
        const th = k <= bias ? tMin : k >= bias + tMax ? tMax : k - bias;
        if (d < th) break;
        w *= base - th;
      }
      bias = adapt(i - oldI, output.length + 1, oldI === 0);
      n += Math.floor(i / (output.length + 1));
      i %= output.length + 1;
      if (n > 0x10ffff) return null;
      output.splice(i++, 0, n);
    }
    return String.fromCodePoint(...output);
  }

  // A dotted name with its "xn--" labels decoded; null when one is not valid punycode.
  function unicodeName(name) {
    const decoded = name.split('.').map((l) => (/^xn--/i.test(l) ? punycodeLabel(l.toLowerCase()) : l));
    return decoded.includes(null) ? null : decoded.join('.');
  }

  // Grows the window so that everything it shows is visible without scrolling.
  function fitWindow() {
    const missing = document.documentElement.scrollHeight - window.innerHeight;
    const missingWidth = document.documentElement.scrollWidth - window.innerWidth;
    if (missing > 0 || missingWidth > 0) {
      try { window.resizeBy(Math.max(0, missingWidth), Math.max(0, missing) + 8); } catch { /* the browser may refuse */ }
    }
  }

  // The consent dialog. Against a popup opened under a clicking cursor: the Allow buttons
  // stay inactive until this window has been visible and focused for CONSENT_DELAY_MS with no
  // input, any input before that restarts the delay, and a press (pointer or key) that began
  // before the buttons became active never approves. Deny has the focus; Escape denies.
  // allowOnce false: no "Allow once" (a window that only records the decision).
  function ask({ origin, registrable = null, allowOnce = true, onShown = () => {} }) {
    const dialog = $('consent-dialog');
    const deny = $('consent-deny');
    const once = $('consent-once');
    const always = $('consent-always');
    $('consent-title').textContent = t('consentTitle');
    $('consent-question').textContent = t('consentQuestion');
    const international = showOrigin($('consent-origin'), $('consent-unicode'), origin, registrable);
    $('consent-unicode-label').hidden = !international;
    $('consent-unicode-label').textContent = t('consentUnicode');
    $('consent-grants').textContent = t('consentGrants');
    $('consent-wait').textContent = t('consentWait');
    deny.textContent = t('consentDeny');
    once.textContent = t('consentOnce');
    always.textContent = t('consentAlways');
    once.hidden = !allowOnce;
    dialog.hidden = false;
    document.body.dataset.consent = 'waiting';
    fitWindow();
    onShown();
    deny.focus();

    let activeSince = null; // performance.now() when the Allow buttons became active
    let pressSince = null; // when the press that may end in a click began
    let timer = null;
    const allow = allowOnce ? [once, always] : [always];
    const activate = () => {
      timer = null;
      activeSince = performance.now();
      for (const b of allow) b.disabled = false;
      document.body.dataset.consent = 'active';
    };
    const restart = () => {
      clearTimeout(timer);
      timer = null;
      activeSince = null;
      for (const b of allow) b.disabled = true;
      document.body.dataset.consent = 'waiting';
      if (document.visibilityState === 'visible' && document.hasFocus()) timer = setTimeout(activate, CONSENT_DELAY_MS);
    };
    return new Promise((resolve) => {
      const onInput = (event) => {
        if (event.type === 'pointerdown' || event.type === 'keydown') pressSince = performance.now();
        if (event.type === 'keydown' && event.key === 'Escape') {
          done(null);
          return;
        }
        if (activeSince === null) restart();
      };
      // The window's own focus and visibility, not focus moving between its elements.
      const onFocusChange = (event) => {
        if (event.type === 'visibilitychange' || event.target === window) restart();
      };
      const inputs = ['pointerdown', 'pointermove', 'keydown', 'wheel', 'touchstart'];
      const focusChanges = ['focus', 'blur', 'visibilitychange'];
      const approved = (decision) => (event) => {
        // Only a press that began while the buttons were active counts.
        if (activeSince === null || pressSince === null || pressSince < activeSince || !event.isTrusted) return;
        done(decision);
      };
      const done = (decision) => {
        clearTimeout(timer);
        for (const type of inputs) window.removeEventListener(type, onInput, true);
        for (const type of focusChanges) window.removeEventListener(type, onFocusChange, true);
        document.removeEventListener('visibilitychange', onFocusChange, true);
        deny.onclick = once.onclick = always.onclick = null;
        dialog.hidden = true;
        document.body.dataset.consent = decision ?? 'denied';
        resolve(decision);
      };
      for (const type of inputs) window.addEventListener(type, onInput, true);
      for (const type of focusChanges) window.addEventListener(type, onFocusChange, true);
      document.addEventListener('visibilitychange', onFocusChange, true);
      deny.onclick = () => done(null);
      once.onclick = allowOnce ? approved('once') : null;
      always.onclick = approved('always');
      restart();
    });
  }

  return { lang, showOrigin, fitWindow, ask };
})();
