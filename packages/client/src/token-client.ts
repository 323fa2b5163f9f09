import { createAuthorizedFetch } from './authorized-fetch.js';
import { cacheKey, normalizeScope, secretFingerprint } from './cache-key.js';
import { defaults } from './defaults.js';
import { discover, type DiscoveredEndpoints } from './discovery.js';
import {
  ClientClosedError,
  InvalidOptionError,
  TokenClientError,
  TokenEndpointError,
} from './errors.js';
import { Emitter, type TokenClientEventMap, type TokenTarget } from './events.js';
import { isBlocked, recordFailure } from './negative-cache.js';
import { resolveOptions } from './resolve-options.js';
import { validateOptions } from './validate-options.js';
import type { TokenClientOptions, TokenRequestOptions } from './options.js';
import { scheduleToken } from './refresh-schedule.js';
import { revokeToken } from './revoke.js';
import { acquireShared } from './shared-acquire.js';
import { TokenCache, type CacheEntry, type CachedToken } from './token-cache.js';
import { requestToken } from './token-request.js';

/** The integrator-side token manager returned by {@link createTokenClient}. */
export interface TokenClient {
  /** A valid access token for the default (or given) scope/audience; see {@link createTokenClient}. */
  getToken(options?: TokenRequestOptions): Promise<string>;
  /**
   * Drop-in `fetch` that adds `Authorization: Bearer` (or, for a DPoP-bound token,
   * `Authorization: DPoP` and a fresh `DPoP` proof) and renews + replays once on rejection.
   */
  fetch: typeof fetch;
  /** The same as {@link TokenClient.fetch} for another scope/audience. */
  fetchWith(options: TokenRequestOptions): typeof fetch;
  /** Drops `accessToken` from the cache (and the shared store) if it is still cached. */
  invalidate(accessToken: string): void;
  /** Revokes `accessToken`, or every token this client holds (RFC 7009), and forgets them. */
  revoke(accessToken?: string): Promise<void>;
  /**
   * Stops the client: later calls reject with `client_closed`, waits and retries are
   * cancelled, and tokens are revoked when `revoke` is true (the default unless a shared
   * `store` is configured: other processes may be using the same token). Never throws;
   * revocation failures are emitted as `revoke` events.
   */
  close(options?: { revoke?: boolean }): Promise<void>;
  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof TokenClientEventMap>(
    name: K,
    listener: (event: TokenClientEventMap[K]) => void,
  ): () => void;
  off<K extends keyof TokenClientEventMap>(
    name: K,
    listener: (event: TokenClientEventMap[K]) => void,
  ): void;
}

interface Slot {
  scope: string;
  audience: string | undefined;
  resource: string | undefined;
  entry: CacheEntry | undefined;
}

/**
 * Creates an OAuth 2.0 client-credentials token client (RFC 6749 §4.4).
 *
 * - One token request per cache key at a time, shared by all callers; a failure is not reused.
 * - Cached until a refresh window before expiry (skew + random jitter); inside the window the
 *   cached token is served while one background renewal runs; never handed out with less than
 *   the skew left. Skew and jitter shrink to ¼ of a short token's lifetime.
 * - Cache key: token endpoint, client id, auth method, a fingerprint of the secret, sorted
 *   scopes, audience and resource — a rotated secret or another scope never gets a stale token.
 * - 5xx / 429 / network errors are retried with backoff; consecutive failures are cached
 *   briefly (negative cache) so bad credentials cannot burn a provider's quota.
 * - Client authentication by secret (RFC 6749 §2.3.1), `private_key_jwt` (RFC 7523, a fresh
 *   assertion per request) or mutual TLS (RFC 8705, through the `fetch` you pass); optional
 *   DPoP (RFC 9449): DPoP-bound tokens, cached per DPoP key, presented with a proof per request.
 *
 * Does not validate the access token (it is opaque to clients, RFC 6749 §1.4) and never logs.
 * Does not present DPoP proofs for tokens taken with `getToken()`, sign `client_secret_jwt`
 * (HS256) assertions, or know which certificate a custom `fetch` presents.
 *
 * @example
 * ```ts
 * const client = createTokenClient({
 *   issuer: 'https://auth.example.com', clientId, clientSecret, authMethod: 'client_secret_basic',
 *   scope: 'payments:read',
 * })
 * const res = await client.fetch('https://api.example.com/payments')
 * await client.close()
 * ```
 */
export function createTokenClient(options: TokenClientOptions): TokenClient {
  validateOptions(options);
  const { clientId } = options;
  const clientSecret = options.clientSecret ?? '';
  const controller = new AbortController();
  const events = new Emitter<TokenClientEventMap>();
  const resolved = resolveOptions(options, controller.signal, events, assertionAudience);
  const { ctx, schedule: schedulePolicy } = resolved;
  const { authMethod, dialect, now, random, fetch: fetchImpl } = ctx;
  const store = options.store;

  // Endpoints: given, or discovered once (a failed discovery is retried by the next call).
  let endpoints: DiscoveredEndpoints | undefined =
    options.tokenEndpoint === undefined
      ? undefined
      : {
          issuer: options.issuer,
          tokenEndpoint: options.tokenEndpoint,
          revocationEndpoint: options.revocationEndpoint,
        };
  let discovering: Promise<DiscoveredEndpoints> | undefined;
  const resolveEndpoints = (): Promise<DiscoveredEndpoints> => {
    if (endpoints !== undefined) return Promise.resolve(endpoints);
    discovering ??= discover(
      options.issuer ?? '',
      fetchImpl,
      controller.signal,
      ctx.timeoutMs,
    ).then(
      (found) => {
        endpoints = {
          issuer: found.issuer,
          tokenEndpoint: found.tokenEndpoint,
          revocationEndpoint: options.revocationEndpoint ?? found.revocationEndpoint,
        };
        return endpoints;
      },
      (error: unknown) => {
        discovering = undefined;
        throw error;
      },
    );
    return discovering;
  };
  // RFC 7523 §3: the issuer identifies the authorization server; validateOptions ensures one.
  async function assertionAudience(): Promise<string> {
    if (options.assertionAudience !== undefined) return options.assertionAudience;
    return (await resolveEndpoints()).issuer ?? options.issuer ?? '';
  }
  let fingerprint: Promise<string> | undefined;

  const cache = new TokenCache();
  const slots = new Map<string, Slot>();
  const slotOf = (
    scope: string | readonly string[] | undefined,
    audience: string | undefined,
    resource: string | undefined,
  ): Slot => ({
    scope: normalizeScope(scope),
    audience,
    resource,
    entry: undefined,
  });
  const defaultSlot = slotOf(options.scope, options.audience, options.resource);
  let closed = false;
  let storeDownUntil = 0;

  function slotFor(o: TokenRequestOptions | undefined): Slot {
    if (
      o === undefined ||
      (o.scope === undefined && o.audience === undefined && o.resource === undefined)
    )
      return defaultSlot;
    const scope = o.scope ?? options.scope;
    const audience = o.audience ?? options.audience;
    const resource = o.resource ?? options.resource;
    const id = `${typeof scope === 'string' ? scope : (scope ?? []).join(' ')}\0${audience ?? '\u0001'}\0${resource ?? '\u0001'}`;
    let slot = slots.get(id);
    if (slot === undefined) {
      if (slots.size >= 1000) slots.clear();
      slots.set(id, (slot = slotOf(scope, audience, resource)));
    }
    return slot;
  }

  async function resolveEntry(slot: Slot): Promise<CacheEntry> {
    const { tokenEndpoint } = await resolveEndpoints();
    fingerprint ??= secretFingerprint(clientId, clientSecret);
    const target: TokenTarget = {
      tokenEndpoint,
      clientId,
      scope: slot.scope,
      audience: slot.audience,
      resource: slot.resource,
    };
    if (dialect.scopeRequired && target.scope === '')
      throw new InvalidOptionError('scope', `${dialect.name} requires a scope`);
    const dpopJkt = ctx.dpop === undefined ? undefined : (await ctx.dpop()).jkt;
    const key = cacheKey({
      ...target,
      authMethod,
      secretFingerprint: await fingerprint,
      dpopJkt,
    });
    return (slot.entry = cache.entry(key, target));
  }

  function hit(entry: CacheEntry, token: CachedToken): CachedToken {
    if (events.has('cache-hit')) events.emit('cache-hit', { ...entry.target, source: 'memory' });
    return token;
  }

  function current(entry: CacheEntry): CachedToken | Promise<CachedToken> {
    const t = now();
    const token = entry.token;
    if (token !== undefined && t < token.schedule.refreshAt) return hit(entry, token);
    if (token !== undefined && t < token.schedule.usableUntil) {
      if (entry.inFlight === undefined && !isBlocked(entry, t)) {
        events.emit('refresh', { ...entry.target, reason: 'background' });
        start(entry, true).catch(() => undefined);
      }
      return hit(entry, token);
    }
    if (entry.inFlight !== undefined) return entry.inFlight;
    if (entry.blocked !== undefined && isBlocked(entry, t)) {
      events.emit('negative-cache-hit', {
        ...entry.target,
        error: entry.blocked.error,
        untilMs: entry.blocked.until,
      });
      throw entry.blocked.error;
    }
    if (token !== undefined || entry.rejected !== undefined) {
      events.emit('refresh', {
        ...entry.target,
        reason: token === undefined ? 'invalidated' : 'expired',
      });
    }
    return start(entry, false);
  }

  function start(entry: CacheEntry, background: boolean): Promise<CachedToken> {
    const work =
      store !== undefined && now() >= storeDownUntil
        ? acquireShared(sharedCtx(store), entry)
        : request(entry);
    const inFlight: Promise<CachedToken> = work
      .then(
        (token) => {
          entry.failures = 0;
          entry.blocked = undefined;
          if (now() < token.schedule.usableUntil) entry.token = token;
          events.emit('token', {
            ...entry.target,
            expiresIn: token.expiresIn,
            source: token.source,
          });
          return token;
        },
        (cause: unknown) => {
          const error =
            cause instanceof TokenClientError
              ? cause
              : new TokenEndpointError('token_endpoint_unreachable', 'token request failed', {
                  cause,
                });
          if (!closed)
            recordFailure(entry, error, resolved.negative, resolved.blockCeilingMs, now());
          events.emit('error', { ...entry.target, error, background });
          throw error;
        },
      )
      .finally(() => {
        if (entry.inFlight === inFlight) entry.inFlight = undefined;
      });
    entry.inFlight = inFlight;
    return inFlight;
  }

  async function request(entry: CacheEntry): Promise<CachedToken> {
    const issued = await requestToken(ctx, entry.target);
    const schedule = scheduleToken(
      issued.obtainedAt,
      issued.expiresIn * 1000,
      schedulePolicy,
      random,
    );
    return { ...issued, schedule, source: 'endpoint' };
  }

  function sharedCtx(s: NonNullable<typeof store>): Parameters<typeof acquireShared>[0] {
    return {
      store: s,
      lockTtlMs: resolved.lockTtlMs,
      pollIntervalMs: resolved.lockPollIntervalMs,
      schedule: schedulePolicy,
      now,
      random,
      sleep: ctx.sleep,
      signal: controller.signal,
      events,
      onStoreFailure: () => {
        storeDownUntil = now() + defaults.storeRetryAfterMs;
      },
      request,
    };
  }

  function getToken(o?: TokenRequestOptions): Promise<string> {
    if (closed) return Promise.reject(new ClientClosedError());
    const slot = slotFor(o);
    const entry = slot.entry;
    // Fast path: a fresh cached token, no allocation beyond the resolved promise.
    if (entry !== undefined) {
      const token = entry.token;
      if (token !== undefined && now() < token.schedule.refreshAt)
        return Promise.resolve(hit(entry, token).accessToken);
    }
    return slowGetToken(slot);
  }

  async function slowGetToken(slot: Slot): Promise<string> {
    return (await cachedToken(slot)).accessToken;
  }

  /** The token with its type, for `fetch` (a DPoP token needs a proof, RFC 9449 §7.1). */
  async function cachedToken(slot: Slot): Promise<CachedToken> {
    if (closed) throw new ClientClosedError();
    const entry = slot.entry ?? (await resolveEntry(slot));
    if (closed) throw new ClientClosedError();
    return current(entry);
  }

  function invalidate(accessToken: string): void {
    for (const entry of cache.values()) {
      if (entry.token?.accessToken !== accessToken) continue;
      entry.token = undefined;
      entry.rejected = accessToken;
      if (store !== undefined)
        store.delete(entry.key, accessToken).catch((error: unknown) => {
          events.emit('store-error', {
            ...entry.target,
            operation: 'delete',
            error,
            fallback: true,
          });
        });
    }
  }

  async function revoke(accessToken?: string): Promise<void> {
    const { revocationEndpoint } = await resolveEndpoints();
    if (revocationEndpoint === undefined) {
      throw new InvalidOptionError(
        'revocationEndpoint',
        'no revocation endpoint configured or discovered',
      );
    }
    const targets: [string, TokenTarget][] = [];
    for (const entry of cache.values()) {
      const token = entry.token?.accessToken;
      if (token !== undefined && (accessToken === undefined || token === accessToken))
        targets.push([token, entry.target]);
    }
    if (accessToken !== undefined && targets.length === 0)
      targets.push([accessToken, defaultTarget()]);
    const results = await Promise.allSettled(
      targets.map(async ([token, target]) => {
        try {
          await revokeToken(ctx, revocationEndpoint, token);
          invalidate(token);
          events.emit('revoke', { ...target, ok: true });
        } catch (cause) {
          const error =
            cause instanceof TokenClientError
              ? cause
              : new TokenEndpointError('revocation_failed', 'revocation failed', { cause });
          events.emit('revoke', { ...target, ok: false, error });
          throw error;
        }
      }),
    );
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure !== undefined) throw failure.reason;
  }

  function defaultTarget(): TokenTarget {
    return {
      tokenEndpoint: endpoints?.tokenEndpoint ?? '',
      clientId,
      scope: defaultSlot.scope,
      audience: defaultSlot.audience,
      resource: defaultSlot.resource,
    };
  }

  async function close(closeOptions?: { revoke?: boolean }): Promise<void> {
    if (closed) return;
    closed = true;
    const hasTokens = [...cache.values()].some((e) => e.token !== undefined);
    if (
      (closeOptions?.revoke ?? store === undefined) &&
      hasTokens &&
      endpoints?.revocationEndpoint !== undefined
    ) {
      await revoke().catch(() => undefined);
    }
    controller.abort();
    cache.clear();
    slots.clear();
    defaultSlot.entry = undefined;
  }

  const fetchWith = (o: TokenRequestOptions): typeof fetch =>
    createAuthorizedFetch({
      fetch: fetchImpl,
      getToken: () => cachedToken(slotFor(o)),
      dpop: ctx.dpop,
      invalidate,
      isTokenRejected: dialect.isTokenRejected,
      onReject: (status, replayable) =>
        events.emit('replay', {
          ...(slotFor(o).entry?.target ?? defaultTarget()),
          status,
          replayable,
        }),
    });

  const describe = (): Record<string, unknown> => ({
    clientId,
    tokenEndpoint: endpoints?.tokenEndpoint ?? options.tokenEndpoint,
    issuer: options.issuer,
    authMethod,
    dpop: ctx.dpop !== undefined,
    dialect: dialect.name,
  });
  return {
    getToken,
    fetch: fetchWith({}),
    fetchWith,
    invalidate,
    revoke,
    close,
    on: (name, listener) => events.on(name, listener),
    off: (name, listener) => events.off(name, listener),
    // The secret lives only in closures; these keep logging of the client object informative.
    toJSON: describe,
    [Symbol.for('nodejs.util.inspect.custom')]: () => `TokenClient ${JSON.stringify(describe())}`,
  } as TokenClient;
}
