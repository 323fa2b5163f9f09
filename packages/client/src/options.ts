import type { ProviderDialect } from './dialect.js';
import type { TokenStore } from './stores/store.js';

/** Client authentication at the token endpoint (RFC 6749 §2.3.1). */
export type AuthMethod = 'client_secret_basic' | 'client_secret_post';

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
  clientSecret: string;
  /** Default `client_secret_basic` (RFC 6749 §2.3.1 says servers MUST support it). */
  authMethod?: AuthMethod;
  /** Default scope(s) for {@link TokenClient.getToken} (RFC 6749 §3.3). */
  scope?: string | readonly string[];
  /** Default `audience` parameter (a de facto extension; see `resource` for RFC 8707). */
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
  /** `fetch` implementation; default `globalThis.fetch`. */
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
