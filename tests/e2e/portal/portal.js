// The demo portal's page: talks to tenderkeyd through the TenderKey client library and to
// its own server (server.js) through fetch. Error texts come from the client's reason -> zh-TW
// mapping (TenderKeyError.localizedMessage).
import { connect, openBridge, TenderKeyError, toBase64 } from '/tenderkey/tenderkey.js';

const $ = (selector) => document.querySelector(selector);
const ROLE = { bidder: '投標廠商', agency: '招標機關' };

let client = null;
let readers = [];
let certificates = [];
let accounts = [];

async function api(method, url, body) {
  const response = await fetch(url, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await response.json();
  if (!response.ok) throw new Error(`網站拒絕：${json.error ?? `HTTP ${response.status}`}`);
  return json;
}

function show(element, state, text) {
  element.dataset.state = state;
  element.textContent = text;
}

function failure(error) {
  if (error instanceof TenderKeyError) return error.localizedMessage('zh-TW');
  return error.message;
}

function log(text) {
  const item = document.createElement('li');
  item.textContent = `${new Date().toLocaleTimeString('zh-TW', { hour12: false })} ${text}`;
  $('#event-log').prepend(item);
}

function selectedCardId() {
  return $('#card').value || null;
}

function cardCertificates() {
  const cardId = selectedCardId();
  return certificates.filter((c) => c.cardId === cardId);
}

// The registered account whose authentication certificate is on the selected card.
function accountOfCard(role) {
  const ders = new Set(cardCertificates().map((c) => c.der));
  return accounts.find((a) => a.role === role && ders.has(a.authCertificate)) ?? null;
}

// The organisation's Uniform Business Number (統一編號) as the card's certificates state it,
// for display only: the server decides from the certificates it validated.
function organizationIdText(cardId) {
  const id = certificates.find((c) => c.cardId === cardId && c.organizationId)?.organizationId;
  if (!id) return '';
  return `統一編號 ${id.value}${id.mismatch ? '（憑證內容不一致）' : ''}`;
}

async function refreshCards() {
  ({ readers } = await client.readersList());
  ({ certificates } = await client.certificatesList());
  const list = $('#readers');
  list.replaceChildren();
  for (const reader of readers) {
    const item = document.createElement('li');
    item.dataset.reader = reader.name;
    item.dataset.present = String(reader.cardPresent);
    const organization = reader.cardPresent ? organizationIdText(reader.card.id) : '';
    item.textContent = reader.cardPresent
      ? `${reader.name}：已插入 IC 卡（${reader.card.label || reader.card.type}）${organization ? `・${organization}` : ''}`
      : `${reader.name}：未插入 IC 卡`;
    list.append(item);
  }
  const select = $('#card');
  const previous = select.value;
  select.replaceChildren();
  for (const reader of readers.filter((r) => r.cardPresent && r.card.id)) {
    const option = document.createElement('option');
    option.value = reader.card.id;
    const organization = organizationIdText(reader.card.id);
    option.textContent = `${reader.name} — ${reader.card.id}${organization ? ` — ${organization}` : ''}`;
    select.append(option);
  }
  if ([...select.options].some((o) => o.value === previous)) select.value = previous;
  renderBids();
}

async function refreshAccounts() {
  ({ accounts } = await api('GET', '/api/accounts'));
  const body = $('#accounts tbody');
  body.replaceChildren();
  for (const account of accounts) {
    const row = body.insertRow();
    row.dataset.account = account.id;
    row.dataset.role = account.role;
    for (const text of [ROLE[account.role], `${account.organisation} ${account.name}`, account.algorithm,
      account.encryptionCertificate ? '已登錄' : '無']) {
      row.insertCell().textContent = text;
    }
  }
  const agencies = $('#bid-agency');
  agencies.replaceChildren();
  for (const account of accounts.filter((a) => a.role === 'agency' && a.encryptionCertificate)) {
    const option = document.createElement('option');
    option.value = account.id;
    option.textContent = `${account.organisation} ${account.name}`;
    agencies.append(option);
  }
}

let bids = [];
async function refreshBids() {
  ({ bids } = await api('GET', '/api/bids'));
  renderBids();
}

function renderBids() {
  const body = $('#bids tbody');
  body.replaceChildren();
  for (const bid of bids) {
    const row = body.insertRow();
    row.dataset.bid = bid.id;
    row.insertCell().textContent = bid.bidderName;
    row.insertCell().textContent = `${bid.fileName}（${bid.size} 位元組）${bid.opened ? '・已開標' : ''}`;
    row.insertCell().textContent = `${bid.sha256.slice(0, 16)}…`;
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = '開標';
    button.dataset.open = bid.id;
    button.addEventListener('click', () => openBid(bid.id));
    row.insertCell().append(button);
  }
}

async function register() {
  const result = $('#reg-result');
  show(result, 'busy', '請稍候，IC 卡簽署中…');
  try {
    const key = cardCertificates().find((c) => c.usableFor.includes('register'));
    if (!key) throw new Error('此 IC 卡沒有可註冊的憑證');
    const { challenge } = await api('POST', '/api/challenge');
    const token = await client.register({ certificateId: key.id, pin: $('#reg-pin').value, challenge });
    const { account } = await api('POST', '/api/register', { token, challenge, role: $('#reg-role').value });
    await refreshAccounts();
    show(result, 'ok', `註冊成功：${ROLE[account.role]} ${account.organisation} ${account.name}（${account.algorithm}` +
      `${account.encryptionCertificate ? '，已登錄加密憑證' : ''}）`);
  } catch (error) {
    show(result, 'error', failure(error));
  } finally {
    $('#reg-pin').value = '';
  }
}

async function submitBid() {
  const result = $('#bid-result');
  show(result, 'busy', '請稍候，IC 卡簽署中…');
  try {
    const file = $('#bid-file').files[0];
    if (!file) throw new Error('請選擇標單檔案');
    const bidder = accountOfCard('bidder');
    if (!bidder) throw new Error('此 IC 卡尚未註冊為投標廠商');
    const key = cardCertificates().find((c) => c.usableFor.includes('sign') &&
      bidder.signingCertificates.includes(c.der));
    if (!key) throw new Error('此 IC 卡沒有已登錄的簽章憑證');
    const content = new Uint8Array(await file.arrayBuffer());
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', content));
    const { cms } = await client.sign({
      certificateId: key.id, pin: $('#bid-pin').value, digest, hash: 'SHA-256', format: 'cms',
    });
    const { bid } = await api('POST', '/api/bids', {
      bidder: bidder.id, agency: $('#bid-agency').value, fileName: file.name, data: toBase64(content), cms,
    });
    await refreshBids();
    show(result, 'ok', `投標成功：簽章已由網站以 OpenSSL 驗證，標單已密封（SHA-256 ${bid.sha256.slice(0, 16)}…）`);
  } catch (error) {
    show(result, 'error', failure(error));
  } finally {
    $('#bid-pin').value = '';
  }
}

async function openBid(id) {
  const result = $('#open-result');
  show(result, 'busy', '請稍候，IC 卡解密中…');
  $('#open-content').textContent = '';
  try {
    const { bid } = await api('GET', `/api/bids/${id}`);
    const key = cardCertificates().find((c) => c.der === bid.recipientCertificate);
    if (!key) throw new Error('此 IC 卡不是這份標單的收件機關');
    const { data } = await client.decrypt({ certificateId: key.id, pin: $('#open-pin').value, cms: bid.cms });
    const check = await api('POST', `/api/bids/${id}/opened`, { data });
    if (!check.matches) throw new Error('解密內容與投標時簽署的標單不符');
    await refreshBids();
    $('#open-content').textContent = new TextDecoder().decode(Uint8Array.from(atob(data), (c) => c.charCodeAt(0)));
    show(result, 'ok', `開標成功：${bid.bidderName} 的標單（${bid.fileName}）內容與簽署時一致`);
  } catch (error) {
    show(result, 'error', failure(error));
  } finally {
    $('#open-pin').value = '';
  }
}

// Bridge mode, for a portal the browser counts as public (Local Network Access blocks its
// direct WebSocket to loopback): the user clicks, the daemon's bridge window opens and relays.
// openBridge() runs synchronously in the click handler, so the popup is not blocked.
function connectThroughBridge(config) {
  const button = $('#bridge-connect');
  button.hidden = false;
  show($('#daemon-status'), 'waiting', '請按「連線 TenderKey」開啟讀卡連線視窗');
  button.addEventListener('click', () => {
    show($('#daemon-status'), 'connecting', '正在開啟 TenderKey 讀卡連線視窗…');
    openBridge({ url: config.bridgeUrl }).then(async (bridge) => {
      button.hidden = true;
      await started(bridge);
    }).catch((error) => show($('#daemon-status'), 'error', failure(error)));
  });
}

async function started(connected) {
  client = connected;
  client.on('event', (event) => {
      if (event.type === 'card.inserted') log(`插入 IC 卡：${event.reader}`);
      else if (event.type === 'card.removed') log(`移除 IC 卡：${event.reader}`);
      else if (event.type === 'reader.added') log(`連接讀卡機：${event.reader}`);
      else if (event.type === 'reader.removed') log(`移除讀卡機：${event.reader}`);
      refreshCards().catch((error) => log(failure(error)));
  });
  client.on('connected', () => refreshCards().catch((error) => log(failure(error))));
  client.on('disconnected', () => show($('#daemon-status'), 'error', '與 TenderKey 的連線已中斷'));
  await client.subscribe();
  const info = await client.systemInfo();
  show($('#daemon-status'), 'ok', `已連線 TenderKey ${info.version}`);
  await refreshCards();
}

async function main() {
  $('#reg-submit').addEventListener('click', register);
  $('#bid-submit').addEventListener('click', submitBid);
  $('#card').addEventListener('change', renderBids);
  const config = await api('GET', '/api/config');
  // ?mode=bridge or ?mode=direct overrides the server's choice (--mode).
  const mode = new URLSearchParams(location.search).get('mode') ?? config.mode;
  document.body.dataset.mode = mode;
  if (mode === 'bridge') {
    connectThroughBridge(config);
  } else {
    try {
      await started(await connect({ url: config.daemonUrl }));
    } catch (error) {
      show($('#daemon-status'), 'error', failure(error));
    }
  }
  await refreshAccounts();
  await refreshBids();
  document.body.dataset.ready = 'true';
}

main();
