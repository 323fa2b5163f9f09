import type { TokenClientError } from './errors.js';

/** Which token an event is about. Never contains the secret or the token itself. */
export interface TokenTarget {
  tokenEndpoint: string;
  clientId: string;
  /** Sorted, space-delimited scopes requested (RFC 6749 §3.3); `''` when none. */
  scope: string;
  audience: string | undefined;
  resource: string | undefined;
}

/** Event payloads by name. Every payload is a plain object, safe to log as JSON. */
export interface TokenClientEventMap {
  /** A token request is about to be sent (`attempt` counts from 1). */
  request: TokenTarget & { attempt: number };
  /** A token was served from the cache (`source: 'store'` when read from a shared store). */
  'cache-hit': TokenTarget & { source: 'memory' | 'store' };
  /** A renewal started: `background` inside the refresh window, `expired` when none is usable. */
  refresh: TokenTarget & { reason: 'background' | 'expired' | 'invalidated' };
  /** A new token is cached. `expiresIn` is in seconds as the server sent it. */
  token: TokenTarget & { expiresIn: number; source: 'endpoint' | 'store' };
  /** A token request failed transiently and will be retried after `delayMs`. */
  retry: TokenTarget & {
    attempt: number;
    delayMs: number;
    status: number | undefined;
    error: TokenClientError;
  };
  /** A token request failed for good (after retries) or a background refresh failed. */
  error: TokenTarget & { error: TokenClientError; background: boolean };
  /** A call was answered from the negative cache without contacting the endpoint. */
  'negative-cache-hit': TokenTarget & { error: TokenClientError; untilMs: number };
  /** A resource rejected a token; it was dropped and the request is replayed once. */
  replay: TokenTarget & { status: number; replayable: boolean };
  /** The shared store failed; the client carries on in-process. */
  'store-error': TokenTarget & { operation: string; error: unknown; fallback: true };
  /** A token was revoked. */
  revoke: TokenTarget & { ok: boolean; error?: TokenClientError };
}

/** Names of {@link TokenClientEventMap}. */
export type TokenClientEventName = keyof TokenClientEventMap;

type Listener<T> = (event: T) => void;

/**
 * Minimal typed emitter. Listeners run synchronously; an exception thrown by a listener is
 * re-thrown on a microtask (as `EventTarget` reports it) so it cannot break a token call.
 */
export class Emitter<M> {
  readonly #listeners = new Map<keyof M, Set<Listener<never>>>();

  on<K extends keyof M>(name: K, listener: Listener<M[K]>): () => void {
    let set = this.#listeners.get(name);
    if (set === undefined) this.#listeners.set(name, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => this.off(name, listener);
  }

  off<K extends keyof M>(name: K, listener: Listener<M[K]>): void {
    const set = this.#listeners.get(name);
    set?.delete(listener as Listener<never>);
    if (set?.size === 0) this.#listeners.delete(name);
  }

  has(name: keyof M): boolean {
    return this.#listeners.has(name);
  }

  emit<K extends keyof M>(name: K, event: M[K]): void {
    const set = this.#listeners.get(name);
    if (set === undefined) return;
    for (const listener of set) {
      try {
        (listener as Listener<M[K]>)(event);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
