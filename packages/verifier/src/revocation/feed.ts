import { basicAuthorization } from '@tessera/protocol';
import type { RevocationFeedOptions } from '../options.js';
import type { VerifierEventListener } from '../events.js';
import { RemoteError, fetchJson } from '../lib/http.js';
import { RevokedSet } from './revoked-set.js';

export interface RevocationFeedDeps {
  fetch: typeof fetch;
  now: () => number;
  timeoutMs: number;
  clockTolerance: number;
  emit: VerifierEventListener | undefined;
}

/**
 * Polls Tessera's revocation feed: `GET {url}` first (every current revocation), then
 * `GET {url}?since={cursor}` for what changed, authenticating with `client_secret_basic`.
 * The answer is `{"revocations":[{"jti":"…","exp":1234567890}],"cursor":"…"}`.
 *
 * Polls never overlap: the next one is scheduled `intervalMs` after the previous ended, on an
 * `unref()`'d timer so an idle verifier never keeps the process alive. A failed poll keeps
 * what is known and retries at the next interval.
 */
export class RevocationFeed {
  readonly #url: string;
  readonly #authorization: string;
  readonly #intervalMs: number;
  readonly #deps: RevocationFeedDeps;
  readonly #revoked = new RevokedSet();
  readonly #abort = new AbortController();
  #cursor: string | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #synced = false;
  #closed = false;
  readonly #firstAttempt: Promise<void>;

  constructor(options: RevocationFeedOptions, intervalMs: number, deps: RevocationFeedDeps) {
    this.#url = options.url;
    this.#authorization = basicAuthorization(options.clientId, options.clientSecret);
    this.#intervalMs = intervalMs;
    this.#deps = deps;
    this.#firstAttempt = this.#poll();
  }

  /** Whether at least one poll has succeeded. */
  get synced(): boolean {
    return this.#synced;
  }

  /** Settles once the first poll has succeeded or failed; never rejects. */
  firstAttempt(): Promise<void> {
    return this.#firstAttempt;
  }

  isRevoked(jti: string): boolean {
    return this.#revoked.has(jti);
  }

  /** Stops polling and aborts a poll in flight. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#abort.abort();
  }

  async #poll(): Promise<void> {
    const { now, emit } = this.#deps;
    const started = now();
    try {
      const url = this.#cursor === undefined ? this.#url : withSince(this.#url, this.#cursor);
      const headers = { authorization: this.#authorization, accept: 'application/json' };
      const { body } = await fetchJson(
        this.#deps.fetch,
        url,
        { headers },
        this.#deps.timeoutMs,
        this.#abort.signal,
      );
      const { revocations, cursor } = (body ?? {}) as { revocations?: unknown; cursor?: unknown };
      if (!Array.isArray(revocations))
        throw new RemoteError(`GET ${this.#url}: not a revocation feed`);
      let added = 0;
      for (const item of revocations as { jti?: unknown; exp?: unknown }[]) {
        if (
          typeof item?.jti === 'string' &&
          typeof item.exp === 'number' &&
          Number.isFinite(item.exp)
        ) {
          this.#revoked.add(item.jti, item.exp);
          added += 1;
        }
      }
      if (typeof cursor === 'string') this.#cursor = cursor;
      this.#revoked.prune(Math.floor(now() / 1000), this.#deps.clockTolerance);
      this.#synced = true;
      emit?.({
        type: 'revocation_sync',
        added,
        total: this.#revoked.size,
        durationMs: now() - started,
      });
    } catch (error) {
      if (!this.#closed)
        emit?.({
          type: 'revocation_error',
          message: error instanceof Error ? error.message : 'unknown error',
        });
    } finally {
      this.#schedule();
    }
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => void this.#poll(), this.#intervalMs);
    (this.#timer as unknown as { unref?: () => void }).unref?.();
  }
}

function withSince(url: string, cursor: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}since=${encodeURIComponent(cursor)}`;
}
