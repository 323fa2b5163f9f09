import { InvalidOptionError } from '../errors.js';
import { parseStoredToken, type StoreLock, type TokenStore } from '../stores/store.js';

/**
 * The slice of a Redis client the store uses; an `ioredis` instance fits (node-redis needs a
 * small adapter). Declared here so the client has no type or runtime dependency on a driver.
 */
export interface RedisLike {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, mode: 'PX', ms: number): Promise<unknown>;
  set(key: string, value: string, mode: 'PX', ms: number, condition: 'NX'): Promise<unknown>;
  eval(script: string, numKeys: number, ...args: string[]): Promise<unknown>;
  quit(): Promise<unknown>;
}

/**
 * Options of {@link createRedisStore}. Give `redis` (your client) or `url`; `url` needs the
 * optional peer dependency `ioredis` (`npm install ioredis`).
 */
export interface RedisStoreOptions {
  /** Your Redis client; you own it and close it. */
  redis?: RedisLike;
  /**
   * A `redis://` URL; `ioredis` (an optional peer dependency: install it yourself) is imported
   * dynamically and the store owns the connection.
   */
  url?: string;
  /** Key prefix; default `tessera:client:`. */
  keyPrefix?: string;
  /** Each Redis operation fails after this many ms (so a dead Redis cannot stall token calls); default 1000. */
  operationTimeoutMs?: number;
}

/** A Redis-backed {@link TokenStore}; `close()` releases a connection the store opened. */
export interface RedisTokenStore extends TokenStore {
  close(): Promise<void>;
}

const knownOptions: ReadonlySet<string> = new Set([
  'redis',
  'url',
  'keyPrefix',
  'operationTimeoutMs',
] satisfies Array<keyof RedisStoreOptions>);

// Compare-and-delete: only the value's owner may delete it (lock release, token invalidation).
const deleteIfEquals = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const deleteIfToken = `local v = redis.call('get', KEYS[1])
if v and string.find(v, ARGV[1], 1, true) then return redis.call('del', KEYS[1]) else return 0 end`;

/**
 * A {@link TokenStore} on Redis: values under `{prefix}token:{key}` with `PX` set to the
 * token's remaining lifetime; the single-request lock is `SET {prefix}lock:{key} <random> NX PX ttl`
 * released by compare-and-delete. Two processes with a cold cache thus make one token request
 * between them; if the lock holder dies the lock expires and another proceeds.
 *
 * Every operation has a timeout; the token client treats any store failure as "no store" for
 * a while and emits `store-error`.
 *
 * @example
 * ```ts
 * const store = await createRedisStore({ url: 'redis://127.0.0.1:6379' })
 * const client = createTokenClient({ ...options, store })
 * // on shutdown
 * await client.close(); await store.close()
 * ```
 */
export async function createRedisStore(options: RedisStoreOptions): Promise<RedisTokenStore> {
  if (typeof options !== 'object' || options === null)
    throw new InvalidOptionError('options', 'must be an object');
  // A misspelt option (`prefix` for `keyPrefix`) would otherwise be ignored silently, and two
  // applications would share, or fail to share, their tokens without anyone noticing.
  for (const name of Object.keys(options)) {
    if (!knownOptions.has(name))
      throw new InvalidOptionError(
        name,
        `is not an option of createRedisStore (known: ${[...knownOptions].join(', ')})`,
      );
  }
  const prefix = options.keyPrefix ?? 'tessera:client:';
  const timeoutMs = options.operationTimeoutMs ?? 1000;
  let redis = options.redis;
  let owned = false;
  if (redis === undefined) {
    if (options.url === undefined) throw new TypeError('createRedisStore: give `redis` or `url`');
    redis = await openIoredis(options.url, timeoutMs);
    owned = true;
  }
  const r = redis;

  function timed<T>(operation: string, work: Promise<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`redis ${operation} timed out after ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  }

  return {
    async get(key) {
      return parseStoredToken(await timed('get', r.get(`${prefix}token:${key}`)));
    },
    async set(key, token, ttlMs) {
      const ms = Math.floor(ttlMs);
      if (ms <= 0) return;
      await timed('set', r.set(`${prefix}token:${key}`, JSON.stringify(token), 'PX', ms));
    },
    async delete(key, accessToken) {
      // The stored JSON contains `"access_token":"<token>"`; match that exact fragment.
      await timed(
        'delete',
        r.eval(
          deleteIfToken,
          1,
          `${prefix}token:${key}`,
          `"access_token":${JSON.stringify(accessToken)}`,
        ),
      );
    },
    async lock(key, ttlMs): Promise<StoreLock | undefined> {
      const lockKey = `${prefix}lock:${key}`;
      const id = randomId();
      const ok = await timed(
        'lock',
        r.set(lockKey, id, 'PX', Math.max(1, Math.floor(ttlMs)), 'NX'),
      );
      if (ok !== 'OK') return undefined;
      return {
        async release() {
          await timed('unlock', r.eval(deleteIfEquals, 1, lockKey, id));
        },
      };
    },
    async close() {
      if (owned) await r.quit().catch(() => undefined);
    },
  };
}

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

interface IoredisModule {
  default: new (
    url: string,
    options: Record<string, unknown>,
  ) => RedisLike & {
    on(event: 'error', listener: (error: unknown) => void): unknown;
  };
}

async function openIoredis(url: string, timeoutMs: number): Promise<RedisLike> {
  // A variable specifier keeps bundlers and `tsc` from requiring ioredis: it is optional.
  const specifier = 'ioredis';
  let mod: IoredisModule;
  try {
    mod = (await import(specifier)) as IoredisModule;
  } catch (error) {
    if (!isModuleNotFound(error)) throw error;
    throw new InvalidOptionError(
      'url',
      'needs the ioredis package, an optional peer dependency of @tessera/client that is not ' +
        'installed: run `npm install ioredis`, or pass your own client as `redis`',
    );
  }
  const client = new mod.default(url, {
    connectTimeout: timeoutMs,
    // Fail queued commands on the first failed connection instead of waiting forever; the
    // token client falls back to in-process behaviour.
    maxRetriesPerRequest: 0,
    retryStrategy: (times: number) => Math.min(times * 200, 2000),
  });
  // ioredis reports connection errors as events and prints unhandled ones; the store's
  // operations already fail and surface as `store-error`, so the event is only absorbed.
  client.on('error', () => undefined);
  return client;
}

function isModuleNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : '';
  // Only ioredis itself missing; a broken install of it keeps its own error.
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
    /['"]ioredis['"]/.test(message)
  );
}
