import type { TokenClientEventMap } from './events.js';
import type { Emitter } from './events.js';
import { scheduleToken, type SchedulePolicy } from './refresh-schedule.js';
import type { StoredToken, TokenStore } from './stores/store.js';
import type { CacheEntry, CachedToken } from './token-cache.js';

/** What {@link acquireShared} needs from the client. */
export interface SharedAcquireContext {
  store: TokenStore;
  lockTtlMs: number;
  pollIntervalMs: number;
  schedule: SchedulePolicy;
  now: () => number;
  random: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  signal: AbortSignal;
  events: Emitter<TokenClientEventMap>;
  /** Called on any store failure; the client then skips the store for a while. */
  onStoreFailure: () => void;
  /** Requests a token from the endpoint (this process only). */
  request: (entry: CacheEntry) => Promise<CachedToken>;
}

const failed = Symbol('store failed');

/**
 * Gets a token for `entry` through a shared store, so that processes with a cold cache make
 * one token request between them: read the store; else take the lock (SET NX PX) and request;
 * else poll until the holder stores its token or its lock expires (a dead holder delays the
 * others by the lock TTL, no more). Any store failure falls back to a plain request in this
 * process and emits `store-error`; a token endpoint failure propagates unchanged.
 */
export async function acquireShared(
  ctx: SharedAcquireContext,
  entry: CacheEntry,
): Promise<CachedToken> {
  const safe = async <T>(operation: string, work: () => Promise<T>): Promise<T | typeof failed> => {
    try {
      return await work();
    } catch (error) {
      ctx.onStoreFailure();
      ctx.events.emit('store-error', { ...entry.target, operation, error, fallback: true });
      return failed;
    }
  };
  // Never take back the token we are replacing or one a resource rejected.
  const stale = new Set([entry.token?.accessToken, entry.rejected]);
  const usable = (stored: StoredToken | undefined | typeof failed): CachedToken | undefined => {
    if (stored === undefined || stored === failed || stale.has(stored.access_token))
      return undefined;
    const schedule = scheduleToken(
      stored.issued_at,
      stored.expires_at - stored.issued_at,
      ctx.schedule,
      ctx.random,
    );
    if (ctx.now() >= schedule.usableUntil) return undefined;
    return {
      accessToken: stored.access_token,
      // The DPoP key is part of the cache key, so a stored DPoP token is bound to ours.
      tokenType: stored.token_type.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer',
      scope: stored.scope,
      expiresIn: Math.round((stored.expires_at - stored.issued_at) / 1000),
      schedule,
      source: 'store',
    };
  };

  for (;;) {
    const stored = await safe('get', () => ctx.store.get(entry.key));
    if (stored === failed) return ctx.request(entry);
    const hit = usable(stored);
    if (hit !== undefined) return hit;

    const lock = await safe('lock', () => ctx.store.lock(entry.key, ctx.lockTtlMs));
    if (lock === failed) return ctx.request(entry);
    if (lock !== undefined) {
      try {
        // The previous holder may have stored its token between our read and our lock.
        const again = usable(await safe('get', () => ctx.store.get(entry.key)));
        if (again !== undefined) return again;
        const token = await ctx.request(entry);
        const ttl = token.schedule.expiresAt - ctx.now();
        if (ttl > 0) await safe('set', () => ctx.store.set(entry.key, toStored(token), ttl));
        return token;
      } finally {
        await safe('unlock', () => lock.release());
      }
    }
    await ctx.sleep(ctx.pollIntervalMs, ctx.signal);
  }
}

function toStored(token: CachedToken): StoredToken {
  return {
    access_token: token.accessToken,
    token_type: token.tokenType,
    ...(token.scope === undefined ? {} : { scope: token.scope }),
    issued_at: token.schedule.obtainedAt,
    expires_at: token.schedule.expiresAt,
  };
}
