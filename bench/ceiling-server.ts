/**
 * The ceiling: the least an honest client-credentials token endpoint can do on node:http.
 * It parses the urlencoded body, decodes the Basic header (RFC 6749 §2.3.1 form-encoding),
 * checks the secret in constant time (HMAC + timingSafeEqual, with a dummy compare for an
 * unknown client), signs an RFC 9068-shaped JWT with node:crypto's async `sign` (libuv pool)
 * on a cached KeyObject, and answers with the RFC 6749 §5.1 JSON and Cache-Control: no-store.
 * Nothing else: no logging, no framework, no store, no scope/audience rules.
 *
 * Env: PORT, HOST, BENCH_ALG (RS256 | ES256 | EdDSA), BENCH_CLIENT_ID, BENCH_CLIENT_SECRET.
 */
import { createHmac, generateKeyPairSync, randomBytes, sign, timingSafeEqual, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

type Alg = 'RS256' | 'ES256' | 'EdDSA';
const alg = (process.env.BENCH_ALG ?? 'RS256') as Alg;
const port = Number(process.env.PORT ?? 8090);
const host = process.env.HOST ?? '127.0.0.1';
const issuer = `http://${host}:${port}`;
const ttl = 3600;
const maxBody = 16 * 1024;

function generateKey(): KeyObject {
  switch (alg) {
    case 'RS256':
      return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    case 'ES256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    case 'EdDSA':
      return generateKeyPairSync('ed25519').privateKey;
    default:
      throw new Error(`BENCH_ALG must be RS256, ES256 or EdDSA, got ${String(alg)}`);
  }
}

const privateKey = generateKey();
const signKey = alg === 'ES256' ? { key: privateKey, dsaEncoding: 'ieee-p1363' as const } : privateKey;
const digest = alg === 'EdDSA' ? null : 'sha256';
const kid = randomBytes(16).toString('base64url');
const encodedHeader = Buffer.from(JSON.stringify({ alg, typ: 'at+jwt', kid })).toString('base64url');

const pepper = randomBytes(32);
const hmac = (secret: string) => createHmac('sha256', pepper).update(secret, 'utf8').digest();
const dummy = hmac(randomBytes(32).toString('base64url'));
const clients = new Map<string, Buffer>();
clients.set(process.env.BENCH_CLIENT_ID ?? 'bench-client', hmac(process.env.BENCH_CLIENT_SECRET ?? 'bench-secret'));

function reply(res: ServerResponse, status: number, body: object, extra: Record<string, string> = {}): void {
  const json = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json;charset=UTF-8',
    'Content-Length': Buffer.byteLength(json),
    'Cache-Control': 'no-store',
    Pragma: 'no-cache',
    ...extra,
  });
  res.end(json);
}

const invalidClient = (res: ServerResponse) =>
  reply(res, 401, { error: 'invalid_client' }, { 'WWW-Authenticate': 'Basic realm="token"' });

/** RFC 6749 §2.3.1: client_id and secret are form-urlencoded before Basic encoding. */
function basicCredentials(header: string | undefined): { id: string; secret: string } | undefined {
  if (!header || header.length < 7 || header.slice(0, 6).toLowerCase() !== 'basic ') return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  try {
    const formDecode = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
    return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    return undefined;
  }
}

function handleToken(req: IncomingMessage, res: ServerResponse, body: string): void {
  const type = req.headers['content-type'] ?? '';
  if (!type.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    return reply(res, 400, { error: 'invalid_request', error_description: 'expected application/x-www-form-urlencoded' });
  }
  const params = new URLSearchParams(body);
  for (const key of new Set(params.keys())) {
    if (params.getAll(key).length > 1) return reply(res, 400, { error: 'invalid_request', error_description: `duplicate ${key}` });
  }
  const credentials = basicCredentials(req.headers.authorization);
  if (!credentials) return invalidClient(res);
  const stored = clients.get(credentials.id);
  const presented = hmac(credentials.secret);
  const ok = timingSafeEqual(presented, stored ?? dummy) && stored !== undefined;
  if (!ok) return invalidClient(res);
  if (params.get('grant_type') !== 'client_credentials') return reply(res, 400, { error: 'unsupported_grant_type' });

  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: issuer,
    sub: credentials.id,
    aud: issuer,
    exp: now + ttl,
    iat: now,
    jti: randomBytes(16).toString('base64url'),
    client_id: credentials.id,
  };
  const signingInput = `${encodedHeader}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  // BENCH_NO_SIGN=1: the HTTP floor (issue 22) — parsing, the secret check and the JSON reply,
  // answering one token signed at start-up, as a server reusing tokens does at best.
  if (presigned !== undefined) {
    reply(res, 200, { access_token: presigned, token_type: 'Bearer', expires_in: ttl });
    return;
  }
  sign(digest, Buffer.from(signingInput), signKey, (error, signature) => {
    if (error) return reply(res, 500, { error: 'server_error' });
    reply(res, 200, { access_token: `${signingInput}.${signature.toString('base64url')}`, token_type: 'Bearer', expires_in: ttl });
  });
}

let presigned: string | undefined;
if (process.env.BENCH_NO_SIGN === '1') {
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: issuer, sub: 'bench', aud: issuer, exp: now + ttl, iat: now, jti: randomBytes(16).toString('base64url'), client_id: 'bench' };
  const signingInput = `${encodedHeader}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  presigned = await new Promise<string>((resolve, reject) =>
    sign(digest, Buffer.from(signingInput), signKey, (error, signature) =>
      error ? reject(error) : resolve(`${signingInput}.${signature.toString('base64url')}`),
    ),
  );
}

const server = createServer((req, res) => {
  if (req.url !== '/oauth/token') return reply(res, 404, { error: 'not_found' });
  if (req.method !== 'POST') return reply(res, 405, { error: 'invalid_request' }, { Allow: 'POST' });
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > maxBody) {
      reply(res, 413, { error: 'invalid_request' });
      req.destroy();
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (size <= maxBody) handleToken(req, res, Buffer.concat(chunks).toString('utf8'));
  });
});
server.keepAliveTimeout = 72_000;
server.listen(port, host);
const stop = () => server.close(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
