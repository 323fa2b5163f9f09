import type { ProviderDialect } from './dialect.js';
import type { SigningAlg } from './lib/signing-key.js';
import type { TokenStore } from './stores/store.js';

/**
 * Client authentication at the token endpoint: a secret (RFC 6749 §2.3.1), a signed assertion
 * (`private_key_jwt`, RFC 7523 §2.2) or the TLS client certificate (RFC 8705 §2: the
 * certificate comes from your `fetch`, the body carries only `client_id`).
 */
export type AuthMethod =
  | 'client_secret_basic'
  | 'client_secret_post'
  | 'private_key_jwt'
  | 'tls_client_auth'
  | 'self_signed_tls_client_auth';

export type { SigningAlg };

/**
 * DPoP (RFC 9449): the key pair that proves possession. `{ privateKey, publicKey }` is the
 * shape `crypto.subtle.generateKey` returns, so a generated pair can be passed as is.
 */
export interface DpopOptions {
  /** Signs the proofs: a private `CryptoKey` (may be non-extractable) or a private JWK. */
  privateKey: CryptoKey | JsonWebKey;
  /**
   * Sent in each proof's `jwk` header (RFC 9449 §4.2): a public `CryptoKey` or JWK. May be
   * omitted when `privateKey` is a JWK or an extractable `CryptoKey` (it is derived).
   */
  publicKey?: CryptoKey | JsonWebKey;
  /** Default from the key: RS256 for RSA, ES256 for P-256, EdDSA for Ed25519. */
  signingAlg?: SigningAlg;
}

/**
 * Options of {@link createTokenClient}. Give either `tokenEndpoint` or `issuer`.
 * Every default lives in `defaults.ts`.
 */
export interface TokenClientOptions {
  /** Token endpoint URL (RFC 6749 §3.2). When absent, discovered from `issuer`. */
  tokenEndpoint?: string;
  /**
   * Issuer for RFC 8414 discovery: `{issuer}/.well-known/oauth-authorization-server`
   * (path-inserted form for issuers with a path, then appended), then
   * `{issuer}/.well-known/openid-configuration`. The metadata's `issuer` must match.
   */
  issuer?: string;
  /** RFC 7009 revocation endpoint; otherwise discovery's `revocation_endpoint`. */
  revocationEndpoint?: string;
  clientId: string;
  /** Required by the secret methods; refused with the others. */
  clientSecret?: string;
  /** Default `client_secret_basic` (RFC 6749 §2.3.1 says servers MUST support it). */
  authMethod?: AuthMethod;
  /**
   * `private_key_jwt` (RFC 7523 §2.2): the key that signs a fresh client assertion for every
   * token and revocation request — a private `CryptoKey` (may be non-extractable) or a private
   * JWK (imported non-extractable). Never appears in errors, events or `inspect`.
   */
  privateKey?: CryptoKey | JsonWebKey;
  /** `kid` header of the assertions; default the JWK's own `kid`, else none. */
  kid?: string;
  /** Assertion algorithm; default from the key: RS256 for RSA, ES256 for P-256, EdDSA for Ed25519. */
  signingAlg?: SigningAlg;
  /**
   * The assertion's `aud` (RFC 7523 §3 item 3). Default: the `issuer` from discovery (or the
   * `issuer` option). Needed with `private_key_jwt` when only `tokenEndpoint` is given.
   */
  assertionAudience?: string;
  /**
   * DPoP (RFC 9449): a proof on every token request, DPoP-bound tokens sent by `fetch` as
   * `Authorization: DPoP` with a fresh proof per request. Default: off (bearer tokens).
   */
  dpop?: DpopOptions;
  /** Default scope(s) for {@link TokenClient.getToken} (RFC 6749 §3.3). */
  scope?: string | readonly string[];
  /**
   * Default audience. An absolute URI is sent as RFC 8707 `resource` (what standard servers
   * read); any other value as the de facto `audience` parameter.
   */
  audience?: string;
  /** Default RFC 8707 `resource` indicator. */
  resource?: string;
  /** Renewal lead time in seconds; default 30; scaled down to ¼ of a short token's lifetime. */
  refreshSkewSeconds?: number;
  /** Maximum random extra lead in seconds; default 30; also capped at ¼ of the lifetime. */
  refreshJitterSeconds?: number;
  /** Lifetime assumed when `expires_in` is missing; default 300 s. */
  defaultExpiresInSeconds?: number;
  /** Per-request timeout in ms for every endpoint; default 10 000. */
  timeoutMs?: number;
  /** Retries on 5xx, 429 and network errors (full-jitter exponential backoff, honours `Retry-After`). */
  retry?: { maxRetries?: number; baseDelayMs?: number; maxDelayMs?: number };
  /**
   * Negative cache: after `afterFailures` consecutive failures, calls fail fast with the last
   * error for `seconds`, doubling per further failure up to `maxSeconds`. `false` disables it.
   */
  negativeCache?: { afterFailures?: number; seconds?: number; maxSeconds?: number } | false;
  /** Share tokens between processes (see `createRedisStore`). Default: in-process only. */
  store?: TokenStore;
  /** Shared-store lock tuning: lock TTL and poll interval in ms. */
  lock?: { ttlMs?: number; pollIntervalMs?: number };
  /** Provider deviations (set by presets). */
  dialect?: Partial<ProviderDialect>;
  /**
   * `fetch` implementation; default `globalThis.fetch`. For mutual TLS (RFC 8705), pass one
   * that presents your client certificate (README: "private_key_jwt, DPoP and mutual TLS").
   */
  fetch?: typeof fetch;
  /** Clock in ms since the epoch; default `Date.now`. */
  now?: () => number;
  /** Uniform [0, 1) source for jitter; default `Math.random`. */
  random?: () => number;
  /** Waits between retries and lock polls; injectable so tests do not sleep. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** Per-call selection of the token; defaults come from the client options. */
export interface TokenRequestOptions {
  scope?: string | readonly string[];
  audience?: string;
  resource?: string;
}
