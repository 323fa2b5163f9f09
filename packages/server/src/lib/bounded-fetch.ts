import { LruMap } from './lru.js';

/**
 * Limits of {@link BoundedFetcher}. Every outbound call the server makes on a client's or
 * an operator's behalf (a client's `jwks_uri` today; hooks and webhooks to come) goes through
 * one fetcher, so a hostile or broken URL costs bounded memory, time and requests.
 */
export interface BoundedFetchLimits {
  /** Largest response body read, in bytes; a larger one is refused unread. Default 64 KiB. */
  maxBytes: number;
  /** Whole request, headers and body, in ms. Default 5 000. */
  timeoutMs: number;
  /** Bounds on how long a success is reused, whatever `Cache-Control` says (seconds). */
  minCacheSeconds: number;
  maxCacheSeconds: number;
  /** Reuse of a success whose response has no `Cache-Control: max-age` (seconds). */
  defaultCacheSeconds: number;
  /** First wait after a failure; doubled per consecutive failure up to the maximum (seconds). */
  failureBackoffSeconds: number;
  maxFailureBackoffSeconds: number;
  /** URLs remembered (successes and failures), least recently used forgotten first. */
  maxEntries: number;
}

export const defaultFetchLimits: BoundedFetchLimits = {
  maxBytes: 64 * 1024,
  timeoutMs: 5_000,
  minCacheSeconds: 60,
  maxCacheSeconds: 86_400,
  defaultCacheSeconds: 300,
  failureBackoffSeconds: 30,
  maxFailureBackoffSeconds: 600,
  maxEntries: 1_000,
};

/** Why a bounded fetch failed: one line, safe for logs and (briefly) for the caller. */
export class BoundedFetchError extends Error {
  constructor(
    readonly reason: 'too_large' | 'timeout' | 'redirect' | 'status' | 'invalid' | 'network',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BoundedFetchError';
  }
}

type Entry<T> =
  | { ok: true; value: T; fetchedAt: number; until: number }
  | { ok: false; error: BoundedFetchError; failures: number; until: number };

/**
 * Fetches JSON documents with limits: a size cap (Content-Length checked first, then the
 * stream, cancelled at the cap), a timeout over headers and body, no redirects, successes
 * cached for their `Cache-Control: max-age` clamped to [min, max], failures cached with
 * exponential backoff, and one request in flight per URL (concurrent callers share it).
 * `parse` turns the JSON into the value callers want, throwing to refuse it (a key count cap).
 */
export class BoundedFetcher<T> {
  readonly limits: BoundedFetchLimits;
  readonly #cache: LruMap<string, Entry<T>>;
  readonly #inFlight = new Map<string, Promise<T>>();

  constructor(
    private readonly parse: (json: unknown) => T,
    limits: Partial<BoundedFetchLimits> = {},
    private readonly nowMs: () => number = Date.now,
    private readonly fetchImpl: typeof fetch = globalThis.fetch,
  ) {
    this.limits = { ...defaultFetchLimits, ...limits };
    this.#cache = new LruMap(this.limits.maxEntries);
  }

  /** The value for `url`: cached, shared with a fetch in flight, or fetched now. */
  get(url: string): Promise<T> {
    const entry = this.#cache.get(url);
    if (entry && entry.until > this.nowMs())
      return entry.ok ? Promise.resolve(entry.value) : Promise.reject(entry.error);
    let pending = this.#inFlight.get(url);
    if (!pending) {
      const failures = entry && !entry.ok ? entry.failures : 0;
      pending = this.#fetch(url, failures).finally(() => this.#inFlight.delete(url));
      this.#inFlight.set(url, pending);
    }
    return pending;
  }

  /** Forgets a success fetched more than `olderThanMs` ago (a key rotated at the source). */
  invalidate(url: string, olderThanMs: number): boolean {
    const entry = this.#cache.peek(url);
    if (!entry?.ok || this.nowMs() - entry.fetchedAt < olderThanMs) return false;
    this.#cache.delete(url);
    return true;
  }

  async #fetch(url: string, failures: number): Promise<T> {
    const now = this.nowMs();
    try {
      const { json, maxAge } = await this.#request(url);
      const value = this.parse(json);
      const { minCacheSeconds, maxCacheSeconds, defaultCacheSeconds } = this.limits;
      const seconds = Math.min(
        Math.max(maxAge ?? defaultCacheSeconds, minCacheSeconds),
        maxCacheSeconds,
      );
      this.#cache.set(url, { ok: true, value, fetchedAt: now, until: now + seconds * 1000 });
      return value;
    } catch (thrown) {
      const error =
        thrown instanceof BoundedFetchError
          ? thrown
          : new BoundedFetchError('invalid', (thrown as Error).message, { cause: thrown });
      const { failureBackoffSeconds, maxFailureBackoffSeconds } = this.limits;
      const wait = Math.min(failureBackoffSeconds * 2 ** failures, maxFailureBackoffSeconds);
      this.#cache.set(url, { ok: false, error, failures: failures + 1, until: now + wait * 1000 });
      throw error;
    }
  }

  async #request(url: string): Promise<{ json: unknown; maxAge: number | undefined }> {
    const { maxBytes, timeoutMs } = this.limits;
    const signal = AbortSignal.timeout(timeoutMs);
    let response: Response;
    try {
      response = await this.fetchImpl(url, {
        redirect: 'manual',
        signal,
        headers: { accept: 'application/json' },
      });
    } catch (error) {
      throw this.#transportError(error, signal);
    }
    const body = response.body;
    const refuse = async (reason: BoundedFetchError['reason'], message: string) => {
      await body?.cancel().catch(() => undefined);
      return new BoundedFetchError(reason, message);
    };
    if (response.status >= 300 && response.status < 400)
      throw await refuse('redirect', `redirect (${response.status}) not followed`);
    if (response.status !== 200) throw await refuse('status', `status ${response.status}`);
    const declared = Number(response.headers.get('content-length') ?? Number.NaN);
    if (declared > maxBytes)
      throw await refuse('too_large', `response larger than ${maxBytes} bytes`);
    const chunks: Uint8Array[] = [];
    let size = 0;
    if (body) {
      const reader = body.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          size += value.byteLength;
          if (size > maxBytes) {
            await reader.cancel().catch(() => undefined);
            throw new BoundedFetchError('too_large', `response larger than ${maxBytes} bytes`);
          }
          chunks.push(value);
        }
      } catch (error) {
        if (error instanceof BoundedFetchError) throw error;
        throw this.#transportError(error, signal);
      }
    }
    let json: unknown;
    try {
      json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      throw new BoundedFetchError('invalid', 'response is not JSON');
    }
    return { json, maxAge: maxAgeOf(response.headers.get('cache-control')) };
  }

  #transportError(error: unknown, signal: AbortSignal): BoundedFetchError {
    if (signal.aborted)
      return new BoundedFetchError('timeout', `no complete answer in ${this.limits.timeoutMs} ms`);
    return new BoundedFetchError('network', (error as Error).message, { cause: error });
  }
}

/** `max-age` of a Cache-Control value in seconds; 0 for no-store/no-cache; undefined if none. */
export function maxAgeOf(cacheControl: string | null): number | undefined {
  if (cacheControl === null) return undefined;
  if (/(^|[\s,])(no-store|no-cache)(?=$|[\s,=])/i.test(cacheControl)) return 0;
  const match = /(?:^|[\s,])max-age\s*=\s*"?(\d+)"?/i.exec(cacheControl);
  return match ? Number(match[1]) : undefined;
}
