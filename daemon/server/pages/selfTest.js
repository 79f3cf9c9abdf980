// The self-test page for support staff (/selfTest.htm): the daemon's version, the readers
// with their cards, and the certificates on the cards. The daemon serves it only to a
// top-level navigation (never to a fetch, an image or a frame of another page) and severs its
// opener; its data comes over its own WebSocket, opened as the daemon's own origin with
// bridge.selfTest (read only), and is shown here and sent nowhere: the page posts no message
// and uses no storage API.
'use strict';

(() => {
  const TEXT = {
    'zh-TW': {
      title: 'TenderKey 自我檢測',
      connecting: '正在連線至 TenderKey…',
      ok: '檢測完成。',
      failed: '檢測失敗：',
      daemonDown: '無法連線至 TenderKey 服務，請確認服務已啟動。',
      version: '版本',
      readers: '讀卡機',
      reader: '讀卡機',
      card: 'IC 卡',
      noReader: '未偵測到讀卡機。',
      noCard: '未插卡',
      certificates: '憑證',
      noCertificate: '卡片上沒有可用的憑證。',
      subject: '主體',
      issuer: '簽發者',
      usage: '用途',
      valid: '有效期限',
      usableFor: { sign: '簽章', decrypt: '解密', register: '註冊' },
      expired: '（已過期）',
      checked: (when) => `檢測時間：${when}`,
    },
    en: {
      title: 'TenderKey self-test',
      connecting: 'Connecting to TenderKey…',
      ok: 'Self-test complete.',
      failed: 'Self-test failed: ',
      daemonDown: 'Cannot reach the TenderKey service; make sure it is running.',
      version: 'Version',
      readers: 'Readers',
      reader: 'Reader',
      card: 'Card',
      noReader: 'No reader found.',
      noCard: 'no card',
      certificates: 'Certificates',
      noCertificate: 'No usable certificate on the cards.',
      subject: 'Subject',
      issuer: 'Issuer',
      usage: 'Use',
      valid: 'Valid until',
      usableFor: { sign: 'signing', decrypt: 'decryption', register: 'registration' },
      expired: ' (expired)',
      checked: (when) => `Checked at ${when}`,
    },
  };
  const lang = (navigator.languages ?? [navigator.language ?? ''])
    .some((l) => /^zh\b/i.test(l) && !/^zh-(cn|sg|hans)/i.test(l)) ? 'zh-TW' : 'en';
  const t = (key) => TEXT[lang][key];
  const $ = (id) => document.getElementById(id);

  function state(name, text) {
    document.body.dataset.state = name;
    $('status').textContent = text;
  }

  function row(table, cells) {
    const tr = document.createElement('tr');
    for (const cell of cells) {
      const td = document.createElement('td');
      td.textContent = cell;
      tr.append(td);
    }
    table.tBodies[0].append(tr);
    return tr;
  }

  function note(table, text) {
    const tr = row(table, [text]);
    tr.firstChild.colSpan = table.tHead.rows[0].cells.length;
  }

  function show(info, readers, certificates) {
    $('version-title').textContent = t('version');
    $('version').textContent = `${info.name} ${info.version}`;
    $('version').dataset.version = info.version;
    $('readers-title').textContent = t('readers');
    $('col-reader').textContent = t('reader');
    $('col-card').textContent = t('card');
    for (const reader of readers) {
      const card = reader.card ? [reader.card.label, reader.card.type, reader.card.id].filter(Boolean).join(' · ') : t('noCard');
      row($('readers'), [reader.name, card]).dataset.reader = reader.name;
    }
    if (readers.length === 0) note($('readers'), t('noReader'));
    $('certificates-title').textContent = t('certificates');
    $('col-cert-reader').textContent = t('reader');
    $('col-subject').textContent = t('subject');
    $('col-issuer').textContent = t('issuer');
    $('col-usage').textContent = t('usage');
    $('col-valid').textContent = t('valid');
    for (const cert of certificates) {
      const usage = cert.usableFor.map((u) => t('usableFor')[u] ?? u).join(', ');
      const valid = cert.notAfter + (cert.expiresInDays < 0 ? t('expired') : '');
      row($('certificates'), [cert.reader, cert.subject, cert.issuer, usage, valid]).dataset.certificate = cert.id;
    }
    if (certificates.length === 0) note($('certificates'), t('noCertificate'));
    $('checked').textContent = t('checked')(new Date().toLocaleString(lang));
    $('report').hidden = false;
    state('ready', t('ok'));
  }

  function run() {
    state('connecting', t('connecting'));
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`, 'tenderkey.v1');
    const calls = ['bridge.selfTest', 'system.info', 'readers.list', 'certificates.list'];
    const results = [];
    const send = (id) => ws.send(JSON.stringify({ jsonrpc: '2.0', id, method: calls[id], params: {} }));
    ws.onopen = () => send(0);
    ws.onmessage = (event) => {
      let message;
      try { message = JSON.parse(event.data); } catch { return; }
      if (message.id !== results.length) return;
      if (message.error) {
        ws.onclose = null;
        ws.close();
        state('error', t('failed') + (message.error.data?.reason ?? message.error.message));
        return;
      }
      results.push(message.result);
      if (results.length < calls.length) {
        send(results.length);
        return;
      }
      ws.onclose = null;
      ws.close();
      show(results[1], results[2].readers, results[3].certificates);
    };
    ws.onclose = () => state('error', t('daemonDown'));
  }

  window.name = '';
  document.documentElement.lang = lang === 'zh-TW' ? 'zh-Hant-TW' : 'en';
  document.title = t('title');
  $('title').textContent = t('title');
  run();
})();
