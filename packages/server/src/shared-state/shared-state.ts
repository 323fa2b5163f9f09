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
function hashedKey(namespace: string, key: string): string {
  return createHash('sha256').update(namespace).update('\u0000').update(key).digest('base64url');
}

/** A counter of {@link HashedSharedState}: its hashed id and its window (epoch seconds). */
export type CounterWindow = { readonly id: string; readonly start: number; readonly end: number };

/**
 * The key hashing and window arithmetic of every backend, written once: a backend sees only
 * hashed ids (so an identifier of any length costs one fixed-size entry in memory too) and
 * stores, reads and deletes the counter of one window.
 */
export abstract class HashedSharedState implements SharedState {
  abstract readonly kind: SharedState['kind'];

  protected constructor(protected readonly nowSeconds: () => number) {}

  claimOnce(namespace: string, key: string, expiresAt: number): Promise<ReplayOutcome> {
    return this.claimHashed(hashedKey(namespace, key), expiresAt);
  }

  async increment(
    namespace: string,
    key: string,
    windowSeconds: number,
    by = 1,
  ): Promise<WindowCount> {
    const window = this.#window(namespace, key, windowSeconds);
    const count = await this.addToCounter(window, by);
    return { count, windowStart: window.start, resetsAt: window.end };
  }

  async count(namespace: string, key: string, windowSeconds: number): Promise<WindowCount> {
    const window = this.#window(namespace, key, windowSeconds);
    const count = await this.readCounter(window);
    return { count, windowStart: window.start, resetsAt: window.end };
  }

  reset(namespace: string, key: string, windowSeconds: number): Promise<void> {
    return this.deleteCounter(this.#window(namespace, key, windowSeconds));
  }

  /** Nothing to prune for a backend that expires entries by itself. */
  prune(): Promise<void> {
    return Promise.resolve();
  }

  abstract close(): Promise<void>;
  protected abstract claimHashed(id: string, expiresAt: number): Promise<ReplayOutcome>;
  /** Adds `by` to the window's counter and returns the count after. */
  protected abstract addToCounter(window: CounterWindow, by: number): Promise<number>;
  protected abstract readCounter(window: CounterWindow): Promise<number>;
  protected abstract deleteCounter(window: CounterWindow): Promise<void>;

  #window(namespace: string, key: string, windowSeconds: number): CounterWindow {
    const { start, end } = windowAt(this.nowSeconds(), windowSeconds);
    return { id: hashedKey(`${namespace}/${windowSeconds}`, key), start, end };
  }
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
