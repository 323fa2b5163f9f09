import type { StoreLock, StoredToken, TokenStore } from './store.js';

/**
 * An in-process {@link TokenStore}: lets several token clients in one process (for example
 * one per tenant module, same credentials) share tokens and the single-request lock. Also the
 * reference implementation the store contract tests run against.
 *
 * @example
 * ```ts
 * const store = createMemoryStore()
 * const a = createTokenClient({ ...options, store })
 * const b = createTokenClient({ ...options, store })
 * ```
 */
export function createMemoryStore(options: { now?: () => number } = {}): TokenStore {
  const now = options.now ?? Date.now;
  const values = new Map<string, { token: StoredToken; until: number }>();
  const locks = new Map<string, { id: object; until: number }>();

  return {
    get(key) {
      const hit = values.get(key);
      if (hit !== undefined && hit.until <= now()) values.delete(key);
      return Promise.resolve(hit !== undefined && hit.until > now() ? { ...hit.token } : undefined);
    },
    set(key, token, ttlMs) {
      if (ttlMs > 0) values.set(key, { token: { ...token }, until: now() + ttlMs });
      return Promise.resolve();
    },
    delete(key, accessToken) {
      if (values.get(key)?.token.access_token === accessToken) values.delete(key);
      return Promise.resolve();
    },
    lock(key, ttlMs): Promise<StoreLock | undefined> {
      const held = locks.get(key);
      if (held !== undefined && held.until > now()) return Promise.resolve(undefined);
      const id = {};
      locks.set(key, { id, until: now() + ttlMs });
      return Promise.resolve({
        release() {
          if (locks.get(key)?.id === id) locks.delete(key);
          return Promise.resolve();
        },
      });
    },
  };
}
