import { createHash } from 'node:crypto';
import type { ReplayOutcome } from '@tessera/protocol';

/**
 * State that decides requests and must hold across every process of a deployment: one-time
 * keys (DPoP proof and client assertion `jti`s, later DPoP nonces) and counters in fixed time
 * windows (failed authentications, later per-client token quotas). Three backends behind this
 * one interface: this machine's memory (the primary of `serve --workers N` holds it for its
 * workers; the default with SQLite), PostgreSQL (the default when the store is PostgreSQL:
 * every instance on that database shares it) and Redis (`--shared-state redis://…`).
 *
 * Nothing here is on the plain token path: callers consult it only for what is rare or
 * needs it anyway (a failure, a proof, a quota), never for a successful secret.
 *
 * Keys are hashed (SHA-256) before they reach a backend, so a client_id or `jti` of any
 * length costs the same fixed-size row, and no backend sees the raw identifiers.
 */
export interface SharedState {
  readonly kind: 'memory' | 'postgres' | 'redis';
  /**
   * Records `key` in `namespace` as used until `expiresAt` (epoch seconds). `'fresh'` the
   * first time, `'replayed'` while it is remembered, `'full'` when a bounded backend has no
   * room (callers refuse: forgetting a live key would allow a replay).
   */
  claimOnce(namespace: string, key: string, expiresAt: number): Promise<ReplayOutcome>;
  /**
   * Adds `by` to `key`'s count in the current fixed window of `windowSeconds` (windows start
   * at multiples of `windowSeconds` since the epoch, so every process agrees on them) and
   * returns the count after, with when the window ends. What a quota of "N per period"
   * needs: increment, compare with N, refuse past it.
   */
  increment(
    namespace: string,
    key: string,
    windowSeconds: number,
    by?: number,
  ): Promise<WindowCount>;
  /** The current window's count without adding to it (usage reports). */
  count(namespace: string, key: string, windowSeconds: number): Promise<WindowCount>;
  /** Forgets `key`'s count in the current window. */
  reset(namespace: string, key: string, windowSeconds: number): Promise<void>;
  /** Drops what has expired (the backends with expiry of their own do nothing). */
  prune(): Promise<void>;
  close(): Promise<void>;
}

export interface WindowCount {
  count: number;
  /** Epoch seconds. */
  windowStart: number;
  /** Epoch seconds: when this window's count stops applying. */
  resetsAt: number;
}

/** The fixed window `now` falls in. */
export function windowAt(now: number, windowSeconds: number): { start: number; end: number } {
  const start = Math.floor(now / windowSeconds) * windowSeconds;
  return { start, end: start + windowSeconds };
}

/** A fixed-size stand-in for `key` (base64url SHA-256), namespaced. */
export function hashedKey(namespace: string, key: string): string {
  return createHash('sha256').update(namespace).update('\u0000').update(key).digest('base64url');
}

export const epochSeconds = (): number => Math.floor(Date.now() / 1000);

/**
 * `report`, at most once per `intervalMs` (with how many were dropped in between): an outage
 * of the shared state must not write one log line per request.
 */
export function throttled(
  report: (error: unknown, dropped: number) => void,
  intervalMs = 10_000,
  now: () => number = Date.now,
): (error: unknown) => void {
  let last = -Infinity;
  let dropped = 0;
  return (error) => {
    if (now() - last < intervalMs) {
      dropped += 1;
      return;
    }
    last = now();
    report(error, dropped);
    dropped = 0;
  };
}
