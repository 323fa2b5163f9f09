import { basicAuthorization, formUrlEncode } from '@tessera/protocol';
import { VerifierError } from '../errors.js';
import type { VerifierEventListener } from '../events.js';
import type { IntrospectionOptions } from '../options.js';
import { LruCache } from '../token-cache.js';
import { RemoteError, fetchJson } from '../lib/http.js';

export interface IntrospectorDeps {
  fetch: typeof fetch;
  now: () => number;
  timeoutMs: number;
  cacheSize: number;
  emit: VerifierEventListener | undefined;
}

interface Answer {
  readonly active: boolean;
  /** ms since the epoch after which the answer must be asked again. */
  readonly until: number;
}

/**
 * RFC 7662 token introspection with `client_secret_basic`, used as a liveness check after the
 * JWT itself verified. Answers are reused for `cacheSeconds` (never past the token's `exp`);
 * concurrent checks of one token share one request. An unreachable endpoint fails closed.
 */
export class Introspector {
  readonly #url: string;
  readonly #authorization: string;
  readonly #cacheMs: number;
  readonly #deps: IntrospectorDeps;
  readonly #answers: LruCache<string, Answer>;
  readonly #inflight = new Map<string, Promise<boolean>>();

  constructor(options: IntrospectionOptions, cacheSeconds: number, deps: IntrospectorDeps) {
    this.#url = options.url;
    this.#authorization = basicAuthorization(options.clientId, options.clientSecret);
    this.#cacheMs = cacheSeconds * 1000;
    this.#deps = deps;
    this.#answers = new LruCache(cacheSeconds === 0 ? 0 : deps.cacheSize);
  }

  /**
   * Resolves when the server says the token is active.
   * @throws VerifierError `inactive`, or `unavailable` when the endpoint cannot answer.
   */
  async check(token: string, expSeconds: number): Promise<void> {
    const cached = this.#answers.get(token);
    let active: boolean;
    if (cached !== undefined && cached.until > this.#deps.now()) active = cached.active;
    else {
      let pending = this.#inflight.get(token);
      if (pending === undefined) {
        pending = this.#ask(token, expSeconds).finally(() => this.#inflight.delete(token));
        this.#inflight.set(token, pending);
      }
      active = await pending;
    }
    if (!active) throw new VerifierError('inactive');
  }

  async #ask(token: string, expSeconds: number): Promise<boolean> {
    const { now, emit } = this.#deps;
    const started = now();
    let active: boolean;
    try {
      const { body } = await fetchJson(
        this.#deps.fetch,
        this.#url,
        {
          method: 'POST',
          headers: {
            authorization: this.#authorization,
            'content-type': 'application/x-www-form-urlencoded',
            accept: 'application/json',
          },
          body: `token=${formUrlEncode(token)}&token_type_hint=access_token`,
        },
        this.#deps.timeoutMs,
      );
      const answer = (body as { active?: unknown } | null)?.active;
      if (typeof answer !== 'boolean')
        throw new RemoteError(`POST ${this.#url}: no boolean "active"`);
      active = answer;
    } catch (error) {
      emit?.({
        type: 'introspection_error',
        message: error instanceof Error ? error.message : 'unknown error',
      });
      throw new VerifierError('unavailable', { detail: 'introspection failed', cause: error });
    }
    emit?.({ type: 'introspection', active, durationMs: now() - started });
    this.#answers.set(token, { active, until: Math.min(now() + this.#cacheMs, expSeconds * 1000) });
    return active;
  }
}
