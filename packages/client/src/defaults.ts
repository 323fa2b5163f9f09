/**
 * Every default of the token client in one place. Units are in the names.
 */
export const defaults = {
  /** Renew this long before `exp` and never hand out a token with less left (scaled down for short lifetimes). */
  refreshSkewSeconds: 30,
  /** Up to this much random extra lead on the refresh, so a fleet does not renew in the same second. */
  refreshJitterSeconds: 30,
  /** Skew and jitter are each capped at this fraction of the token lifetime (`expires_in: 5` still works). */
  maxSkewFraction: 0.25,
  /** Lifetime assumed when a response omits `expires_in` (RFC 6749 §5.1 only RECOMMENDS it). */
  defaultExpiresInSeconds: 300,
  /** Per-request timeout for the token, discovery and revocation endpoints. */
  timeoutMs: 10_000,
  /** Retries after the first attempt on 5xx, 429 and network errors. */
  maxRetries: 2,
  /** First backoff step; doubles per retry, with full jitter. */
  retryBaseDelayMs: 200,
  /** Longest single wait; a `Retry-After` beyond it ends the retries instead. */
  retryMaxDelayMs: 5_000,
  /** Consecutive failures before errors are cached (1 = the first failure is cached). */
  negativeCacheAfterFailures: 2,
  /** First negative-cache duration; doubles per further failure. */
  negativeCacheSeconds: 1,
  /** Ceiling of the negative-cache duration. */
  negativeCacheMaxSeconds: 30,
  /** Lifetime of the shared-store lock (SET NX PX); a dead holder blocks others this long at most. */
  lockTtlMs: 10_000,
  /** How often a process waiting on another's lock polls the store. */
  lockPollIntervalMs: 50,
  /** After a store failure, skip the store for this long. */
  storeRetryAfterMs: 5_000,
  /** `exp − iat` of a `private_key_jwt` assertion (RFC 7523 §3; Tessera accepts up to 300 s). */
  clientAssertionLifetimeSeconds: 60,
  /** DPoP-Nonce values remembered (one per origin, RFC 9449 §8); the oldest is dropped beyond this. */
  dpopNonceOrigins: 100,
} as const;
