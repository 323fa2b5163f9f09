import { basicAuthorization, formUrlEncode } from '@tessera/protocol';
import { VerifierError } from '../errors.js';
import type { VerifierEventListener } from '../events.js';
import type { IntrospectionOptions } from '../options.js';
import { LruCache } from '../token-cache.js';
import { RemoteError, fetchJson, fetchText } from '../lib/http.js';

export interface IntrospectorDeps {
  fetch: typeof fetch;
  now: () => number;
  timeoutMs: number;
  cacheSize: number;
  emit: VerifierEventListener | undefined;
  /**
   * Verifies an RFC 9701 response JWT's signature and `typ` with the issuer's keys and returns
   * its payload; needed when `requireSignedResponse` is set.
   */
  verifySigned?: (jwt: string) => Promise<Record<string, unknown>>;
  issuer?: string;
}

const signedMediaType = 'application/token-introspection+jwt';

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
  readonly #signed: boolean;
  readonly #clientId: string;

  constructor(options: IntrospectionOptions, cacheSeconds: number, deps: IntrospectorDeps) {
    this.#url = options.url;
    this.#signed = options.requireSignedResponse === true;
    this.#clientId = options.clientId;
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
      const init = {
        method: 'POST',
        headers: {
          authorization: this.#authorization,
          'content-type': 'application/x-www-form-urlencoded',
          accept: this.#signed ? signedMediaType : 'application/json',
        },
        body: `token=${formUrlEncode(token)}&token_type_hint=access_token`,
      };
      const body = this.#signed
        ? await this.#askSigned(init)
        : (await fetchJson(this.#deps.fetch, this.#url, init, this.#deps.timeoutMs)).body;
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

  /** RFC 9701 §5: the answer as a signed JWT, checked before `token_introspection` is read. */
  async #askSigned(init: RequestInit): Promise<unknown> {
    const { verifySigned, issuer } = this.#deps;
    if (verifySigned === undefined || issuer === undefined)
      throw new RemoteError('signed introspection needs the issuer keys');
    const response = await fetchText(this.#deps.fetch, this.#url, init, this.#deps.timeoutMs);
    const type = response.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
    if (type !== signedMediaType)
      throw new RemoteError(`POST ${this.#url}: answer is ${type ?? 'untyped'}, not a signed JWT`);
    let payload: Record<string, unknown>;
    try {
      payload = await verifySigned(response.text.trim());
    } catch (cause) {
      throw new RemoteError(`POST ${this.#url}: signed answer does not verify`, { cause });
    }
    const aud = ([] as unknown[]).concat(payload.aud);
    if (payload.iss !== issuer || !aud.includes(this.#clientId) || typeof payload.iat !== 'number')
      throw new RemoteError(`POST ${this.#url}: signed answer has the wrong iss, aud or iat`);
    const answer = payload.token_introspection;
    if (typeof answer !== 'object' || answer === null)
      throw new RemoteError(`POST ${this.#url}: signed answer lacks token_introspection`);
    return answer;
  }
}
