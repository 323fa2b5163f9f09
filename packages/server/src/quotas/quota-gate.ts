import { LruMap } from '../lib/lru.js';
import { windowAt } from '../shared-state/shared-state.js';
import type { QuotaCounter } from './quota-counter.js';
import type { QuotaWindow, TokenQuota } from './token-quota.js';

/**
 * One window's allowance held by this process: tokens leased from the shared count and not
 * issued yet. The token path spends it synchronously; only an empty allowance asks the
 * counter (a database or Redis round trip, or a message to the primary).
 */
interface Allowance {
  windowStart: number;
  resetsAt: number;
  /** Leased and not yet spent. */
  left: number;
  /** The shared count as last seen (everyone's grants); sizes the next lease. */
  seen: number;
  /** Epoch ms of the last spend: an allowance idle for a second goes back (see sweep). */
  usedAt: number;
  /** The quota was exhausted in this window: refused locally until it ends or a sweep. */
  exhausted: boolean;
  /** In observe mode, the window's line has been logged. */
  reported: boolean;
}

/** A request past a quota: which window, and what to tell the client. */
export interface QuotaRefusal {
  window: QuotaWindow;
  /** Epoch seconds. */
  resetsAt: number;
}

/** What admitting a request spent: given back if the request then fails. */
export interface QuotaTicket {
  allowances: Allowance[];
}

/**
 * How many tokens to lease at once: a block of 1/16 of what is left in the window, at most
 * 256, so a quota far above the load asks the counter about once per 256 tokens (and the
 * token path awaits nothing in between), and near the limit every token asks (block 1),
 * which is what keeps every process's unspent allowance small when the quota runs out.
 */
export function leaseSize(limit: number, seen: number): number {
  return Math.max(1, Math.min(256, Math.floor((limit - seen) / 16)));
}

/**
 * Per-client token quotas in one process (issue 22). Each window is counted by the shared
 * {@link QuotaCounter} (every process of every instance together); this process holds a small
 * leased allowance per (client, window) and spends it without waiting on anything.
 *
 * Why the total holds: the shared count only ever grows by what it grants (a lease adds
 * `want`, keeps what fits under the limit and subtracts the rest), so no more than `limit`
 * tokens are granted per window over all processes. Unused allowances go back after a second
 * idle, and blocks shrink to one token near the limit, so a client asking for more gets its
 * `limit` too, at most a second late when another process held the last tokens.
 */
export class QuotaGate {
  readonly #allowances: LruMap<string, Allowance>;

  constructor(
    private readonly counter: QuotaCounter,
    private readonly options: {
      /** True when `counter` is this process's memory: nobody else to give allowances back to. */
      local: boolean;
      /** The clock windows are told by (epoch seconds), the shared state's. */
      nowSeconds: () => number;
      nowMs?: () => number;
      capacity?: number;
      /** Called when the counter fails (the request is then counted by `fallback`). */
      onError?: (error: unknown) => void;
      /** This process's own count, used while `counter` cannot be reached. */
      fallback?: QuotaCounter;
    },
  ) {
    this.#allowances = new LruMap(options.capacity ?? 100_000);
  }

  #now(): number {
    return (this.options.nowMs ?? Date.now)();
  }

  /**
   * Spends one token of every window of `quota`: a ticket when all had one, else the refusal
   * of the window that had none (after giving back what the others spent). Synchronous
   * (a plain value) while every window has an allowance left.
   */
  admit(
    clientId: string,
    quota: TokenQuota,
  ): QuotaTicket | QuotaRefusal | Promise<QuotaTicket | QuotaRefusal> {
    const now = this.#now();
    const spent: Allowance[] = [];
    for (let i = 0; i < quota.windows.length; i++) {
      const window = quota.windows[i]!;
      const allowance = this.#current(clientId, window);
      if (allowance !== undefined && allowance.left > 0) {
        allowance.left -= 1;
        allowance.usedAt = now;
        spent.push(allowance);
        continue;
      }
      if (allowance?.exhausted) {
        this.#refund(spent);
        return { window, resetsAt: allowance.resetsAt };
      }
      return this.#admitSlowly(clientId, quota, i, spent, now);
    }
    return { allowances: spent };
  }

  async #admitSlowly(
    clientId: string,
    quota: TokenQuota,
    from: number,
    spent: Allowance[],
    now: number,
  ): Promise<QuotaTicket | QuotaRefusal> {
    for (let i = from; i < quota.windows.length; i++) {
      const window = quota.windows[i]!;
      let allowance = this.#current(clientId, window);
      if (allowance === undefined || allowance.left === 0) {
        if (allowance?.exhausted) {
          this.#refund(spent);
          return { window, resetsAt: allowance.resetsAt };
        }
        const want = leaseSize(window.limit, allowance?.seen ?? 0);
        let lease;
        try {
          lease = await this.counter.lease(clientId, window.windowSeconds, window.limit, want);
        } catch (error) {
          this.options.onError?.(error);
          // The shared count is unreachable: count in this process alone until it is back
          // (each process then allows up to N), rather than refuse everyone or count nothing.
          const alone = await this.options.fallback
            ?.lease(clientId, window.windowSeconds, window.limit, 1)
            .catch(() => undefined);
          if (alone?.granted === 0) {
            this.#refund(spent);
            return { window, resetsAt: alone.resetsAt };
          }
          continue;
        }
        allowance = this.#current(clientId, window);
        if (allowance === undefined || allowance.windowStart !== lease.windowStart) {
          allowance = {
            windowStart: lease.windowStart,
            resetsAt: lease.resetsAt,
            left: 0,
            seen: 0,
            usedAt: now,
            exhausted: false,
            reported: false,
          };
          this.#allowances.set(key(clientId, window), allowance);
        }
        allowance.left += lease.granted;
        allowance.seen = lease.count;
        if (allowance.left === 0) {
          allowance.exhausted = true;
          this.#refund(spent);
          return { window, resetsAt: allowance.resetsAt };
        }
      }
      allowance.left -= 1;
      allowance.usedAt = now;
      spent.push(allowance);
    }
    return { allowances: spent };
  }

  /** A request admitted and then failed (signing refused, say): its tokens are not counted. */
  refund(ticket: QuotaTicket): void {
    this.#refund(ticket.allowances);
  }

  #refund(spent: Allowance[]): void {
    for (const allowance of spent) allowance.left += 1;
  }

  /** Marks a window's observe-mode line as written; true the first time per window. */
  firstReport(clientId: string, window: QuotaWindow): boolean {
    const allowance = this.#current(clientId, window);
    if (allowance === undefined || allowance.reported) return allowance === undefined;
    allowance.reported = true;
    return true;
  }

  /**
   * Each window's use: the shared count less what this process holds unspent. (Another
   * process's unspent lease still shows as used until it goes back, within a second idle.)
   */
  async usage(
    clientId: string,
    quota: TokenQuota,
  ): Promise<Array<{ window: QuotaWindow; used: number; resetsAt: number }>> {
    return Promise.all(
      quota.windows.map(async (window) => {
        const counted = await this.counter.count(clientId, window.windowSeconds);
        const held = this.#current(clientId, window)?.left ?? 0;
        return {
          window,
          used: Math.min(window.limit, Math.max(0, counted.count - held)),
          resetsAt: counted.resetsAt,
        };
      }),
    );
  }

  /**
   * Gives idle allowances back to the shared count (idle a second or more), so the tokens a
   * process leased and no longer needs can go to the processes still asked; and forgets
   * exhaustion so a sweep re-asks (another process may have given tokens back).
   */
  sweep(): void {
    const now = this.#now();
    for (const [id, allowance] of [...this.#allowances.entries()]) {
      const [clientId, seconds] = splitKey(id);
      if (allowance.resetsAt <= this.options.nowSeconds()) {
        this.#allowances.delete(id);
        continue;
      }
      allowance.exhausted = false;
      if (allowance.left > 0 && now - allowance.usedAt >= 1000 && !this.options.local) {
        this.counter.giveBack(clientId, seconds, allowance.windowStart, allowance.left);
        allowance.left = 0;
      }
    }
  }

  #current(clientId: string, window: QuotaWindow): Allowance | undefined {
    const allowance = this.#allowances.get(key(clientId, window));
    if (allowance === undefined) return undefined;
    if (allowance.windowStart === windowAt(this.options.nowSeconds(), window.windowSeconds).start)
      return allowance;
    return undefined;
  }
}

const key = (clientId: string, window: QuotaWindow) => `${window.windowSeconds}\u0000${clientId}`;
const splitKey = (id: string): [string, number] => {
  const at = id.indexOf('\u0000');
  return [id.slice(at + 1), Number(id.slice(0, at))];
};

export const isRefusal = (result: QuotaTicket | QuotaRefusal): result is QuotaRefusal =>
  'window' in result;
