// User-facing messages for every TenderKey error reason, in Traditional Chinese (zh-TW)
// and English. A message is a template with {placeholders} filled from the error's
// data, or a function of those values; a template whose values are missing is skipped
// in favour of the next candidate (see messageFor).

export const LANGUAGES = Object.freeze(['zh-TW', 'en']);
export const DEFAULT_LANGUAGE = 'zh-TW';

const ZH_CAPABILITY = {
  read: '讀取憑證', sign: '數位簽章', decrypt: '解密', register: '憑證註冊', manage: '卡片密碼管理',
  'sign-raw': '原始簽章（兼作註冊的金鑰）',
  'sign-cms': 'CMS 數位簽章',
};
const ZH_CREDENTIAL = { pin: 'PIN 碼', newPin: '新 PIN 碼', puk: 'PUK 碼', newPuk: '新 PUK 碼' };
const EN_CREDENTIAL = { pin: 'PIN', newPin: 'new PIN', puk: 'PUK', newPuk: 'new PUK' };
const ZH_RULE = { pin: '6 至 8 位數字', puk: '8 位數字' };
const EN_RULE = { pin: '6 to 8 digits', puk: '8 digits' };

const attempts = (n) => `${n} ${n === 1 ? 'attempt' : 'attempts'}`;

const zh = {
  PARSE_ERROR: 'TenderKey 無法解讀網頁送出的要求，請重新整理網頁後再試一次。',
  INVALID_REQUEST: '網頁送出的要求格式不正確，請重新整理網頁後再試一次。',
  METHOD_NOT_FOUND: '您使用的 TenderKey 版本不支援此項功能，請更新至最新版本。',
  'INVALID_PARAMS.field': '網頁送出的要求內容不正確（{field}），請重新整理網頁後再試一次。',
  INVALID_PARAMS: '網頁送出的要求內容不正確，請重新整理網頁後再試一次。',
  INTERNAL: 'TenderKey 發生內部錯誤，請稍後再試；若問題持續發生，請洽系統管理員並提供錯誤追蹤碼 {correlationId}。',
  'INTERNAL.plain': 'TenderKey 發生內部錯誤，請稍後再試；若問題持續發生，請洽系統管理員。',
  SERVICE_UNAVAILABLE: '電腦的智慧卡服務未啟動，請啟動智慧卡服務後再試一次。',
  NO_READER: '找不到讀卡機，請確認讀卡機已正確連接電腦。',
  NO_CARD: '找不到 IC 卡，請將憑證 IC 卡插入讀卡機。',
  'CARD_REMOVED.unknown': 'IC 卡在作業過程中被移除，作業可能已經完成，請重新插入卡片並確認結果後再繼續。',
  CARD_REMOVED: 'IC 卡在作業過程中被移除，請重新插入卡片後再試一次。',
  UNSUPPORTED_CARD: '無法辨識此 IC 卡，請確認插入的是正確的憑證 IC 卡。',
  CARD_ERROR: 'IC 卡回應異常（狀態碼 {sw}），請重新插入卡片後再試一次。',
  'CARD_ERROR.plain': 'IC 卡回應異常，請重新插入卡片後再試一次。',
  AMBIGUOUS_CARD: '同一張 IC 卡同時出現在多台讀卡機中（可能是複製的卡片），請只保留一張卡片後再試一次。',
  BUSY: '目前處理中的要求過多，請稍候再試。',
  'TIMEOUT.unknown': '作業逾時，無法確認是否已經完成，請先確認結果再決定是否重試。',
  TIMEOUT: '作業逾時，請再試一次。',
  PAYLOAD_TOO_LARGE: '資料量超過上限（{limit} 位元組），無法處理。',
  'PAYLOAD_TOO_LARGE.plain': '資料量超過上限，無法處理。',
  PIN_REQUIRED: '請輸入 {credential}。',
  PIN_FORMAT: '{credential}格式不符合卡片規定（{rule}），請重新輸入。',
  PIN_INCORRECT: 'PIN 碼錯誤，尚可嘗試 {retriesLeft} 次。',
  'PIN_INCORRECT.plain': 'PIN 碼錯誤，請重新輸入。',
  PIN_BLOCKED: 'PIN 碼已鎖定，請使用 PUK 碼解除鎖定。',
  PUK_INCORRECT: 'PUK 碼錯誤，尚可嘗試 {retriesLeft} 次。',
  'PUK_INCORRECT.plain': 'PUK 碼錯誤，請重新輸入。',
  PUK_BLOCKED: 'PUK 碼已鎖定，此卡片無法再解除鎖定，請洽發卡單位辦理。',
  PINPAD_CANCELLED: '已在讀卡機上取消輸入。',
  PINPAD_TIMEOUT: '未在時限內於讀卡機輸入密碼，請再試一次。',
  'PIN_LAST_ATTEMPT.puk': 'PUK 碼僅剩最後 1 次嘗試機會，若再輸入錯誤，卡片將無法解除鎖定。請確認 PUK 碼無誤後再送出。',
  PIN_LAST_ATTEMPT: 'PIN 碼僅剩最後 1 次嘗試機會，若再輸入錯誤，PIN 碼將被鎖定。請確認 PIN 碼無誤後再送出。',
  NOT_PERMITTED: '此網站未獲授權使用「{capability}」功能，請洽系統管理員。',
  'NOT_PERMITTED.plain': '此網站未獲授權使用這項功能，請洽系統管理員。',
  CERTIFICATE_NOT_FOUND: '找不到指定的憑證，請確認已插入正確的 IC 卡。',
  UNSUPPORTED_ALGORITHM: '此卡片的金鑰不支援所要求的演算法。',
  KEY_USAGE: '此憑證不可用於這項作業，請選擇其他憑證。',
  DECRYPT_FAILED: '無法以此卡片解密，資料可能並非以此卡片的憑證加密。',
  NOT_ATTACHED: 'TenderKey 讀卡連線視窗尚未與網站建立連線，請關閉視窗後重試。',
  ALREADY_ATTACHED: 'TenderKey 讀卡連線視窗已與網站建立連線。',
  ORIGIN_NOT_ALLOWED: '此網站未獲准使用 TenderKey，請洽系統管理員。',
  PAGE_PIN_REFUSED: '基於安全，請勿在網頁中輸入 PIN 碼；請在 TenderKey 視窗或讀卡機的密碼鍵盤上輸入。',
  CONNECTION_FAILED: '無法連線至 TenderKey，請確認 TenderKey 已安裝並正在執行。',
  POPUP_BLOCKED: '瀏覽器阻擋了 TenderKey 讀卡連線視窗，請允許此網站開啟彈出式視窗後再試一次。',
  BRIDGE_CLOSED: 'TenderKey 讀卡連線視窗已關閉，請再試一次。',
  USER_CANCELLED: '您已在 TenderKey 視窗中取消這項作業。',
  'CONNECTION_CLOSED.unknown': '與 TenderKey 的連線已中斷，無法確認作業是否已經完成，請先確認結果再決定是否重試。',
  CONNECTION_CLOSED: '與 TenderKey 的連線已中斷，請再試一次。',
  RESPONSE_TIMEOUT: 'TenderKey 未在時限內回應，無法確認作業是否已經完成，請先確認結果再決定是否重試。',
  UNKNOWN: '發生未預期的錯誤（{reason}），請稍後再試。',
};

const en = {
  PARSE_ERROR: 'TenderKey could not read the request sent by the page. Reload the page and try again.',
  INVALID_REQUEST: 'The page sent a malformed request. Reload the page and try again.',
  METHOD_NOT_FOUND: 'Your version of TenderKey does not offer this function. Please update TenderKey.',
  'INVALID_PARAMS.field': 'The page sent an invalid request ({field}). Reload the page and try again.',
  INVALID_PARAMS: 'The page sent an invalid request. Reload the page and try again.',
  INTERNAL: 'TenderKey ran into an internal error. Please try again later; if it persists, contact your administrator with error reference {correlationId}.',
  'INTERNAL.plain': 'TenderKey ran into an internal error. Please try again later; if it persists, contact your administrator.',
  SERVICE_UNAVAILABLE: 'The smart card service of this computer is not running. Start it and try again.',
  NO_READER: 'No card reader found. Check that the reader is connected to the computer.',
  NO_CARD: 'No card found. Insert your certificate card into the reader.',
  'CARD_REMOVED.unknown': 'The card was removed during the operation, which may have completed. Re-insert the card and check the result before continuing.',
  CARD_REMOVED: 'The card was removed during the operation. Re-insert the card and try again.',
  UNSUPPORTED_CARD: 'This card is not supported. Check that you inserted the right certificate card.',
  CARD_ERROR: 'The card gave an unexpected answer (status {sw}). Re-insert the card and try again.',
  'CARD_ERROR.plain': 'The card gave an unexpected answer. Re-insert the card and try again.',
  AMBIGUOUS_CARD: 'The same card is in more than one reader (a copy of the card?). Leave only one of them in and try again.',
  BUSY: 'Too many requests are being processed. Please wait a moment and try again.',
  'TIMEOUT.unknown': 'The operation timed out and may or may not have completed. Check the result before trying again.',
  TIMEOUT: 'The operation timed out. Please try again.',
  PAYLOAD_TOO_LARGE: 'The data is too large to process (limit {limit} bytes).',
  'PAYLOAD_TOO_LARGE.plain': 'The data is too large to process.',
  PIN_REQUIRED: 'Please enter your {credential}.',
  PIN_FORMAT: 'The {credential} does not meet the card\'s rules ({rule}). Please enter it again.',
  PIN_INCORRECT: (v) => (Number.isInteger(v.retriesLeft) ? `Incorrect PIN. ${attempts(v.retriesLeft)} left.` : null),
  'PIN_INCORRECT.plain': 'Incorrect PIN. Please enter it again.',
  PIN_BLOCKED: 'The PIN is blocked. Unblock it with the PUK.',
  PUK_INCORRECT: (v) => (Number.isInteger(v.retriesLeft) ? `Incorrect PUK. ${attempts(v.retriesLeft)} left.` : null),
  'PUK_INCORRECT.plain': 'Incorrect PUK. Please enter it again.',
  PUK_BLOCKED: 'The PUK is blocked and the card can no longer be unblocked. Please contact the card issuer.',
  PINPAD_CANCELLED: 'Entry was cancelled on the reader.',
  PINPAD_TIMEOUT: 'Nothing was entered on the reader in time. Please try again.',
  'PIN_LAST_ATTEMPT.puk': 'Only 1 PUK attempt is left: if it is wrong, the card can no longer be unblocked. Check the PUK before sending it.',
  PIN_LAST_ATTEMPT: 'Only 1 PIN attempt is left: if it is wrong, the PIN will be blocked. Check the PIN before sending it.',
  NOT_PERMITTED: 'This website is not allowed to use the "{capability}" function. Please contact your administrator.',
  'NOT_PERMITTED.plain': 'This website is not allowed to use this function. Please contact your administrator.',
  CERTIFICATE_NOT_FOUND: 'The certificate was not found. Check that the right card is inserted.',
  UNSUPPORTED_ALGORITHM: 'The card\'s key does not support the requested algorithm.',
  KEY_USAGE: 'This certificate cannot be used for this operation. Please choose another one.',
  DECRYPT_FAILED: 'The data could not be decrypted with this card; it may not have been encrypted for this card\'s certificate.',
  NOT_ATTACHED: 'The TenderKey card connection window is not connected to the site yet. Close the window and try again.',
  ALREADY_ATTACHED: 'The TenderKey card connection window is already connected to a site.',
  ORIGIN_NOT_ALLOWED: 'This website is not allowed to use TenderKey. Please contact your administrator.',
  PAGE_PIN_REFUSED: 'For security, PINs are not accepted from web pages; enter the PIN in the TenderKey window or on the reader\'s PIN pad.',
  CONNECTION_FAILED: 'Cannot connect to TenderKey. Check that TenderKey is installed and running.',
  POPUP_BLOCKED: 'The browser blocked the TenderKey card connection window. Allow pop-ups for this site and try again.',
  BRIDGE_CLOSED: 'The TenderKey card connection window was closed. Please try again.',
  USER_CANCELLED: 'You cancelled the operation in the TenderKey window.',
  'CONNECTION_CLOSED.unknown': 'The connection to TenderKey was lost; the operation may or may not have completed. Check the result before trying again.',
  CONNECTION_CLOSED: 'The connection to TenderKey was lost. Please try again.',
  RESPONSE_TIMEOUT: 'TenderKey did not answer in time; the operation may or may not have completed. Check the result before trying again.',
  UNKNOWN: 'An unexpected error occurred ({reason}). Please try again later.',
};

export const MESSAGES = Object.freeze({ 'zh-TW': Object.freeze(zh), en: Object.freeze(en) });

const PUK_METHODS = new Set(['pin.unblock', 'puk.change']);

// Maps a BCP 47 tag to one of LANGUAGES: any Chinese tag to zh-TW, anything else to en.
export function resolveLanguage(lang) {
  if (lang === undefined || lang === null || lang === '') return DEFAULT_LANGUAGE;
  return /^zh(?:-|$)/i.test(String(lang)) ? 'zh-TW' : 'en';
}

function render(template, vars) {
  if (typeof template === 'function') return template(vars);
  let missing = false;
  const text = template.replace(/\{(\w+)\}/g, (_, name) => {
    const v = vars[name];
    if (v === undefined || v === null || v === '') missing = true;
    return String(v);
  });
  return missing ? null : text;
}

// The user-facing text for an error. `error` is a reason string, a TenderKeyError, or
// any object with `reason` (and `data`, `method`); an error `data` object itself works
// too. Options override what the error carries: { lang, data, method }.
export function messageFor(error, options = {}) {
  const isObject = error !== null && typeof error === 'object';
  const reason = isObject ? error.reason : error;
  const data = options.data ?? (isObject ? (error.data ?? error) : {}) ?? {};
  const method = options.method ?? (isObject ? error.method : undefined);
  const lang = resolveLanguage(options.lang);
  const table = MESSAGES[lang];
  const zhText = lang === 'zh-TW';

  const field = typeof data.field === 'string' ? data.field : undefined;
  const credentialKey = field && Object.hasOwn(ZH_CREDENTIAL, field) ? field
    : PUK_METHODS.has(method) ? 'puk' : 'pin';
  const aboutPuk = credentialKey === 'puk' || credentialKey === 'newPuk';
  const vars = {
    reason,
    field,
    retriesLeft: data.retriesLeft,
    sw: data.sw,
    limit: data.limit,
    correlationId: data.correlationId,
    capability: zhText ? (ZH_CAPABILITY[data.capability] ?? data.capability) : data.capability,
    credential: (zhText ? ZH_CREDENTIAL : EN_CREDENTIAL)[credentialKey],
    rule: (zhText ? ZH_RULE : EN_RULE)[aboutPuk ? 'puk' : 'pin'],
  };

  const candidates = [];
  if (data.outcome === 'unknown') candidates.push(`${reason}.unknown`);
  if (aboutPuk) candidates.push(`${reason}.puk`);
  if (field !== undefined) candidates.push(`${reason}.field`);
  candidates.push(reason, `${reason}.plain`, 'UNKNOWN');
  for (const key of candidates) {
    if (typeof key !== 'string' || !Object.hasOwn(table, key)) continue;
    const text = render(table[key], vars);
    if (text) return text;
  }
  return render(table.UNKNOWN, { reason: String(reason) });
}
