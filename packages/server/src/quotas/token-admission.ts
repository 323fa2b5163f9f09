import { OAuthError } from '@tessera/protocol';
import type { Logger } from 'pino';
import type { ClientRecord } from '../store/contract.js';
import { isRefusal, type QuotaGate, type QuotaRefusal, type QuotaTicket } from './quota-gate.js';
import { parseTokenQuota, type TokenQuota } from './token-quota.js';

/**
 * The token endpoint's use of quotas (issue 22): which quota a client has (its own, else the
 * server's `TESSERA_TOKEN_QUOTA`), admitting a request against it, and the 429 past it.
 * Admission comes after authentication and the scope/audience checks, so failed and refused
 * requests never count; a request admitted and then failing gives its token back.
 */
export class TokenAdmission {
  readonly #parsed = new Map<string, TokenQuota>();
  readonly #defaultQuota: TokenQuota | undefined;

  constructor(
    readonly gate: QuotaGate,
    private readonly options: {
      defaultQuota: string | undefined;
      mode: 'enforce' | 'observe';
      logger: Logger;
      nowSeconds: () => number;
      /** Counts a refusal (or, observing, a request that would have been refused). */
      onRefusal: (mode: 'enforce' | 'observe') => void;
    },
  ) {
    this.#defaultQuota =
      options.defaultQuota === undefined ? undefined : parseTokenQuota(options.defaultQuota);
  }

  /** The quota `client` is held to, or undefined. */
  quotaOf(client: ClientRecord): TokenQuota | undefined {
    const text = client.tokenQuota;
    if (text === null || text === undefined) return this.#defaultQuota;
    let quota = this.#parsed.get(text);
    if (quota === undefined) {
      // Stored quotas were checked when written; one that no longer parses counts as none.
      try {
        quota = parseTokenQuota(text);
      } catch {
        return this.#defaultQuota;
      }
      if (this.#parsed.size > 10_000) this.#parsed.clear();
      this.#parsed.set(text, quota);
    }
    return quota;
  }

  /**
   * Admits one token for `client`: a ticket to give back if the request fails, undefined when
   * there is nothing to give back (no quota, or observed past it); throws the 429 when
   * enforcing a used-up quota. Synchronous while this process holds allowance.
   */
  admit(client: ClientRecord): QuotaTicket | undefined | Promise<QuotaTicket | undefined> {
    const quota = this.quotaOf(client);
    if (quota === undefined) return undefined;
    const result = this.gate.admit(client.clientId, quota);
    if (result instanceof Promise)
      return result.then((settled) => this.#settle(client, quota, settled));
    return this.#settle(client, quota, result);
  }

  refund(ticket: QuotaTicket | undefined): void {
    if (ticket !== undefined) this.gate.refund(ticket);
  }

  #settle(
    client: ClientRecord,
    quota: TokenQuota,
    result: QuotaTicket | QuotaRefusal,
  ): QuotaTicket | undefined {
    if (!isRefusal(result)) return result;
    this.options.onRefusal(this.options.mode);
    const { window } = result;
    if (this.options.mode === 'observe') {
      if (this.gate.firstReport(client.clientId, window)) {
        this.options.logger.warn(
          {
            client_id: client.clientId,
            token_quota: quota.text,
            period: window.period,
            limit: window.limit,
            mode: 'observe',
          },
          'token quota exceeded; not refused (observe mode)',
        );
      }
      return undefined;
    }
    throw quotaExceeded(quota, result, this.options.nowSeconds());
  }
}

/** `"tokens-per-min"`: a policy's name in the RateLimit fields. */
const policyName = (period: string) => `"tokens-per-${period}"`;

/**
 * The 429 past a quota: RFC 6749's `temporarily_unavailable` (a preset with an error shape
 * reshapes the body; status and headers stay), `Retry-After` (RFC 9110 §10.2.3) and the IETF
 * httpapi RateLimit fields (draft-ietf-httpapi-ratelimit-headers: `RateLimit-Policy` lists
 * every window as `"name";q=limit;w=seconds`, `RateLimit` the one used up as
 * `"name";r=0;t=seconds-until-it-resets`).
 */
export function quotaExceeded(quota: TokenQuota, refusal: QuotaRefusal, now: number): OAuthError {
  const wait = Math.max(1, refusal.resetsAt - now);
  return new OAuthError(
    'temporarily_unavailable',
    `The client's token quota (${refusal.window.limit} per ${refusal.window.period}) is used up; retry after ${wait} s`,
    {
      status: 429,
      headers: {
        'retry-after': String(wait),
        'ratelimit-policy': quota.windows
          .map(
            (window) => `${policyName(window.period)};q=${window.limit};w=${window.windowSeconds}`,
          )
          .join(', '),
        ratelimit: `${policyName(refusal.window.period)};r=0;t=${wait}`,
      },
    },
  );
}
