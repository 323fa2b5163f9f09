import {
  formatScope,
  OAuthError,
  parseScope,
  type AccessTokenClaims,
  type OAuthErrorCode,
} from '@tessera/protocol';
import { createHmac } from 'node:crypto';
import { SpanKind } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { TokenHookSettings } from '../config.js';
import { LruMap } from '../lib/lru.js';
import type { CountTable } from '../metrics/count-table.js';
import type { ClientClaims, ClientRecord } from '../store/contract.js';
import { clientView } from '../views/record-views.js';
import { inChildSpan } from '../telemetry/request-spans.js';
import { activeTracer } from '../telemetry/tracer-state.js';
import { callHook, hookAgent, HookCallError, type HookFailureReason } from './hook-call.js';

/** Largest hook answer read (bytes); a longer one is a failure. */
export const maxHookAnswerBytes = 64 * 1024;
/** Most cached answers per process, and the longest a hook may ask one to be reused (s). */
const cacheCapacity = 10_000;
const maxCacheSeconds = 3600;

/** What the hook is asked about: one token about to be signed. */
export interface HookQuestion {
  client: ClientRecord;
  scope: readonly string[];
  /** The granted scope as the token's `scope` claim spells it (undefined: none). */
  scopeText: string | undefined;
  /** The granted audience as the token's `aud` claim holds it. */
  aud: string | string[];
  binding: { jkt?: string; 'x5t#S256'?: string } | undefined;
  sourceAddress: string | undefined;
  requestId: string;
  /** The tenant the token is for (issue 21), sent as the body's `tenant`. */
  tenant: string;
}

/** The hook's changes, checked: never a wider scope or audience, never a longer lifetime. */
export interface HookChanges {
  claims?: ClientClaims;
  scope?: string[];
  audience?: string[];
  expiresIn?: number;
}

/** What a token request does with the hook: apply its changes, or go on without them. */
export type HookOutcome = HookChanges | undefined;

/**
 * The token hook (issue 19): asked before each token is signed, over a pooled keep-alive
 * connection, with a signed body (`Tessera-Signature: t=<unix>,v1=<HMAC-SHA256 hex of
 * "<t>.<body>">`). Its 200 JSON answer may add claims, narrow scope and audience, shorten the
 * lifetime, deny, and allow reuse for `cache_seconds`; every failure follows the policy.
 */
export class TokenHook {
  readonly #settings: TokenHookSettings;
  /** Undefined: a tenant's own hook without TESSERA_TOKEN_HOOK_SECRET, refusing with 503. */
  readonly #secret: string | undefined;
  readonly #agent = hookAgent();
  readonly #cache = new LruMap<string, { changes: HookChanges; until: number }>(cacheCapacity);
  /** The call under way per key, so concurrent requests can reuse a cacheable answer. */
  readonly #inFlight = new Map<string, Promise<HookOutcome>>();
  readonly #failures: CountTable;
  readonly #logger: Logger;
  readonly #nowSeconds: () => number;
  /** Calls made to the hook (tests and the bench read it). */
  calls = 0;

  constructor(
    settings: TokenHookSettings,
    secret: string | undefined,
    deps: { failures: CountTable; logger: Logger; nowSeconds: () => number },
  ) {
    this.#settings = settings;
    this.#secret = secret;
    this.#failures = deps.failures;
    this.#logger = deps.logger;
    this.#nowSeconds = deps.nowSeconds;
  }

  /** Longest wait for one answer (ms): how long a request may still hold this hook. */
  get timeoutMs(): number {
    return this.#settings.timeoutMs;
  }

  /**
   * The hook's changes for this token, `undefined` to issue it unchanged (allow policy), or an
   * OAuthError thrown (a denial, or deny policy). A cached answer comes back without a promise.
   */
  ask(question: HookQuestion): HookOutcome | Promise<HookOutcome> {
    if (this.#secret === undefined) return this.#unsigned(question);
    // The hit path allocates only this key: scope and audience as the token spells them.
    const { aud } = question;
    const audienceKey = typeof aud === 'string' ? aud : aud.join(' ');
    const key = `${question.client.clientId}\n${question.scopeText ?? ''}\n${audienceKey}`;
    const cached = this.#cached(key);
    if (cached !== undefined) return cached;
    const audience = typeof aud === 'string' ? [aud] : aud;
    // A call for the same key is under way: its answer may be reusable, so wait for it first.
    const pending = this.#inFlight.get(key);
    if (pending !== undefined) {
      const again = () => this.#cached(key) ?? this.#call(question, audience, key);
      return pending.then(again, again);
    }
    const call = this.#call(question, audience, key);
    this.#inFlight.set(key, call);
    const done = () => {
      if (this.#inFlight.get(key) === call) this.#inFlight.delete(key);
    };
    call.then(done, done);
    return call;
  }

  #cached(key: string): HookChanges | undefined {
    const cached = this.#cache.get(key);
    if (cached === undefined) return undefined;
    if (cached.until > this.#nowSeconds()) return cached.changes;
    this.#cache.delete(key);
    return undefined;
  }

  close(): Promise<void> {
    return this.#agent.close();
  }

  /**
   * A tenant's own hook is signed with a key derived from TESSERA_TOKEN_HOOK_SECRET; without
   * it no call can be signed, so the token is refused (503, whatever the failure mode: the
   * hook was not asked) and the operator told, rather than the process stopped.
   */
  #unsigned(question: HookQuestion): never {
    this.#logger.error(
      { reqId: question.requestId, tenant: question.tenant, client_id: question.client.clientId },
      'tenant token hook without TESSERA_TOKEN_HOOK_SECRET: its tokens are refused',
    );
    throw new OAuthError('temporarily_unavailable', 'The token hook is unavailable; try again', {
      status: 503,
      detail: 'token hook secret missing',
    });
  }

  async #call(
    question: HookQuestion,
    audience: readonly string[],
    key: string,
  ): Promise<HookOutcome> {
    const { secrets: _secrets, ...client } = clientView(question.client);
    const body = JSON.stringify({
      client: { ...client, claims: question.client.claims },
      scope: question.scopeText ?? '',
      audience,
      binding: question.binding ?? null,
      source_address: question.sourceAddress ?? null,
      request_id: question.requestId,
      tenant: question.tenant,
    });
    const t = this.#nowSeconds();
    const v1 = createHmac('sha256', this.#secret!).update(`${t}.${body}`).digest('hex');
    this.calls += 1;
    let answer: { status: number; text: string };
    try {
      const call = () =>
        callHook(
          this.#settings.url,
          body,
          { 'tessera-signature': `t=${t},v1=${v1}`, 'x-request-id': question.requestId },
          {
            timeoutMs: this.#settings.timeoutMs,
            maxBytes: maxHookAnswerBytes,
            dispatcher: this.#agent,
          },
        );
      // A CLIENT span under the token request's when tracing is on (the host only: a URL's
      // path or query may carry a credential).
      answer = await (activeTracer === undefined
        ? call()
        : inChildSpan(
            'token hook',
            SpanKind.CLIENT,
            { 'server.address': new URL(this.#settings.url).host },
            call,
          ));
      if (answer.status !== 200)
        throw new HookCallError('status', `the hook answered ${answer.status}`);
    } catch (error) {
      if (error instanceof HookCallError)
        return this.#failed(error.reason, error.message, question);
      throw error;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(answer.text);
    } catch {
      return this.#failed('malformed', 'the answer is not JSON', question);
    }
    const read = readAnswer(parsed, question.scope, audience);
    if (typeof read === 'string') return this.#failed('malformed', read, question);
    if ('deny' in read) {
      this.#logger.info(
        {
          reqId: question.requestId,
          tenant: question.tenant,
          client_id: question.client.clientId,
          error: read.deny.error,
        },
        'token hook denied the token',
      );
      throw read.deny;
    }
    if (read.cacheSeconds > 0)
      this.#cache.set(key, { changes: read.changes, until: t + read.cacheSeconds });
    return read.changes;
  }

  #failed(reason: HookFailureReason, detail: string, question: HookQuestion): HookOutcome {
    this.#failures.inc(reason);
    this.#logger.warn(
      {
        reqId: question.requestId,
        tenant: question.tenant,
        client_id: question.client.clientId,
        reason,
        detail,
        policy: this.#settings.failure,
      },
      'token hook failed',
    );
    if (this.#settings.failure === 'allow') return undefined;
    throw new OAuthError('temporarily_unavailable', 'The token hook is unavailable; try again', {
      status: 503,
      detail: `token hook ${reason}: ${detail}`,
    });
  }
}

const errorCode = /^[\x20-\x21\x23-\x5b\x5d-\x7e]{1,64}$/;
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Checks a hook answer against the contract: its changes and cache time, a denial, or what
 * is wrong with it (a string). Widening scope or audience is wrong, not ignored.
 */
export function readAnswer(
  answer: unknown,
  granted: readonly string[],
  audience: readonly string[],
): { changes: HookChanges; cacheSeconds: number } | { deny: OAuthError } | string {
  if (!isObject(answer)) return 'the answer is not a JSON object';
  if (answer.error !== undefined) {
    if (typeof answer.error !== 'string' || !errorCode.test(answer.error))
      return 'error is not an RFC 6749 error code';
    const text = answer.error_description;
    const description = typeof text === 'string' ? text.slice(0, 256) : 'Refused by policy';
    return {
      deny: new OAuthError(answer.error as OAuthErrorCode, description, {
        status: answer.error === 'invalid_client' ? 401 : 400,
        detail: 'denied by the token hook',
      }),
    };
  }
  const changes: HookChanges = {};
  if (answer.claims !== undefined) {
    if (!isObject(answer.claims)) return 'claims is not an object';
    changes.claims = answer.claims;
  }
  if (answer.scope !== undefined) {
    const scope = typeof answer.scope === 'string' ? parseScope(answer.scope) : undefined;
    if (scope === undefined) return 'scope is not a space-delimited string';
    if (!scope.every((name) => granted.includes(name))) return 'scope is wider than granted';
    changes.scope = scope;
  }
  if (answer.audience !== undefined) {
    const list = ([] as unknown[]).concat(answer.audience);
    if (list.length === 0 || !list.every((item) => typeof item === 'string'))
      return 'audience is not a non-empty list of strings';
    if (!list.every((item) => audience.includes(item as string)))
      return 'audience is wider than granted';
    changes.audience = list as string[];
  }
  if (answer.expires_in !== undefined) {
    const value = answer.expires_in;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
      return 'expires_in is not a positive integer';
    changes.expiresIn = value;
  }
  let cacheSeconds = 0;
  if (answer.cache_seconds !== undefined) {
    const value = answer.cache_seconds;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
      return 'cache_seconds is not a whole number';
    cacheSeconds = Math.min(value, maxCacheSeconds);
  }
  return { changes, cacheSeconds };
}

/** Applies checked hook changes to a grant about to be signed (scope, audience, lifetime). */
export function applyHookChanges(
  grant: { claims: AccessTokenClaims; expiresIn: number; scope: string[] },
  changes: HookChanges,
): void {
  const { claims } = grant;
  if (changes.scope !== undefined) {
    grant.scope = changes.scope;
    if (changes.scope.length > 0) claims.scope = formatScope(changes.scope);
    else delete claims.scope;
  }
  if (changes.audience !== undefined)
    claims.aud = changes.audience.length === 1 ? changes.audience[0]! : changes.audience;
  if (changes.expiresIn !== undefined && changes.expiresIn < grant.expiresIn) {
    grant.expiresIn = changes.expiresIn;
    claims.exp = claims.iat + changes.expiresIn;
  }
}
