import { isScopeToken, type ReplayGuard } from '@tessera/protocol';
import { VerifierConfigError } from './errors.js';
import type { ErrorShape } from './errors.js';
import type { VerifierEventListener } from './events.js';
import { supportedAlgorithms } from './algorithms.js';
import type { SupportedAlgorithm } from './algorithms.js';

/** RFC 7662 introspection, called for every token not seen within `cacheSeconds`. */
export interface IntrospectionOptions {
  /** The introspection endpoint (RFC 7662 §2). */
  url: string;
  /** Credentials for `client_secret_basic` (RFC 6749 §2.3.1). */
  clientId: string;
  clientSecret: string;
  /** How long an answer is reused for the same token, in seconds. Default 10; 0 disables. */
  cacheSeconds?: number;
  /**
   * Require RFC 9701 JWT-secured answers: ask with `Accept: application/token-introspection+jwt`
   * and accept only a JWT of `typ: token-introspection+jwt` signed by the issuer's keys (the
   * JWKS of the access tokens), with `iss` the issuer and `aud` this `clientId`. A plain JSON
   * answer then fails closed (`unavailable`). Default false.
   */
  requireSignedResponse?: boolean;
}

/** Tessera's revocation feed, polled in the background. */
export interface RevocationFeedOptions {
  /** The feed endpoint; polled as `GET {url}?since={cursor}`. */
  url: string;
  /** Credentials for `client_secret_basic` (RFC 6749 §2.3.1). */
  clientId: string;
  clientSecret: string;
  /** Delay between the end of one poll and the start of the next, in ms. Default 500. */
  intervalMs?: number;
}

/** Options of {@link createVerifier}. Every duration states its unit. */
export interface VerifierOptions {
  /** The expected `iss`, compared exactly (RFC 9068 §4 step 3). Also the discovery base. */
  issuer: string;
  /** Accepted `aud` values; a token is accepted when its `aud` contains any of them (RFC 9068 §4 step 4). */
  audience: string | readonly string[];
  /** The JWKS URL. When absent it is discovered from the issuer's RFC 8414 metadata, then OpenID Connect Discovery. */
  jwksUri?: string;
  /** Accepted JWS algorithms. Default `['RS256', 'ES256', 'EdDSA']`. `none` and HS* are refused at start-up. */
  algorithms?: readonly SupportedAlgorithm[];
  /** Allowed clock skew for `exp`, `nbf` and `iat`, in seconds. Default 5. */
  clockTolerance?: number;
  /** Scopes every token must carry (space-delimited `scope` claim, RFC 9068 §2.2.3). Default none. */
  requiredScopes?: readonly string[];
  /** RFC 6750 §3 `realm` of the challenge. Default: the first audience. */
  realm?: string;
  /** Reshapes error responses for a provider dialect (see `src/presets/`). Default RFC 6750. */
  errorShape?: ErrorShape;
  /** Optional RFC 7662 introspection of every (uncached) token. */
  introspection?: IntrospectionOptions;
  /** Optional polling of Tessera's revocation feed. */
  revocationFeed?: RevocationFeedOptions;
  /** The clock, in ms since the epoch. Default `Date.now`. */
  now?: () => number;
  /** The fetch implementation. Default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** Receives typed events (key fetches, cache hits, rejections). The verifier never logs. */
  onEvent?: VerifierEventListener;
  /** Minimum time between two JWKS fetches triggered by unknown `kid`s, in ms. Default 30 000. */
  jwksCooldownMs?: number;
  /** JWKS lifetime when the response has no `Cache-Control: max-age`, in ms. Default 600 000. */
  jwksDefaultMaxAgeMs?: number;
  /** Upper bound on the JWKS lifetime whatever the server says, in ms. Default 86 400 000. */
  jwksMaxAgeCapMs?: number;
  /** Timeout for each outgoing HTTP request (metadata, JWKS, feed, introspection), in ms. Default 5 000. */
  httpTimeoutMs?: number;
  /** Capacity of the verified-token cache, in entries. Default 10 000; 0 disables it. */
  tokenCacheSize?: number;
  /**
   * Where DPoP proof `jti`s are remembered (RFC 9449 §11.1), keyed per proof and kept until
   * `expiresAt` (epoch ms). Default: this process's own bounded cache. Pass a guard shared by
   * every process of the API (PostgreSQL, Redis, …) so a proof used at one is refused at all.
   */
  dpopReplayGuard?: ReplayGuard;
  /** Longest accepted token, in characters; longer ones are malformed. Default 8 192. */
  maxTokenLength?: number;
  /**
   * Signature backend. `auto` (default) uses `node:crypto` synchronously on Node and jose
   * (WebCrypto) elsewhere; `jose` forces WebCrypto everywhere.
   */
  signatureBackend?: 'auto' | 'jose';
}

/** The defaults, in one place. */
export const defaults = {
  algorithms: ['RS256', 'ES256', 'EdDSA'] as readonly SupportedAlgorithm[],
  clockTolerance: 5,
  jwksCooldownMs: 30_000,
  jwksDefaultMaxAgeMs: 600_000,
  jwksMaxAgeCapMs: 86_400_000,
  httpTimeoutMs: 5_000,
  tokenCacheSize: 10_000,
  maxTokenLength: 8_192,
  introspectionCacheSeconds: 10,
  revocationIntervalMs: 500,
} as const;

/** Options after defaults and validation. */
export interface ResolvedOptions {
  issuer: string;
  audiences: readonly string[];
  jwksUri: string | undefined;
  algorithms: ReadonlySet<string>;
  clockTolerance: number;
  requiredScopes: readonly string[];
  realm: string;
  now: () => number;
  fetch: typeof fetch;
  jwksCooldownMs: number;
  jwksDefaultMaxAgeMs: number;
  jwksMaxAgeCapMs: number;
  httpTimeoutMs: number;
  tokenCacheSize: number;
  maxTokenLength: number;
  signatureBackend: 'auto' | 'jose';
}

/** Applies defaults and fails fast, naming the option, on anything unusable. */
export function resolveOptions(options: VerifierOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null)
    throw new VerifierConfigError('options', 'must be an object');
  const { issuer } = options;
  if (typeof issuer !== 'string' || !isHttpUrl(issuer))
    throw new VerifierConfigError('issuer', 'must be an http(s) URL');
  const audiences =
    typeof options.audience === 'string' ? [options.audience] : [...(options.audience ?? [])];
  if (audiences.length === 0 || !audiences.every((a) => typeof a === 'string' && a !== '')) {
    throw new VerifierConfigError(
      'audience',
      'must be a non-empty string or array of non-empty strings',
    );
  }
  if (options.jwksUri !== undefined && !isHttpUrl(options.jwksUri)) {
    throw new VerifierConfigError('jwksUri', 'must be an http(s) URL');
  }
  const algorithms = options.algorithms ?? defaults.algorithms;
  if (!Array.isArray(algorithms) || algorithms.length === 0) {
    throw new VerifierConfigError('algorithms', 'must be a non-empty array');
  }
  for (const alg of algorithms as readonly string[]) {
    if (!(supportedAlgorithms as readonly string[]).includes(alg)) {
      throw new VerifierConfigError(
        'algorithms',
        `"${alg}" is not accepted; use asymmetric algorithms (${supportedAlgorithms.join(', ')})`,
      );
    }
  }
  const requiredScopes = [...(options.requiredScopes ?? [])];
  if (!requiredScopes.every((s) => typeof s === 'string' && isScopeToken(s))) {
    throw new VerifierConfigError('requiredScopes', 'must be RFC 6749 §3.3 scope tokens');
  }
  const fetchImpl = options.fetch ?? globalThis.fetch;
  if (typeof fetchImpl !== 'function')
    throw new VerifierConfigError('fetch', 'no fetch implementation is available');
  if (options.introspection !== undefined) checkRemote('introspection', options.introspection);
  if (options.revocationFeed !== undefined) checkRemote('revocationFeed', options.revocationFeed);
  if (
    options.signatureBackend !== undefined &&
    options.signatureBackend !== 'auto' &&
    options.signatureBackend !== 'jose'
  ) {
    throw new VerifierConfigError('signatureBackend', 'must be "auto" or "jose"');
  }
  return {
    issuer,
    audiences,
    jwksUri: options.jwksUri,
    algorithms: new Set(algorithms),
    clockTolerance: nonNegative('clockTolerance', options.clockTolerance, defaults.clockTolerance),
    requiredScopes,
    realm: options.realm ?? audiences[0]!,
    now: options.now ?? Date.now,
    fetch: fetchImpl,
    jwksCooldownMs: nonNegative('jwksCooldownMs', options.jwksCooldownMs, defaults.jwksCooldownMs),
    jwksDefaultMaxAgeMs: nonNegative(
      'jwksDefaultMaxAgeMs',
      options.jwksDefaultMaxAgeMs,
      defaults.jwksDefaultMaxAgeMs,
    ),
    jwksMaxAgeCapMs: nonNegative(
      'jwksMaxAgeCapMs',
      options.jwksMaxAgeCapMs,
      defaults.jwksMaxAgeCapMs,
    ),
    httpTimeoutMs: nonNegative('httpTimeoutMs', options.httpTimeoutMs, defaults.httpTimeoutMs),
    tokenCacheSize: nonNegative('tokenCacheSize', options.tokenCacheSize, defaults.tokenCacheSize),
    maxTokenLength: nonNegative('maxTokenLength', options.maxTokenLength, defaults.maxTokenLength),
    signatureBackend: options.signatureBackend ?? 'auto',
  };
}

function checkRemote(
  name: string,
  remote: { url: unknown; clientId: unknown; clientSecret: unknown },
): void {
  if (typeof remote.url !== 'string' || !isHttpUrl(remote.url))
    throw new VerifierConfigError(`${name}.url`, 'must be an http(s) URL');
  if (typeof remote.clientId !== 'string' || remote.clientId === '')
    throw new VerifierConfigError(`${name}.clientId`, 'must be a non-empty string');
  // Never echo the secret, even in a config error.
  if (typeof remote.clientSecret !== 'string' || remote.clientSecret === '') {
    throw new VerifierConfigError(`${name}.clientSecret`, 'must be a non-empty string');
  }
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new VerifierConfigError(name, 'must be a finite number ≥ 0');
  }
  return value;
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}
