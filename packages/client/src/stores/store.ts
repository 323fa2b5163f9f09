/**
 * A token as kept in a shared store. Times are absolute (ms since the epoch) so processes can
 * share it; each process still applies its own skew and jitter.
 */
export interface StoredToken {
  access_token: string;
  token_type: string;
  scope?: string;
  /** When the token was requested (ms). */
  issued_at: number;
  /** `issued_at + expires_in` (ms). */
  expires_at: number;
}

/** A held lock; `release` only frees it if it is still ours. */
export interface StoreLock {
  release(): Promise<void>;
}

/**
 * Storage shared by token clients, usually across processes. Implementations must be safe
 * under concurrent use; `lock` must be atomic (Redis `SET NX PX`) and expire by itself, so a
 * process that dies holding it blocks the others for `ttlMs` at most.
 *
 * Stored values are live bearer tokens: protect the store like the tokens themselves.
 */
export interface TokenStore {
  get(key: string): Promise<StoredToken | undefined>;
  /** Stores `token` until it expires (`ttlMs` from now). */
  set(key: string, token: StoredToken, ttlMs: number): Promise<void>;
  /** Deletes the entry only if it still holds `accessToken` (never someone's newer token). */
  delete(key: string, accessToken: string): Promise<void>;
  /** Takes the lock for `key` if nobody holds it; `undefined` when someone does. */
  lock(key: string, ttlMs: number): Promise<StoreLock | undefined>;
}

/** Parses a stored value, rejecting anything that is not a well-formed {@link StoredToken}. */
export function parseStoredToken(value: string | null | undefined): StoredToken | undefined {
  if (value === null || value === undefined) return undefined;
  try {
    const v = JSON.parse(value) as Partial<StoredToken>;
    if (typeof v.access_token !== 'string' || v.access_token === '') return undefined;
    if (typeof v.issued_at !== 'number' || typeof v.expires_at !== 'number') return undefined;
    return {
      access_token: v.access_token,
      token_type: typeof v.token_type === 'string' ? v.token_type : 'Bearer',
      ...(typeof v.scope === 'string' ? { scope: v.scope } : {}),
      issued_at: v.issued_at,
      expires_at: v.expires_at,
    };
  } catch {
    return undefined;
  }
}
