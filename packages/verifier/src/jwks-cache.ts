import { VerifierError } from './errors.js';
import type { VerifierEventListener } from './events.js';
import { jwkMatchesAlgorithm } from './algorithms.js';
import type { PublicJwk } from './algorithms.js';
import { discoverJwksUri } from './lib/discovery.js';
import { RemoteError, fetchJson, maxAgeOf } from './lib/http.js';
import type { SignatureBackend } from './lib/signature.js';

interface KeyEntry {
  readonly jwk: PublicJwk;
  /** Imported key handles per algorithm; a JWK without `alg` may serve several. */
  readonly pending: Map<string, Promise<unknown>>;
  readonly ready: Map<string, unknown>;
}

export interface JwksCacheOptions {
  issuer: string;
  jwksUri: string | undefined;
  fetch: typeof fetch;
  now: () => number;
  cooldownMs: number;
  defaultMaxAgeMs: number;
  maxAgeCapMs: number;
  timeoutMs: number;
  emit: VerifierEventListener | undefined;
}

type Trigger = 'initial' | 'expired' | 'unknown_kid';

/**
 * The issuer's signing keys, fetched (after discovery when no `jwksUri` is given) and kept
 * for the response's `Cache-Control: max-age` — clamped between the cooldown and a cap.
 *
 * An unknown `kid` triggers one refetch, but at most one per cooldown whatever the number of
 * requests: concurrent callers share the fetch in flight, later ones find the cooldown running.
 * A failed refresh keeps the previous keys (they may sign tokens still in use) and retries
 * after the cooldown.
 */
export class JwksCache {
  readonly #options: JwksCacheOptions;
  readonly #backend: SignatureBackend;
  #byKid = new Map<string, KeyEntry[]>();
  #all: KeyEntry[] = [];
  #loaded = false;
  #expiresAt = Number.NEGATIVE_INFINITY;
  #lastFetchAt = Number.NEGATIVE_INFINITY;
  #inflight: Promise<void> | undefined;
  #jwksUri: string | undefined;

  constructor(options: JwksCacheOptions, backend: SignatureBackend) {
    this.#options = options;
    this.#backend = backend;
    this.#jwksUri = options.jwksUri;
  }

  /** The imported key for `alg`/`kid` when it is cached, fresh and ready; otherwise `undefined`. */
  peek(alg: string, kid: string | undefined): unknown {
    if (!this.#loaded || this.#options.now() >= this.#expiresAt) return undefined;
    return this.#select(alg, kid)?.ready.get(alg);
  }

  /**
   * The key that may verify a JWS with `alg` and `kid`.
   * @throws VerifierError `unknown_key` when no JWK matches even after a permitted refetch;
   *   `unavailable` when the key set was never loaded.
   */
  async getKey(alg: string, kid: string | undefined): Promise<unknown> {
    if (!this.#loaded) await this.#refresh('initial');
    else if (this.#options.now() >= this.#expiresAt) await this.#refresh('expired');
    let entry = this.#select(alg, kid);
    if (entry === undefined) {
      if (
        this.#inflight !== undefined ||
        this.#options.now() - this.#lastFetchAt >= this.#options.cooldownMs
      ) {
        await this.#refresh('unknown_kid');
        entry = this.#select(alg, kid);
      } else {
        this.#options.emit?.({ type: 'jwks_refetch_throttled' });
      }
    }
    if (entry === undefined) throw new VerifierError('unknown_key');
    return this.#import(entry, alg);
  }

  #select(alg: string, kid: string | undefined): KeyEntry | undefined {
    if (kid !== undefined)
      return this.#byKid.get(kid)?.find((e) => jwkMatchesAlgorithm(e.jwk, alg));
    // RFC 7515 §4.1.4: without a kid, use the key only if exactly one could have signed.
    const candidates = this.#all.filter((e) => jwkMatchesAlgorithm(e.jwk, alg));
    return candidates.length === 1 ? candidates[0] : undefined;
  }

  async #import(entry: KeyEntry, alg: string): Promise<unknown> {
    let pending = entry.pending.get(alg);
    if (pending === undefined) {
      pending = this.#backend.importKey(entry.jwk, alg);
      entry.pending.set(alg, pending);
    }
    try {
      const key = await pending;
      entry.ready.set(alg, key);
      return key;
    } catch (cause) {
      throw new VerifierError('unknown_key', {
        detail: 'the matching JWK cannot be imported',
        cause,
      });
    }
  }

  async #refresh(trigger: Trigger): Promise<void> {
    // Every caller during a fetch shares it; that is what bounds a flood to one request.
    this.#inflight ??= this.#fetch(trigger).finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  async #fetch(trigger: Trigger): Promise<void> {
    const { now, emit } = this.#options;
    const started = now();
    this.#lastFetchAt = started;
    let uri = this.#jwksUri ?? '';
    try {
      this.#jwksUri ??= await discoverJwksUri(
        this.#options.issuer,
        this.#options.fetch,
        this.#options.timeoutMs,
        emit,
      );
      uri = this.#jwksUri;
      const accept = 'application/jwk-set+json, application/json';
      const { body, headers } = await fetchJson(
        this.#options.fetch,
        uri,
        { headers: { accept } },
        this.#options.timeoutMs,
      );
      const keys = (body as { keys?: unknown } | null)?.keys;
      if (!Array.isArray(keys)) throw new RemoteError(`GET ${uri}: not a JWK Set`);
      this.#install(keys);
      const maxAgeMs = this.#lifetime(maxAgeOf(headers.get('cache-control')));
      this.#expiresAt = now() + maxAgeMs;
      emit?.({
        type: 'jwks_fetch',
        uri,
        trigger,
        keys: this.#all.length,
        maxAge: Math.round(maxAgeMs / 1000),
        durationMs: now() - started,
      });
    } catch (error) {
      emit?.({
        type: 'jwks_error',
        uri,
        message: error instanceof Error ? error.message : 'unknown error',
        usingStaleKeys: this.#loaded,
      });
      if (!this.#loaded)
        throw new VerifierError('unavailable', {
          detail: 'the JWKS could not be loaded',
          cause: error,
        });
      this.#expiresAt = now() + this.#options.cooldownMs;
    }
  }

  #install(keys: unknown[]): void {
    const previous = this.#byKid;
    const byKid = new Map<string, KeyEntry[]>();
    const all: KeyEntry[] = [];
    for (const jwk of keys) {
      if (typeof jwk !== 'object' || jwk === null || typeof (jwk as PublicJwk).kty !== 'string')
        continue;
      const kid = (jwk as PublicJwk).kid;
      // Keep imported handles of keys that did not change, so a refresh costs no re-import.
      const same =
        typeof kid === 'string'
          ? previous.get(kid)?.find((e) => sameJwk(e.jwk, jwk as PublicJwk))
          : undefined;
      const entry = same ?? { jwk: jwk as PublicJwk, pending: new Map(), ready: new Map() };
      all.push(entry);
      if (typeof kid === 'string') byKid.set(kid, [...(byKid.get(kid) ?? []), entry]);
    }
    this.#byKid = byKid;
    this.#all = all;
    this.#loaded = true;
  }

  #lifetime(maxAge: number | undefined): number {
    const { cooldownMs, defaultMaxAgeMs, maxAgeCapMs } = this.#options;
    const ms = maxAge === undefined ? defaultMaxAgeMs : maxAge * 1000;
    return Math.min(Math.max(ms, cooldownMs), maxAgeCapMs);
  }
}

function sameJwk(a: PublicJwk, b: PublicJwk): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
