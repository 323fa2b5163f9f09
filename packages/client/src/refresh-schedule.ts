/** When a token is renewed and until when it may be handed out, in ms since the epoch. */
export interface TokenSchedule {
  /** When the token was requested (a conservative start of its lifetime). */
  obtainedAt: number;
  /** `obtainedAt + expires_in`. */
  expiresAt: number;
  /** From here on the cached token is still served, while one background renewal runs. */
  refreshAt: number;
  /** After this (`expiresAt - skew`) the token is never handed out again. */
  usableUntil: number;
}

export interface SchedulePolicy {
  skewMs: number;
  jitterMs: number;
  /** Skew and jitter are each capped at this fraction of the lifetime. */
  maxFraction: number;
}

/**
 * Plans a token's renewal: `usableUntil = expiresAt - skew` and
 * `refreshAt = usableUntil - random() * jitter`. Skew and jitter are each capped at a
 * fraction of the lifetime, so a 5-second token is still used for at least half its life
 * instead of being "expired" on arrival. Lifetime is counted from the request, not the
 * response, so network latency only makes us renew earlier.
 */
export function scheduleToken(
  obtainedAt: number,
  lifetimeMs: number,
  policy: SchedulePolicy,
  random: () => number,
): TokenSchedule {
  const lifetime = Math.max(0, lifetimeMs);
  const cap = lifetime * policy.maxFraction;
  const skew = Math.min(policy.skewMs, cap);
  const jitter = Math.min(policy.jitterMs, cap) * clamp01(random());
  const expiresAt = obtainedAt + lifetime;
  const usableUntil = expiresAt - skew;
  return { obtainedAt, expiresAt, usableUntil, refreshAt: usableUntil - jitter };
}

function clamp01(value: number): number {
  return Number.isFinite(value) ? Math.min(Math.max(value, 0), 1) : 0;
}
