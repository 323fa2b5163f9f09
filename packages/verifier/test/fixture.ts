// A loopback authorization-server stand-in: metadata, JWKS, revocation feed and RFC 7662
// introspection, with request counters. Not a test file itself (the runner picks *.test.ts).
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, decodeJwt, exportJWK, generateKeyPair } from 'jose';
import type { CryptoKey, JWK, JWTPayload } from 'jose';

export const audience = 'https://api.example.test';
export const feedClient = { clientId: 'resource-server', clientSecret: 'feed-secret-value-1234' };

export type Alg = 'RS256' | 'ES256' | 'EdDSA';

export interface KeyPair {
  kid: string;
  alg: Alg;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function makeKey(alg: Alg, kid: string): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk };
}

export interface FixtureOptions {
  cacheControl?: string | undefined;
  /** Serve RFC 8414 metadata (default true); when false only OpenID discovery answers. */
  oauthMetadata?: boolean;
  /** Override the `issuer` in metadata (to test the RFC 8414 §3.3 check). */
  metadataIssuer?: string;
}

export interface Fixture {
  issuer: string;
  keys: Record<Alg, KeyPair>;
  counts: {
    jwks: number;
    oauthMetadata: number;
    openidMetadata: number;
    feed: number;
    introspect: number;
  };
  feedRequests: { url: string; authorization: string | undefined }[];
  introspectRequests: {
    body: string;
    authorization: string | undefined;
    contentType: string | undefined;
  }[];
  /** JWKS served; mutate to rotate keys. */
  jwks: { keys: JWK[] };
  jwksStatus: number;
  revoked: { jti: string; exp: number }[];
  inactive: Set<string>;
  feedStatus: number;
  sign(options?: SignOptions): Promise<string>;
  close(): Promise<void>;
}

export interface SignOptions {
  alg?: Alg;
  kid?: string;
  typ?: string;
  claims?: JWTPayload;
  /** Claim names to leave out. */
  omit?: string[];
  /** Base time in seconds (default: fixture clock start). */
  now?: number;
}

export const t0 = 1_800_000_000; // seconds; every test's clock starts here

export async function startFixture(options: FixtureOptions = {}): Promise<Fixture> {
  const keys: Record<Alg, KeyPair> = {
    RS256: await makeKey('RS256', 'rsa-1'),
    ES256: await makeKey('ES256', 'ec-1'),
    EdDSA: await makeKey('EdDSA', 'ed-1'),
  };
  const fixture = {
    issuer: '',
    keys,
    counts: { jwks: 0, oauthMetadata: 0, openidMetadata: 0, feed: 0, introspect: 0 },
    feedRequests: [],
    introspectRequests: [],
    jwks: { keys: Object.values(keys).map((k) => k.publicJwk) },
    jwksStatus: 200,
    revoked: [],
    inactive: new Set<string>(),
    feedStatus: 200,
  } as unknown as Fixture;

  const server = createServer((req, res) => void handle(req, res));
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', fixture.issuer);
    const json = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    const metadata = {
      issuer: options.metadataIssuer ?? fixture.issuer,
      jwks_uri: `${fixture.issuer}/jwks`,
    };
    switch (url.pathname) {
      case '/.well-known/oauth-authorization-server':
        fixture.counts.oauthMetadata += 1;
        if (options.oauthMetadata === false) return json(404, { error: 'not_found' });
        return json(200, metadata);
      case '/.well-known/openid-configuration':
        fixture.counts.openidMetadata += 1;
        return json(200, metadata);
      case '/jwks': {
        fixture.counts.jwks += 1;
        const cacheControl =
          'cacheControl' in options ? options.cacheControl : 'public, max-age=300';
        return json(
          fixture.jwksStatus,
          fixture.jwksStatus === 200 ? fixture.jwks : { error: 'boom' },
          cacheControl === undefined ? {} : { 'cache-control': cacheControl },
        );
      }
      case '/revocations': {
        fixture.counts.feed += 1;
        fixture.feedRequests.push({
          url: url.pathname + url.search,
          authorization: req.headers.authorization,
        });
        if (fixture.feedStatus !== 200) return json(fixture.feedStatus, { error: 'unavailable' });
        if (req.headers.authorization !== basic(feedClient.clientId, feedClient.clientSecret))
          return json(401, { error: 'invalid_client' });
        const since = Number(url.searchParams.get('since') ?? '0');
        return json(200, {
          revocations: fixture.revoked.slice(since),
          cursor: String(fixture.revoked.length),
        });
      }
      case '/introspect': {
        fixture.counts.introspect += 1;
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        const body = Buffer.concat(chunks).toString('utf8');
        fixture.introspectRequests.push({
          body,
          authorization: req.headers.authorization,
          contentType: req.headers['content-type'],
        });
        if (req.headers.authorization !== basic(feedClient.clientId, feedClient.clientSecret))
          return json(401, { error: 'invalid_client' });
        const token = new URLSearchParams(body).get('token') ?? '';
        const { jti } = decodeJwt(token);
        return json(
          200,
          fixture.inactive.has(jti ?? '') ? { active: false } : { active: true, jti },
        );
      }
      default:
        return json(404, { error: 'not_found' });
    }
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fixture.issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  let serial = 0;
  fixture.sign = async (o: SignOptions = {}) => {
    const key = keys[o.alg ?? 'RS256'];
    const now = o.now ?? t0;
    serial += 1;
    const claims: JWTPayload = {
      iss: fixture.issuer,
      sub: 'client-42',
      aud: audience,
      client_id: 'client-42',
      scope: 'orders:read orders:write',
      iat: now,
      exp: now + 300,
      jti: `jti-${serial}-${Math.random().toString(36).slice(2)}`,
      ...o.claims,
    };
    for (const name of o.omit ?? []) delete claims[name];
    return new SignJWT(claims)
      .setProtectedHeader({ alg: key.alg, kid: o.kid ?? key.kid, typ: o.typ ?? 'at+jwt' })
      .sign(key.privateKey);
  };
  fixture.close = () =>
    new Promise<void>((resolve, reject) => {
      server.closeAllConnections();
      server.close((error) => (error ? reject(error) : resolve()));
    });
  return fixture;
}

export function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

/** A controllable clock in ms. */
export function clock(startSeconds = t0): {
  now: () => number;
  advance: (seconds: number) => void;
} {
  let ms = startSeconds * 1000;
  return { now: () => ms, advance: (seconds) => void (ms += seconds * 1000) };
}

/** Resolves with the rejection of `promise`, failing if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/** The exact RFC 6750 invalid_token response. */
export function invalidToken(description: string, realm = audience) {
  return {
    status: 401,
    headers: {
      'cache-control': 'no-store',
      'www-authenticate': `Bearer realm="${realm}", error="invalid_token", error_description="${description}"`,
      'content-type': 'application/json',
    },
    body: { error: 'invalid_token', error_description: description },
  };
}
