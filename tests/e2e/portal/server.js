#!/usr/bin/env node
// The TenderKey demo portal: a small e-procurement site that shows what a real portal does
// with TenderKey, and the site the browser end-to-end tests drive. Not a product component.
//
//   node server.js --ca CA.pem [--ca CA2.pem ...] [--port 8088] [--host 127.0.0.1] [--origin ORIGIN]
//                  [--daemon-url ws://127.0.0.1:61261/] [--data DIR] [--mode direct|bridge]
//                  [--tls-cert CERT.pem --tls-key KEY.pem]
//
// --mode bridge: the page reaches tenderkeyd through the daemon's bridge window (openBridge),
// as a portal on the public web must; direct: a WebSocket from the page (loopback portals).
// With --tls-cert/--tls-key the portal speaks https.
//
// - Registration (first use): the server issues a challenge, checks the Web eID token
//   (web-eid:1.0) that `register` returned: certificate issued by the trusted CA and allowed
//   for client authentication, algorithm fitting the key, signature over
//   H(origin) || H(challenge) for this portal's own origin and the challenge it issued (once).
//   It then keeps the card's certificates that chain to the same CA and name the same
//   subject (organisation; the CN names the key's role): the signing certificate(s) and the
//   encryption certificate.
// - Bid signing: the page signs the SHA-256 of the bid file (CMS, detached, on the card); the
//   server verifies with `openssl cms -verify -binary -cades` against the registered signing
//   certificate only (-nointern), then seals the bid to the chosen agency's registered
//   encryption certificate (`openssl cms -encrypt`, no card involved).
// - Opening: the agency's page fetches the sealed bid and decrypts it with its card; the
//   server confirms that what was opened is the bid that was signed.
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const clientDir = path.resolve(here, '../../../protocol/js');

function parseArgs(argv) {
  const options = {
    port: 8088, host: '127.0.0.1', origin: null, daemonUrl: 'ws://127.0.0.1:61261/', ca: [], data: null,
    mode: 'direct', tlsCert: null, tlsKey: null,
  };
  for (let i = 0; i < argv.length; i += 2) {
    const [name, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${name} needs a value`);
    if (name === '--port') options.port = Number(value);
    else if (name === '--host') options.host = value;
    else if (name === '--origin') options.origin = value;
    else if (name === '--daemon-url') options.daemonUrl = value;
    else if (name === '--ca') options.ca.push(value);
    else if (name === '--data') options.data = value;
    else if (name === '--mode') options.mode = value;
    else if (name === '--tls-cert') options.tlsCert = value;
    else if (name === '--tls-key') options.tlsKey = value;
    else throw new Error(`unknown option ${name}`);
  }
  if (options.ca.length === 0) throw new Error('--ca CA.pem is required (the CA that issues the cards)');
  if (options.mode !== 'direct' && options.mode !== 'bridge') throw new Error('--mode is direct or bridge');
  options.origin ??= `${options.tlsCert ? 'https' : 'http'}://${options.host}:${options.port}`;
  options.data ??= fs.mkdtempSync(path.join(os.tmpdir(), 'tenderkey-portal-'));
  return options;
}

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const TOKEN_ALGORITHMS = {
  RS256: { hash: 'sha256', keyType: 'rsa' },
  ES256: { hash: 'sha256', keyType: 'ec', curve: 'prime256v1' },
  ES384: { hash: 'sha384', keyType: 'ec', curve: 'secp384r1' },
};
const CHALLENGE_LIFETIME_MS = 5 * 60 * 1000;

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function run(command, args) {
  return new Promise((resolve, reject) => {
    execFile(command, args, { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(Object.assign(error, { stderr: String(stderr) }));
      else resolve(String(stdout));
    });
  });
}

function sha256(data) {
  return crypto.createHash('sha256').update(data).digest();
}

function parseCertificate(base64) {
  if (typeof base64 !== 'string' || base64 === '') throw new HttpError(400, 'certificate missing');
  try {
    return new crypto.X509Certificate(Buffer.from(base64, 'base64'));
  } catch {
    throw new HttpError(400, 'certificate does not parse');
  }
}

// The trusted CA that issued `cert` (one level, as card CAs issue end-entity certificates),
// when the certificate is valid now; else null.
function issuerOf(cert, cas, now = new Date()) {
  if (!(new Date(cert.validFrom) <= now && now <= new Date(cert.validTo))) return null;
  return cas.find((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey)) ?? null;
}

// The subject without its common name: PIV cards name each key's certificate after its role
// ("... PIV Authentication", "... Key Management"), so "the same subject" of the card's
// certificates is the same organisation (every attribute but CN).
function organisationOf(cert) {
  return cert.subject.split('\n').filter((line) => !line.startsWith('CN=')).join('\n');
}

// The key usage names of a certificate, as openssl prints them ("Digital Signature", ...).
async function keyUsageOf(cert, dir) {
  const file = path.join(dir, `ku-${crypto.randomUUID()}.pem`);
  fs.writeFileSync(file, cert.toString());
  try {
    const text = await run('openssl', ['x509', '-in', file, '-noout', '-ext', 'keyUsage']);
    const line = text.split('\n').slice(1).join(',');
    return line.split(',').map((s) => s.trim()).filter(Boolean);
  } finally {
    fs.rmSync(file, { force: true });
  }
}

export class Portal {
  constructor(options) {
    this.options = options;
    this.cas = options.ca.map((file) => new crypto.X509Certificate(fs.readFileSync(file)));
    this.challenges = new Map(); // challenge -> expiry (ms)
    this.accounts = new Map(); // id -> account
    this.bids = new Map(); // id -> bid
    fs.mkdirSync(options.data, { recursive: true });
  }

  newChallenge() {
    const challenge = crypto.randomBytes(32).toString('base64');
    this.challenges.set(challenge, Date.now() + CHALLENGE_LIFETIME_MS);
    return challenge;
  }

  // The Web eID validation of a `web-eid:1.0` token for this portal's origin.
  verifyToken(token, challenge) {
    const expiry = this.challenges.get(challenge);
    this.challenges.delete(challenge); // single use, whatever the outcome
    if (expiry === undefined || expiry < Date.now()) throw new HttpError(400, 'unknown or expired challenge');
    if (token?.format !== 'web-eid:1.0') throw new HttpError(400, 'token format is not web-eid:1.0');
    const algorithm = TOKEN_ALGORITHMS[token.algorithm];
    if (!algorithm) throw new HttpError(400, 'unsupported token algorithm');
    const cert = parseCertificate(token.unverifiedCertificate);
    if (!issuerOf(cert, this.cas)) throw new HttpError(400, 'certificate is not issued by a trusted CA or not valid now');
    // Without the extension a certificate serves any purpose (RFC 5280): the signing
    // certificate of a GPKI card, whose key also registers (the card has no other).
    if (cert.keyUsage && !cert.keyUsage.includes(CLIENT_AUTH)) throw new HttpError(400, 'certificate is not for client authentication');
    const key = cert.publicKey;
    if (key.asymmetricKeyType !== algorithm.keyType ||
        (algorithm.curve && key.asymmetricKeyDetails.namedCurve !== algorithm.curve)) {
      throw new HttpError(400, 'token algorithm does not fit the key');
    }
    const message = Buffer.concat([
      crypto.createHash(algorithm.hash).update(this.options.origin, 'utf8').digest(),
      crypto.createHash(algorithm.hash).update(challenge, 'utf8').digest(),
    ]);
    const signature = Buffer.from(String(token.signature ?? ''), 'base64');
    const verified = crypto.verify(algorithm.hash, message,
      algorithm.keyType === 'ec' ? { key, dsaEncoding: 'ieee-p1363' } : key, signature);
    if (!verified) throw new HttpError(400, 'token signature does not verify for this origin and challenge');
    return cert;
  }

  async register({ token, challenge, role }) {
    if (role !== 'bidder' && role !== 'agency') throw new HttpError(400, 'role must be bidder or agency');
    const auth = this.verifyToken(token, challenge);
    const ca = issuerOf(auth, this.cas);
    const signing = [];
    let encryption = null;
    for (const der of Array.isArray(token.certificates) ? token.certificates : []) {
      const cert = parseCertificate(der);
      const self = cert.fingerprint256 === auth.fingerprint256;
      if (organisationOf(cert) !== organisationOf(auth) || issuerOf(cert, [ca]) !== ca) continue;
      const usage = await keyUsageOf(cert, this.options.data);
      if (usage.includes('Key Encipherment') && encryption === null && !self) encryption = cert;
      // The registration certificate signs bids only where it is the card's signing
      // certificate (GPKI cards; its key has no separate registration role there).
      else if ((usage.includes('Digital Signature') || usage.includes('Non Repudiation')) &&
        (!self || !auth.keyUsage)) signing.push(cert);
    }
    const id = auth.fingerprint256.replaceAll(':', '').slice(0, 16).toLowerCase();
    const account = {
      id,
      role,
      name: auth.subject.split('\n').find((l) => l.startsWith('OU='))?.slice(3) ?? '',
      organisation: auth.subject.split('\n').find((l) => l.startsWith('O='))?.slice(2) ?? '',
      subject: auth.subject,
      algorithm: token.algorithm,
      authCertificate: auth.raw.toString('base64'),
      signingCertificates: signing.map((c) => c.raw.toString('base64')),
      encryptionCertificate: encryption ? encryption.raw.toString('base64') : null,
      registeredAt: new Date().toISOString(),
    };
    this.accounts.set(id, account);
    return account;
  }

  publicAccount(a) {
    return {
      id: a.id, role: a.role, name: a.name, organisation: a.organisation, algorithm: a.algorithm,
      authCertificate: a.authCertificate, signingCertificates: a.signingCertificates,
      encryptionCertificate: a.encryptionCertificate, registeredAt: a.registeredAt,
    };
  }

  // A signed bid: verify the detached CMS over the file against the bidder's registered signing
  // certificates, then seal the file to the agency's encryption certificate.
  async submitBid({ bidder, agency, fileName, data, cms }) {
    const account = this.accounts.get(bidder);
    if (!account || account.role !== 'bidder') throw new HttpError(400, 'bidder is not registered');
    const recipient = this.accounts.get(agency);
    if (!recipient || recipient.role !== 'agency' || !recipient.encryptionCertificate) {
      throw new HttpError(400, 'agency is not registered with an encryption certificate');
    }
    if (account.signingCertificates.length === 0) throw new HttpError(400, 'bidder has no signing certificate');
    const id = crypto.randomUUID();
    const dir = path.join(this.options.data, `bid-${id}`);
    fs.mkdirSync(dir);
    const content = Buffer.from(String(data ?? ''), 'base64');
    const files = {
      content: path.join(dir, 'bid.bin'),
      signature: path.join(dir, 'bid.p7s'),
      signers: path.join(dir, 'registered-signers.pem'),
      ca: path.join(dir, 'trusted-cas.pem'),
      agency: path.join(dir, 'agency.pem'),
      sealed: path.join(dir, 'sealed.der'),
    };
    fs.writeFileSync(files.content, content);
    fs.writeFileSync(files.signature, Buffer.from(String(cms ?? ''), 'base64'));
    fs.writeFileSync(files.ca, this.cas.map((c) => c.toString()).join(''));
    fs.writeFileSync(files.signers, account.signingCertificates
      .map((der) => new crypto.X509Certificate(Buffer.from(der, 'base64')).toString()).join(''));
    fs.writeFileSync(files.agency, new crypto.X509Certificate(Buffer.from(recipient.encryptionCertificate, 'base64')).toString());
    try {
      // -nointern: the signer must be one of the registered certificates, not merely any
      // certificate the CMS carries.
      await run('openssl', ['cms', '-verify', '-binary', '-cades', '-inform', 'DER', '-in', files.signature,
        '-content', files.content, '-CAfile', files.ca, '-certfile', files.signers, '-nointern',
        '-purpose', 'any', '-out', os.devNull]);
    } catch (error) {
      fs.rmSync(dir, { recursive: true, force: true });
      throw new HttpError(400, `signature does not verify: ${error.stderr?.split('\n')[0] ?? error.message}`);
    }
    await run('openssl', ['cms', '-encrypt', '-binary', '-aes256', '-outform', 'DER', '-in', files.content,
      '-out', files.sealed, files.agency]);
    // The portal keeps only the sealed bid, the signature and the digest.
    fs.rmSync(files.content);
    const bid = {
      id,
      bidder: account.id,
      bidderName: account.name || account.organisation,
      agency: recipient.id,
      fileName: String(fileName ?? 'bid.bin').slice(0, 200),
      size: content.length,
      sha256: sha256(content).toString('hex'),
      signatureVerified: true,
      submittedAt: new Date().toISOString(),
      opened: false,
    };
    this.bids.set(id, { ...bid, files });
    return bid;
  }

  publicBid(b) {
    const { files, ...rest } = b;
    return rest;
  }

  sealedBid(id) {
    const bid = this.bids.get(id);
    if (!bid) throw new HttpError(404, 'no such bid');
    return {
      ...this.publicBid(bid),
      cms: fs.readFileSync(bid.files.sealed).toString('base64'),
      recipientCertificate: this.accounts.get(bid.agency).encryptionCertificate,
    };
  }

  // The agency reports what its card opened; it must be the signed bid.
  opened(id, { data }) {
    const bid = this.bids.get(id);
    if (!bid) throw new HttpError(404, 'no such bid');
    const matches = sha256(Buffer.from(String(data ?? ''), 'base64')).toString('hex') === bid.sha256;
    if (matches) bid.opened = true;
    return { matches, sha256: bid.sha256 };
  }
}

const STATIC = {
  '/': [path.join(here, 'index.html'), 'text/html; charset=utf-8'],
  '/portal.js': [path.join(here, 'portal.js'), 'text/javascript; charset=utf-8'],
  '/portal.css': [path.join(here, 'portal.css'), 'text/css; charset=utf-8'],
  '/tenderkey/tenderkey.js': [path.join(clientDir, 'tenderkey.js'), 'text/javascript; charset=utf-8'],
  '/tenderkey/messages.js': [path.join(clientDir, 'messages.js'), 'text/javascript; charset=utf-8'],
  // A page written the way the HiPKI component's published sample pages are (docs/hipki.md).
  '/hipki-sample.html': [path.join(here, 'hipki-sample.html'), 'text/html; charset=utf-8'],
  '/hipki-sample.js': [path.join(here, 'hipki-sample.js'), 'text/javascript; charset=utf-8'],
};

function readBody(request, limit = 16 * 1024 * 1024) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    request.on('data', (chunk) => {
      size += chunk.length;
      if (size > limit) {
        reject(new HttpError(413, 'request too large'));
        request.destroy();
      } else {
        chunks.push(chunk);
      }
    });
    request.on('end', () => {
      try {
        resolve(size === 0 ? {} : JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new HttpError(400, 'body is not JSON'));
      }
    });
    request.on('error', reject);
  });
}

// The daemon's bridge page on the listener of `daemonUrl`: ws://h:p/ -> http://h:p/bridge.
function bridgeUrlOf(daemonUrl) {
  const url = new URL(daemonUrl);
  url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
  url.pathname = '/bridge';
  return url.href;
}

export function createServer(portal) {
  const { tlsCert, tlsKey } = portal.options;
  const create = tlsCert
    ? (handler) => https.createServer({ cert: fs.readFileSync(tlsCert), key: fs.readFileSync(tlsKey) }, handler)
    : (handler) => http.createServer(handler);
  return create(async (request, response) => {
    const send = (status, body) => {
      response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
      response.end(JSON.stringify(body));
    };
    try {
      const url = new URL(request.url, portal.options.origin);
      const route = `${request.method} ${url.pathname}`;
      const file = request.method === 'GET' && STATIC[url.pathname];
      if (file) {
        response.writeHead(200, { 'content-type': file[1], 'cache-control': 'no-store' });
        response.end(fs.readFileSync(file[0]));
        return;
      }
      const bidMatch = url.pathname.match(/^\/api\/bids\/([0-9a-f-]{36})(\/opened)?$/);
      if (route === 'GET /api/config') {
        send(200, {
          daemonUrl: portal.options.daemonUrl,
          bridgeUrl: bridgeUrlOf(portal.options.daemonUrl),
          origin: portal.options.origin,
          mode: portal.options.mode,
        });
      } else if (route === 'POST /api/challenge') {
        send(200, { challenge: portal.newChallenge() });
      } else if (route === 'POST /api/register') {
        send(200, { account: portal.publicAccount(await portal.register(await readBody(request))) });
      } else if (route === 'GET /api/accounts') {
        send(200, { accounts: [...portal.accounts.values()].map((a) => portal.publicAccount(a)) });
      } else if (route === 'POST /api/bids') {
        send(200, { bid: await portal.submitBid(await readBody(request)) });
      } else if (route === 'GET /api/bids') {
        send(200, { bids: [...portal.bids.values()].map((b) => portal.publicBid(b)) });
      } else if (bidMatch && !bidMatch[2] && request.method === 'GET') {
        send(200, { bid: portal.sealedBid(bidMatch[1]) });
      } else if (bidMatch && bidMatch[2] && request.method === 'POST') {
        send(200, portal.opened(bidMatch[1], await readBody(request)));
      } else {
        send(404, { error: 'not found' });
      }
    } catch (error) {
      const status = error instanceof HttpError ? error.status : 500;
      if (status === 500) console.error(error);
      send(status, { error: error.message });
    }
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const options = parseArgs(process.argv.slice(2));
  const portal = new Portal(options);
  createServer(portal).listen(options.port, options.host, () => {
    console.log(`portal listening on ${options.origin} (tenderkeyd at ${options.daemonUrl})`);
  });
}
