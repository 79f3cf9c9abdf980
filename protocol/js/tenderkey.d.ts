// Types of tenderkey.js, the TenderKey WebSocket API v1 client (protocol/README.md).

export type { Language, MessageTemplate, MessageOptions } from './messages.js';
export { LANGUAGES, DEFAULT_LANGUAGE, MESSAGES, resolveLanguage, messageFor } from './messages.js';

// ---------- constants ----------

export declare const PROTOCOL_VERSION: 1;
export declare const SUBPROTOCOL: 'tenderkey.v1';
export declare const DEFAULT_URL: 'ws://127.0.0.1:61261/';
export declare const DEFAULT_TIMEOUT_MS: number;
export declare const DEFAULT_CONNECT_TIMEOUT_MS: number;
export declare const DEFAULT_RECONNECT: Readonly<Required<ReconnectOptions>>;
/** reason -> JSON-RPC error code (the table of protocol/errors.json). */
export declare const ERROR_CODES: Readonly<Record<DaemonReason, number>>;
export declare const CLIENT_REASONS: readonly ClientReason[];
export declare const EVENT_TYPES: readonly EventType[];

// ---------- errors ----------

/** Reasons the daemon sends in error.data.reason. */
export type DaemonReason =
  | 'PARSE_ERROR' | 'INVALID_REQUEST' | 'METHOD_NOT_FOUND' | 'INVALID_PARAMS' | 'INTERNAL'
  | 'SERVICE_UNAVAILABLE' | 'NO_READER' | 'NO_CARD' | 'CARD_REMOVED' | 'UNSUPPORTED_CARD'
  | 'CARD_ERROR' | 'AMBIGUOUS_CARD' | 'BUSY' | 'TIMEOUT' | 'PAYLOAD_TOO_LARGE' | 'PIN_REQUIRED'
  | 'PIN_FORMAT'
  | 'PIN_INCORRECT' | 'PIN_BLOCKED' | 'PUK_INCORRECT' | 'PUK_BLOCKED' | 'PINPAD_CANCELLED'
  | 'PINPAD_TIMEOUT' | 'PIN_LAST_ATTEMPT' | 'NOT_PERMITTED' | 'CERTIFICATE_NOT_FOUND'
  | 'UNSUPPORTED_ALGORITHM' | 'KEY_USAGE' | 'DECRYPT_FAILED' | 'NOT_ATTACHED' | 'ALREADY_ATTACHED'
  | 'ORIGIN_NOT_ALLOWED' | 'PAGE_PIN_REFUSED';

/** Reasons the client raises itself (no JSON-RPC code). */
export type ClientReason =
  | 'CONNECTION_FAILED' | 'CONNECTION_CLOSED' | 'RESPONSE_TIMEOUT' | 'POPUP_BLOCKED' | 'BRIDGE_CLOSED'
  | 'USER_CANCELLED';

export type Reason = DaemonReason | ClientReason;

export type Outcome = 'unknown' | 'none';
/**
 * 'sign-cms': `sign` with format 'cms' only, what a user's consent in the bridge window grants.
 * 'sign-raw': a raw signature with a key that both signs and registers (the signing key of a
 * PKCS#11 token without a register key); only an administrator's configuration grants it.
 */
export type Capability = 'read' | 'sign' | 'decrypt' | 'register' | 'manage' | 'sign-raw' | 'sign-cms';

/** error.data: `reason` plus the members of its reason (protocol/README.md section 8). */
export interface ErrorData {
  reason: Reason | string;
  /** INVALID_PARAMS, PAYLOAD_TOO_LARGE, PIN_FORMAT, UNSUPPORTED_ALGORITHM */
  field?: string;
  /** PIN_INCORRECT, PIN_BLOCKED, PUK_INCORRECT, PUK_BLOCKED, PIN_LAST_ATTEMPT; PIN_REQUIRED when the PIN is missing */
  retriesLeft?: number;
  /** TIMEOUT, CARD_REMOVED, CONNECTION_CLOSED, RESPONSE_TIMEOUT */
  outcome?: Outcome;
  /** CARD_ERROR: status word, lowercase hex */
  sw?: string;
  /** INTERNAL */
  correlationId?: string;
  /** NOT_PERMITTED */
  capability?: Capability;
  /** PAYLOAD_TOO_LARGE, in decoded bytes */
  limit?: number;
  /** AMBIGUOUS_CARD: the readers that hold a card with the id the request names (two or more) */
  readers?: string[];
  /** ORIGIN_NOT_ALLOWED (bridge.attach): the user may allow the origin in the bridge window */
  consent?: true;
  /** ORIGIN_NOT_ALLOWED with consent: the registrable domain of the origin's host */
  registrableDomain?: string;
  /** CONNECTION_CLOSED: the WebSocket close code */
  closeCode?: number;
  [member: string]: unknown;
}

export declare class TenderKeyError extends Error {
  constructor(reason: Reason | string, init?: {
    code?: number | null;
    message?: string;
    data?: Partial<ErrorData>;
    method?: string;
    cause?: unknown;
  });
  readonly name: 'TenderKeyError';
  readonly reason: Reason | string;
  /** The JSON-RPC code; null for client reasons. */
  readonly code: number | null;
  readonly data: ErrorData;
  /** The method of the failed request, when there was one. */
  readonly method: string | undefined;
  /** data.retriesLeft */
  readonly retriesLeft: number | undefined;
  /** The user-facing text (zh-TW by default, or en). */
  localizedMessage(lang?: string): string;
  /** From the `error` member of a JSON-RPC failure response. */
  static fromResponse(error: unknown, method?: string): TenderKeyError;
}

// ---------- base64 ----------

/** Standard base64 with padding. */
export type Base64 = string;
export type Binary = ArrayBuffer | ArrayBufferView;

export declare function toBase64(bytes: Binary): Base64;
export declare function fromBase64(text: Base64): Uint8Array;

// ---------- objects ----------

export type CardType = 'piv' | 'pkcs11' | 'unknown';
export type KeyAlgorithm = 'RSA-2048' | 'RSA-3072' | 'RSA-4096' | 'EC-P256' | 'EC-P384';
export type KeyUsageName =
  | 'digitalSignature' | 'nonRepudiation' | 'keyEncipherment' | 'dataEncipherment'
  | 'keyAgreement' | 'keyCertSign' | 'cRLSign' | 'encipherOnly' | 'decipherOnly';
export type Usage = 'sign' | 'decrypt' | 'register';
export type Hash = 'SHA-256' | 'SHA-384' | 'SHA-512';
export type SignAlgorithm = 'RSASSA-PKCS1-v1_5' | 'RSA-PSS' | 'ECDSA';

export interface Card {
  /** cardId; null exactly when type is 'unknown' */
  id: string | null;
  type: CardType;
  /** lowercase hex; '' for a mute card */
  atr: string;
  label: string;
}

export interface Reader {
  name: string;
  cardPresent: boolean;
  pinpad: boolean;
  card: Card | null;
}

export interface Certificate {
  id: string;
  cardId: string;
  reader: string;
  /** lowercase hex: PIV key reference (9a, 9c, 9d, 9e, 82…95) or PKCS#11 CKA_ID */
  slot: string;
  label: string;
  der: Base64;
  /** RFC 4514, UTF-8 */
  subject: string;
  issuer: string;
  /** lowercase hex */
  serialNumber: string;
  /** RFC 3339 UTC */
  notBefore: string;
  notAfter: string;
  keyAlgorithm: KeyAlgorithm;
  keyUsage: KeyUsageName[];
  /**
   * One use per key: PIV 9A ['register'], 9C ['sign'], 9D and 82…95 ['decrypt'], 9E [] (unless
   * the daemon allows keys without PIN). ['sign', 'register'] only for the signing key of a
   * PKCS#11 token that has no register key; a raw signature with it needs 'sign-raw'.
   */
  usableFor: Usage[];
  expiresInDays: number;
  /** the name's attributes in DER order; type: short name (C, O, OU, CN, serialNumber…) or dotted OID */
  subjectAttributes: NameAttribute[];
  issuerAttributes: NameAttribute[];
  /** the Uniform Business Number (統一編號); null when the certificate has none */
  organizationId: OrganizationId | null;
  /** GPKI subject type (2.16.886.1.100.2.1); null when the certificate has none */
  subjectType: SubjectType | null;
  /** GPKI card type (2.16.886.1.100.2.2): true primary card, false secondary card */
  primaryCard: boolean | null;
  /** certificatePolicies OIDs */
  policies: string[];
  /** RFC 5280 names where known, else dotted OIDs */
  extendedKeyUsage: string[];
  /** SHA-256 of der, lowercase hex */
  fingerprintSha256: string;
}

export interface NameAttribute {
  type: string;
  /** UTF-8 text */
  value: string;
}

export type SubjectType = 'company' | 'organisation' | 'agency' | 'unit' | 'person' | 'other';

export interface OrganizationId {
  /** the extension's value when present, else the subject's */
  value: string;
  source: 'extension' | 'subject' | 'both';
  /** both places hold a value and they differ */
  mismatch: boolean;
  extensionValue: string | null;
  subjectValue: string | null;
}

/** A certificate on the card without a key behind it (a CA certificate on a PKCS#11 token). */
export interface CaCertificate {
  cardId: string;
  reader: string;
  label: string;
  der: Base64;
  subject: string;
  issuer: string;
  serialNumber: string;
  notBefore: string;
  notAfter: string;
}

// ---------- params and results ----------

export interface SystemInfo {
  name: 'TenderKey';
  version: string;
  protocol: 1;
  backends: Array<'piv' | 'pkcs11'>;
  origin: string;
}

export interface ReadersListResult { readers: Reader[] }
export interface SubscribeResult { subscribed: true }
export interface CertificatesListParams { reader?: string }
export interface CertificatesListResult {
  /** the keys of the cards, each with its certificate */
  certificates: Certificate[];
  /** certificates without a key (never in certificates) */
  caCertificates: CaCertificate[];
}

export interface CardParams { cardId: string }
export interface PinStatusResult { retriesLeft: number; blocked: boolean; pinpad: boolean }

interface LastAttempt {
  /**
   * Present the PIN/PUK even when it may be the last try (the card reports a single try left;
   * for a PIV card's PUK also when the daemon has not seen its counter). Honoured only for an
   * origin with 'manage'; for any other origin the answer stays PIN_LAST_ATTEMPT.
   */
  lastAttempt?: boolean;
}

/** pin omitted: the reader's PIN pad. */
export interface PinVerifyParams extends CardParams, LastAttempt { pin?: string }
/** pin and newPin together, or neither (PIN pad). */
export interface PinChangeParams extends CardParams, LastAttempt { pin?: string; newPin?: string }
/** puk and newPin together, or neither (PIN pad). */
export interface PinUnblockParams extends CardParams, LastAttempt { puk?: string; newPin?: string }
/** puk and newPuk together, or neither (PIN pad). */
export interface PukChangeParams extends CardParams, LastAttempt { puk?: string; newPuk?: string }

interface KeyParams extends LastAttempt {
  certificateId: string;
  /** omitted: the reader's PIN pad */
  pin?: string;
}

interface SignCommon extends KeyParams {
  hash?: Hash;
  algorithm?: SignAlgorithm;
}

interface SignRawParams extends SignCommon {
  format?: 'raw';
  /** Only for raw ECDSA. */
  signatureEncoding?: 'der' | 'p1363';
}

interface SignCmsParams extends SignCommon {
  format: 'cms';
  /** Each defaults to true on its own; detached: false needs data. */
  cms?: { detached?: boolean; signingTime?: boolean };
}

/** Exactly one of digest (the hash of the content) and data (the content). */
export type SignParams =
  (SignRawParams | SignCmsParams) &
  ({ digest: Base64 | Binary; data?: never } | { data: Base64 | Binary; digest?: never });

export interface SignRawResult { signature: Base64; certificate: Base64; algorithm: SignAlgorithm; hash: Hash }
export interface SignCmsResult { cms: Base64; certificate: Base64 }
export type SignResult = SignRawResult | SignCmsResult;

export interface DecryptCmsParams extends KeyParams {
  /** DER ContentInfo of EnvelopedData */
  cms: Base64 | Binary;
}

export interface DecryptRawParams extends KeyParams {
  algorithm: 'RSA-OAEP' | 'RSAES-PKCS1-v1_5';
  /** Only with RSA-OAEP; default SHA-256. */
  hash?: Hash;
  ciphertext: Base64 | Binary;
}

export type DecryptParams = DecryptCmsParams | DecryptRawParams;
export interface DecryptResult { data: Base64 }

export interface RegisterParams extends KeyParams {
  /** 44–128 printable ASCII characters without spaces */
  challenge: string;
}

/** A Web eID authentication token plus the DER of every certificate on the card. */
export interface RegisterResult {
  unverifiedCertificate: Base64;
  algorithm: 'RS256' | 'ES256' | 'ES384';
  signature: Base64;
  format: 'web-eid:1.0';
  appVersion: string;
  /** the card's key certificates, the registration certificate included */
  certificates: Base64[];
  /** the CA certificates the card carries (caCertificates); [] on PIV cards */
  chain: Base64[];
}

// ---------- events ----------

/** hipki.call (bridge connections of the HiPKI popup page, docs/hipki.md): the package as the
 * portal posted it; every value a string. */
export interface HipkiPackage {
  func: 'MakeSignature' | 'DecryptData' | 'GetUserCert' | 'CheckEnvir';
  [member: string]: string;
}
export interface HipkiCallParams { package: HipkiPackage }
export interface HipkiCertificate {
  certb64: Base64;
  label: string;
  usage: 'digitalSignature' | 'keyEncipherment|dataEncipherment';
  subjectDN: string;
  issuerDN: string;
  sn: string;
  /** Unix seconds. */
  notBeforeT: number;
  notAfterT: number;
}
export interface HipkiSlot {
  slotDescription: string;
  token: null | { serialNumber: string; certs?: HipkiCertificate[] };
}
/** The HiPKI response object: failures are ret_code values (0 on success). */
export interface HipkiResponse {
  func: string;
  ret_code: number;
  last_error: number;
  message: string;
  serverVersion: string;
  signature?: Base64;
  certb64?: Base64;
  cardSN?: string;
  plain?: string;
  slots?: HipkiSlot[];
}

export type EventType = 'reader.added' | 'reader.removed' | 'card.inserted' | 'card.removed';

export interface ReaderAddedEvent { type: 'reader.added'; reader: string }
export interface ReaderRemovedEvent { type: 'reader.removed'; reader: string }
export interface CardInsertedEvent { type: 'card.inserted'; reader: string; card: Card }
export interface CardRemovedEvent { type: 'card.removed'; reader: string; cardId: string | null }
export type TenderKeyEvent = ReaderAddedEvent | ReaderRemovedEvent | CardInsertedEvent | CardRemovedEvent;

export interface ClientEventMap {
  'reader.added': ReaderAddedEvent;
  'reader.removed': ReaderRemovedEvent;
  'card.inserted': CardInsertedEvent;
  'card.removed': CardRemovedEvent;
  /** every daemon event */
  event: TenderKeyEvent;
  /** after a reconnect (and re-subscription) */
  connected: { reconnected: true };
  disconnected: { code: number; reason: string; willReconnect: boolean };
  /** a message that matched no request, a failed re-subscription, a listener that threw */
  error: unknown;
}

// ---------- client ----------

export interface ReconnectOptions {
  initialDelayMs?: number;
  maxDelayMs?: number;
  factor?: number;
  /** relative random spread of each delay, 0…1 */
  jitter?: number;
  maxAttempts?: number;
}

/** The constructor of a browser-compatible WebSocket. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => {
  readonly protocol: string;
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: string, listener: (event: any) => void): void;
};

export interface ConnectOptions {
  /** default ws://127.0.0.1:61261/ */
  url?: string;
  /** default globalThis.WebSocket */
  WebSocket?: WebSocketConstructor;
  /** per-request client timeout, default 130000 */
  timeoutMs?: number;
  /** default 10000 */
  connectTimeoutMs?: number;
  /** default true (DEFAULT_RECONNECT) */
  reconnect?: boolean | ReconnectOptions;
}

export interface CallOptions {
  timeoutMs?: number;
}

export interface TenderKeyClient {
  readonly url: string;
  readonly connected: boolean;
  readonly subscribed: boolean;

  on<K extends keyof ClientEventMap>(type: K, listener: (event: ClientEventMap[K]) => void): () => void;
  on(type: string, listener: (event: any) => void): () => void;
  off<K extends keyof ClientEventMap>(type: K, listener: (event: ClientEventMap[K]) => void): void;
  off(type: string, listener: (event: any) => void): void;

  /** Any method by name; top-level binary params are sent as base64. */
  call<T = unknown>(method: string, params?: object, options?: CallOptions): Promise<T>;

  systemInfo(options?: CallOptions): Promise<SystemInfo>;
  readersList(options?: CallOptions): Promise<ReadersListResult>;
  certificatesList(params?: CertificatesListParams, options?: CallOptions): Promise<CertificatesListResult>;
  pinStatus(params: CardParams, options?: CallOptions): Promise<PinStatusResult>;
  pinVerify(params: PinVerifyParams, options?: CallOptions): Promise<{ verified: true }>;
  pinChange(params: PinChangeParams, options?: CallOptions): Promise<{ changed: true }>;
  pinUnblock(params: PinUnblockParams, options?: CallOptions): Promise<{ unblocked: true }>;
  pukChange(params: PukChangeParams, options?: CallOptions): Promise<{ changed: true }>;
  sign(params: SignParams & { format: 'cms' }, options?: CallOptions): Promise<SignCmsResult>;
  sign(params: SignParams, options?: CallOptions): Promise<SignRawResult>;
  decrypt(params: DecryptParams, options?: CallOptions): Promise<DecryptResult>;
  register(params: RegisterParams, options?: CallOptions): Promise<RegisterResult>;
  /** events.subscribe; repeated automatically after each reconnect. */
  subscribe(options?: CallOptions): Promise<SubscribeResult>;

  /** Closes the connection; pending requests fail with CONNECTION_CLOSED. */
  close(): Promise<void>;
}

/** Opens a connection; rejects with TenderKeyError CONNECTION_FAILED when it cannot. */
export declare function connect(options?: ConnectOptions): Promise<TenderKeyClient>;

export declare const DEFAULT_BRIDGE_URL: string;
export declare const DEFAULT_BRIDGE_CONNECT_TIMEOUT_MS: number;
export declare const BRIDGE_HEARTBEAT_MS: number;

export interface BridgeOptions {
  /** The daemon's bridge page; default http://127.0.0.1:61261/bridge. */
  url?: string;
  /** Default for every request, ms; default 130 000. */
  timeoutMs?: number;
  /** Until the bridge window is connected and attached, ms; default 60 000. */
  connectTimeoutMs?: number;
  /** window.open features; default "popup,width=520,height=420". */
  features?: string;
  /** The window that opens the bridge; default globalThis.window. */
  window?: Window;
}

/** The client of openBridge(): the methods and events of connect(), through the bridge window. */
export interface TenderKeyBridgeClient extends Omit<TenderKeyClient, 'url'> {
  /** The bridge window. */
  readonly window: Window;
}

/**
 * Opens the daemon's bridge window (call synchronously inside a user gesture) and resolves
 * once it is attached to this page's origin. Rejects with POPUP_BLOCKED, BRIDGE_CLOSED,
 * ORIGIN_NOT_ALLOWED or CONNECTION_FAILED. Never reconnects.
 */
export declare function openBridge(options?: BridgeOptions): Promise<TenderKeyBridgeClient>;
