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
    },
  };
  const lang = (navigator.languages ?? [navigator.language ?? ''])
    .some((l) => /^zh\b/i.test(l) && !/^zh-(cn|sg|hans)/i.test(l)) ? 'zh-TW' : 'en';
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
  let lastPing = Date.now();
  let nextId = 1;
  const pending = new Map(); // daemon request id -> opener request id

  function state(name, key) {
    document.body.dataset.state = name;
    $('status').textContent = t(key);
  }

  // The origin as the user must read it: in full, the registrable domain emphasised.
  function showSite(origin) {
    const box = $('site-origin');
    box.replaceChildren();
    const match = /^(https?:\/\/)([^/:]+|\[[^\]]+\])(:\d+)?$/.exec(origin);
    if (!match) {
      box.textContent = origin;
    } else {
      const [, scheme, host, port = ''] = match;
      const labels = host.split('.');
      const ip = /^[\d.]+$/.test(host) || host.startsWith('[');
      const secondLevel = /\.(gov|com|edu|org|net|idv|co|ac|go|or|ne)\.[a-z]{2}$/.test(host);
      const keep = ip ? labels.length : Math.min(labels.length, secondLevel ? 3 : 2);
      const head = labels.slice(0, labels.length - keep).join('.');
      const strong = document.createElement('strong');
      strong.textContent = labels.slice(labels.length - keep).join('.');
      box.append(scheme + (head ? `${head}.` : ''), strong, port);
    }
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

  function relay(message) {
    const { id, method, params } = message;
    if (!(typeof id === 'number' || typeof id === 'string')) return;
    if (!Object.prototype.hasOwnProperty.call(RELAYED, method)) {
      toOpener({ type: 'error', id, error: { code: -32601, message: 'Method not found', data: { reason: 'METHOD_NOT_FOUND' } } });
      return;
    }
    if (!attached || socket === null || socket.readyState !== WebSocket.OPEN) {
      toOpener({ type: 'closed', id, outcome: 'none' });
      return;
    }
    const daemonId = nextId++;
    pending.set(daemonId, id);
    socket.send(JSON.stringify({ jsonrpc: '2.0', id: daemonId, method, params: filterParams(method, params) }));
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
    const id = pending.get(msg.id);
    pending.delete(msg.id);
    if ('error' in msg) toOpener({ type: 'error', id, error: msg.error });
    else toOpener({ type: 'result', id, result: msg.result });
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
      if (msg.id !== 0) return;
      if ('error' in msg) {
        const reason = msg.error?.data?.reason ?? 'INTERNAL';
        fail(reason === 'ORIGIN_NOT_ALLOWED' ? 'notAllowed' : 'badOrigin', reason);
        return;
      }
      attached = true;
      state('ready', 'ready');
      showSite(bound);
      $('hint').textContent = t('keepOpen');
      toOpener({ type: 'attached', origin: bound });
    };
    ws.onclose = (event) => {
      socket = null;
      const wasAttached = attached;
      attached = false;
      for (const id of pending.values()) toOpener({ type: 'closed', id, outcome: 'unknown' });
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
