import { windowAt, type SharedState, type WindowCount } from '../shared-state/shared-state.js';

/** The namespace quota counts live under in the shared state. */
export const quotaNamespace = 'token-quota';

/** What a lease asked of the shared count got. */
export interface Lease {
  /** Tokens this process may issue in the window (0: the quota is used up). */
  granted: number;
  /** The shared count after the lease (tokens issued or leased by every process). */
  count: number;
  /** Epoch seconds: the window's start and end. */
  windowStart: number;
  resetsAt: number;
}

/**
 * Where a process leases allowances from: the shared state itself (one process, the primary
 * of `serve --workers N`, or any instance on PostgreSQL/Redis), or, in a worker, its primary
 * (process/shared-quotas.ts).
 */
export interface QuotaCounter {
  /**
   * Leases up to `want` tokens of `clientId`'s window of `windowSeconds` whose limit is
   * `limit`: atomically adds `want` to the shared count, keeps what fits under the limit and
   * returns the rest at once, so the count is always what has been granted.
   */
  lease(clientId: string, windowSeconds: number, limit: number, want: number): Promise<Lease>;
  /** Returns `count` unused tokens of the window that started at `windowStart`. */
  giveBack(clientId: string, windowSeconds: number, windowStart: number, count: number): void;
  /** The window's shared count, for usage reports. */
  count(clientId: string, windowSeconds: number): Promise<WindowCount>;
}

/** A {@link QuotaCounter} over a {@link SharedState} (memory, PostgreSQL or Redis). */
export class SharedQuotaCounter implements QuotaCounter {
  constructor(
    private readonly state: SharedState,
    private readonly nowSeconds: () => number,
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  async lease(
    clientId: string,
    windowSeconds: number,
    limit: number,
    want: number,
  ): Promise<Lease> {
    const after = await this.state.increment(quotaNamespace, clientId, windowSeconds, want);
    const count = Number(after.count);
    const before = count - want;
    const granted = Math.max(0, Math.min(want, limit - before));
    if (granted < want) this.#subtract(clientId, windowSeconds, after.windowStart, want - granted);
    return {
      granted,
      count: count - (want - granted),
      windowStart: after.windowStart,
      resetsAt: after.resetsAt,
    };
  }

  giveBack(clientId: string, windowSeconds: number, windowStart: number, count: number): void {
    if (count > 0) this.#subtract(clientId, windowSeconds, windowStart, count);
  }

  async count(clientId: string, windowSeconds: number): Promise<WindowCount> {
    const current = await this.state.count(quotaNamespace, clientId, windowSeconds);
    return { ...current, count: Math.max(0, Number(current.count)) };
  }

  #subtract(clientId: string, windowSeconds: number, windowStart: number, count: number): void {
    // Only into the window the tokens came from: once it has ended they count for nothing.
    // (A window ending between this check and the write gives the next one up to `count`
    // tokens too many: within the documented tolerance.)
    if (windowAt(this.nowSeconds(), windowSeconds).start !== windowStart) return;
    this.state.increment(quotaNamespace, clientId, windowSeconds, -count).catch(this.onError);
  }
}
