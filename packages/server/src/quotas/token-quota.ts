/**
 * Per-client token quotas (issue 22): `N/PERIOD[,N/PERIOD…]`, PERIOD one of `s`, `min`, `h`,
 * `d`, e.g. `10/s,5000/d`. Each part is a fixed window aligned to the epoch (shared-state/),
 * so every process and instance agrees on when a window starts and ends.
 */

/** The periods a quota may use and their length in seconds. */
export const quotaPeriods = { s: 1, min: 60, h: 3600, d: 86400 } as const;
export type QuotaPeriod = keyof typeof quotaPeriods;

export interface QuotaWindow {
  /** The period as written: `s`, `min`, `h` or `d`. */
  period: QuotaPeriod;
  /** Tokens allowed per window. */
  limit: number;
  windowSeconds: number;
}

export interface TokenQuota {
  /** The canonical text (`10/s,5000/d`): what the store, CLI and admin API show. */
  text: string;
  /** Shortest period first. */
  windows: QuotaWindow[];
}

/** A quota that cannot be parsed; the message says what is wrong (safe to show). */
export class InvalidQuota extends Error {
  override name = 'InvalidQuota';
}

const part = /^([1-9]\d{0,11})\/(s|min|h|d)$/;

/**
 * Parses `10/s,5000/d`. Throws {@link InvalidQuota} naming the faulty part: an empty text,
 * a zero or non-integer count, an unknown period, or the same period twice.
 */
export function parseTokenQuota(text: string): TokenQuota {
  const parts = text.split(',').map((entry) => entry.trim());
  const windows: QuotaWindow[] = [];
  for (const entry of parts) {
    const match = part.exec(entry);
    if (!match) {
      throw new InvalidQuota(
        `token quota '${text}': '${entry}' is not N/PERIOD (N a positive integer, PERIOD s, min, h or d)`,
      );
    }
    const period = match[2] as QuotaPeriod;
    if (windows.some((window) => window.period === period))
      throw new InvalidQuota(`token quota '${text}': period ${period} given twice`);
    windows.push({ period, limit: Number(match[1]), windowSeconds: quotaPeriods[period] });
  }
  windows.sort((a, b) => a.windowSeconds - b.windowSeconds);
  return {
    text: windows.map((window) => `${window.limit}/${window.period}`).join(','),
    windows,
  };
}

/** The canonical text of a quota, or throws {@link InvalidQuota}. */
export const canonicalQuota = (text: string): string => parseTokenQuota(text).text;
