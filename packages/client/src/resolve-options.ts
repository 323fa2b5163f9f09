import { clientAssertion } from './client-assertion.js';
import { defaults } from './defaults.js';
import { rfcDialect } from './dialect.js';
import { createDpopProver, type DpopProver } from './dpop.js';
import type { Emitter, TokenClientEventMap } from './events.js';
import { secretRedactor } from './lib/redact.js';
import { importSigningKey, isCryptoKey, type SigningKey } from './lib/signing-key.js';
import { sleep as realSleep } from './lib/sleep.js';
import type { NegativeCachePolicy } from './negative-cache.js';
import type { TokenClientOptions } from './options.js';
import type { SchedulePolicy } from './refresh-schedule.js';
import type { TokenRequestContext } from './token-request.js';

/** Options with every default applied (see `defaults.ts`). */
export interface ResolvedOptions {
  ctx: TokenRequestContext;
  schedule: SchedulePolicy;
  negative: NegativeCachePolicy | undefined;
  /** Longest a key is blocked for, including for `Retry-After`. */
  blockCeilingMs: number;
  lockTtlMs: number;
  lockPollIntervalMs: number;
}

/**
 * @param assertionAudience the issuer, once known (it may need discovery): the `aud` of
 *   `private_key_jwt` assertions.
 */
export function resolveOptions(
  options: TokenClientOptions,
  signal: AbortSignal,
  events: Emitter<TokenClientEventMap>,
  assertionAudience: () => Promise<string>,
): ResolvedOptions {
  const { clientId } = options;
  const clientSecret = options.clientSecret ?? '';
  const authMethod = options.authMethod ?? 'client_secret_basic';
  const fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const now = options.now ?? Date.now;
  // Keys are imported once, on first use; they live only in these closures.
  const { privateKey, dpop } = options;
  let signingKey: Promise<SigningKey> | undefined;
  const kid =
    options.kid ??
    (privateKey !== undefined && !isCryptoKey(privateKey)
      ? stringOr((privateKey as { kid?: unknown }).kid)
      : undefined);
  let prover: Promise<DpopProver> | undefined;
  const neg = options.negativeCache;
  const negative =
    neg === false
      ? undefined
      : {
          afterFailures: neg?.afterFailures ?? defaults.negativeCacheAfterFailures,
          ms: (neg?.seconds ?? defaults.negativeCacheSeconds) * 1000,
          maxMs: (neg?.maxSeconds ?? defaults.negativeCacheMaxSeconds) * 1000,
        };
  return {
    ctx: {
      clientId,
      clientSecret,
      authMethod,
      clientAssertion:
        authMethod === 'private_key_jwt' && privateKey !== undefined
          ? async () => {
              signingKey ??= importSigningKey(privateKey, 'privateKey', options.signingAlg);
              return clientAssertion(
                await signingKey,
                kid,
                clientId,
                await assertionAudience(),
                now(),
              );
            }
          : undefined,
      dpop: dpop === undefined ? undefined : () => (prover ??= createDpopProver(dpop, now)),
      dialect: { ...rfcDialect, ...options.dialect },
      retry: {
        maxRetries: options.retry?.maxRetries ?? defaults.maxRetries,
        baseDelayMs: options.retry?.baseDelayMs ?? defaults.retryBaseDelayMs,
        maxDelayMs: options.retry?.maxDelayMs ?? defaults.retryMaxDelayMs,
      },
      timeoutMs: options.timeoutMs ?? defaults.timeoutMs,
      defaultExpiresInSeconds: options.defaultExpiresInSeconds ?? defaults.defaultExpiresInSeconds,
      fetch: fetchImpl,
      now,
      random: options.random ?? Math.random,
      sleep: options.sleep ?? realSleep,
      signal,
      events,
      redact: secretRedactor(clientId, clientSecret),
    },
    schedule: {
      skewMs: (options.refreshSkewSeconds ?? defaults.refreshSkewSeconds) * 1000,
      jitterMs: (options.refreshJitterSeconds ?? defaults.refreshJitterSeconds) * 1000,
      maxFraction: defaults.maxSkewFraction,
    },
    negative,
    blockCeilingMs: negative?.maxMs ?? defaults.negativeCacheMaxSeconds * 1000,
    lockTtlMs: options.lock?.ttlMs ?? defaults.lockTtlMs,
    lockPollIntervalMs: options.lock?.pollIntervalMs ?? defaults.lockPollIntervalMs,
  };
}

function stringOr(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
