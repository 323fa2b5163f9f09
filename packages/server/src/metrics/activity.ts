import { LruMap } from '../lib/lru.js';

/** The console's chart window: per-second counts over the last 15 minutes. */
export const activityWindowSeconds = 900;
const hourSlots = 24;

/**
 * Per-second counts in a ring of preallocated slots, each stamped with the second it holds.
 * Slots stamped before `#since` belong to a previous owner (see `reset`) and count as empty.
 */
class SecondSeries {
  readonly #stamps = new Float64Array(activityWindowSeconds).fill(-1);
  readonly #issued = new Uint32Array(activityWindowSeconds);
  readonly #failed = new Uint32Array(activityWindowSeconds);
  #since = -Infinity;
  /** The latest second ever stamped. */
  #latest = -1;

  /**
   * Empties the series for another client at `now`, in constant time: rather than clearing
   * all 900 slots, older stamps are ignored from now on, and only the slot for `now` (the one
   * stamp of the previous owner that is not older) is cleared.
   */
  reset(now: number): this {
    if (this.#latest > now) {
      // The clock went back: stamps newer than `now` exist, so clear them all.
      this.#stamps.fill(-1);
      this.#since = -Infinity;
      this.#latest = -1;
    } else {
      this.#since = now;
      this.#stamps[now % activityWindowSeconds] = -1;
    }
    return this;
  }

  add(now: number, issued: number, failed: number): void {
    // The clock went back past a reset: the previous owner's stamps could match again.
    if (now < this.#since) this.#forgetPreviousOwner();
    const slot = now % activityWindowSeconds;
    if (this.#stamps[slot] !== now) {
      this.#stamps[slot] = now;
      if (now > this.#latest) this.#latest = now;
      this.#issued[slot] = 0;
      this.#failed[slot] = 0;
    }
    this.#issued[slot]! += issued;
    this.#failed[slot]! += failed;
  }

  read(now: number): { issued: number[]; failed: number[] } {
    const issued: number[] = [];
    const failed: number[] = [];
    for (let second = now - activityWindowSeconds + 1; second <= now; second += 1) {
      const slot = second % activityWindowSeconds;
      const current = this.#stamps[slot] === second && second >= this.#since;
      issued.push(current ? this.#issued[slot]! : 0);
      failed.push(current ? this.#failed[slot]! : 0);
    }
    return { issued, failed };
  }

  /** The non-empty seconds of the window ending at `now`, oldest first. */
  cells(now: number): ActivityCells {
    const cells: ActivityCells = [];
    for (let second = now - activityWindowSeconds + 1; second <= now; second += 1) {
      const slot = second % activityWindowSeconds;
      if (this.#stamps[slot] !== second || second < this.#since) continue;
      const issued = this.#issued[slot]!;
      const failed = this.#failed[slot]!;
      if (issued > 0 || failed > 0) cells.push([second, issued, failed]);
    }
    return cells;
  }

  /** Clears the slots stamped before the reset, so `#since` is no longer needed. */
  #forgetPreviousOwner(): void {
    for (let slot = 0; slot < activityWindowSeconds; slot += 1) {
      if (this.#stamps[slot]! < this.#since) this.#stamps[slot] = -1;
    }
    this.#since = -Infinity;
  }
}

/** One client's last 24 hours in hour buckets, and its last successful token request. */
class DayCounts {
  readonly #hours = new Float64Array(hourSlots).fill(-1);
  readonly #issued = new Uint32Array(hourSlots);
  readonly #failed = new Uint32Array(hourSlots);
  lastUsedAt: number | null = null;

  /** Empties the counts for another client (a slot counts only when its hour matches). */
  reset(_now: number): this {
    this.#hours.fill(-1);
    this.lastUsedAt = null;
    return this;
  }

  add(now: number, issued: number, failed: number): void {
    const hour = Math.floor(now / 3600);
    const slot = hour % hourSlots;
    if (this.#hours[slot] !== hour) {
      this.#hours[slot] = hour;
      this.#issued[slot] = 0;
      this.#failed[slot] = 0;
    }
    this.#issued[slot]! += issued;
    this.#failed[slot]! += failed;
    if (issued > 0) this.lastUsedAt = now;
  }

  /** The non-empty hours (epoch hours) of the last 24. */
  cells(now: number): ActivityCells {
    const oldest = Math.floor(now / 3600) - hourSlots + 1;
    const cells: ActivityCells = [];
    for (let slot = 0; slot < hourSlots; slot += 1) {
      const hour = this.#hours[slot]!;
      if (hour < oldest) continue;
      const issued = this.#issued[slot]!;
      const failed = this.#failed[slot]!;
      if (issued > 0 || failed > 0) cells.push([hour, issued, failed]);
    }
    return cells.sort((a, b) => a[0] - b[0]);
  }

  totals(now: number): { issued: number; failed: number } {
    const oldest = Math.floor(now / 3600) - hourSlots + 1;
    let issued = 0;
    let failed = 0;
    for (let slot = 0; slot < hourSlots; slot += 1) {
      if (this.#hours[slot]! >= oldest) {
        issued += this.#issued[slot]!;
        failed += this.#failed[slot]!;
      }
    }
    return { issued, failed };
  }
}

/** Sparse counts as `[second or hour, issued, failed]`, for sending between processes. */
export type ActivityCells = Array<[number, number, number]>;

/**
 * A tracker's counts as plain JSON-safe data (client ids in arrays, never object keys), so the
 * primary of `serve --workers N` can add up its workers' (see activity-totals.ts).
 */
export interface ActivitySnapshot {
  /** Per-second counts, every client. */
  overall: ActivityCells;
  /** Per-second counts per client, for the clients whose series is kept. */
  series: Array<[clientId: string, cells: ActivityCells]>;
  /** Per-hour counts per client, and the epoch second of its last token. */
  days: Array<[clientId: string, hours: ActivityCells, lastUsedAt: number | null]>;
}

export interface ClientActivity {
  clientId: string;
  /** Tokens issued over the last 24 hours (hour buckets: the current hour and 23 before it). */
  issued: number;
  /** Failed client authentications over the same window. */
  failed: number;
  /** Epoch seconds of the last token issued, if this process saw one. */
  lastUsedAt: number | null;
}

export interface ActivityOptions {
  /** Clients whose 24-hour counts are kept (least recently active evicted first). */
  clientCapacity?: number;
  /** Clients whose per-second 15-minute series is kept (each costs ~14 KB). */
  seriesCapacity?: number;
}

/**
 * Token and authentication-failure activity for the admin console, in memory and bounded:
 * one overall per-second ring, per-client 24-hour hour buckets for at most `clientCapacity`
 * clients and per-client per-second rings for at most `seriesCapacity`, both LRU, so a
 * million clients (or made-up client_ids) cannot grow memory. Counts are this process's own;
 * under `serve --workers N` the admin API reads the instance's through the primary
 * (process/shared-metrics.ts), which adds up every worker's `snapshot()`.
 */
export class ActivityTracker {
  readonly #overall = new SecondSeries();
  readonly #days: LruMap<string, DayCounts>;
  readonly #series: LruMap<string, SecondSeries>;

  constructor(options: ActivityOptions = {}) {
    this.#days = new LruMap(options.clientCapacity ?? 10_000);
    this.#series = new LruMap(options.seriesCapacity ?? 128);
  }

  /** A token was issued to `clientId` at `now` (epoch seconds). */
  issued(clientId: string, now: number): void {
    this.#record(clientId, now, 1, 0);
  }

  /**
   * A client authentication failed. `clientId` is given only for registered clients, so
   * guessed ids count overall without evicting real clients' history.
   */
  failed(clientId: string | undefined, now: number): void {
    if (clientId === undefined) this.#overall.add(now, 0, 1);
    else this.#record(clientId, now, 0, 1);
  }

  #record(clientId: string, now: number, issued: number, failed: number): void {
    this.#overall.add(now, issued, failed);
    let day = this.#days.get(clientId);
    if (!day) {
      day = reuseOrCreate(this.#days, DayCounts, now);
      this.#days.set(clientId, day);
    }
    day.add(now, issued, failed);
    let series = this.#series.get(clientId);
    if (!series) {
      series = reuseOrCreate(this.#series, SecondSeries, now);
      this.#series.set(clientId, series);
    }
    series.add(now, issued, failed);
  }

  /** Per-second counts for the window ending at `now`, overall or for one client. */
  series(now: number, clientId?: string): { issued: number[]; failed: number[] } {
    if (clientId === undefined) return this.#overall.read(now);
    const series = this.#series.peek(clientId);
    if (series) return series.read(now);
    const zeros = () => new Array<number>(activityWindowSeconds).fill(0);
    return { issued: zeros(), failed: zeros() };
  }

  /** 24-hour counts for every client still tracked. */
  clients(now: number): ClientActivity[] {
    const result: ClientActivity[] = [];
    for (const [clientId, day] of this.#days.entries()) {
      const { issued, failed } = day.totals(now);
      result.push({ clientId, issued, failed, lastUsedAt: day.lastUsedAt });
    }
    return result;
  }

  /** Everything counted, as data another process can add to its own (see `ActivitySnapshot`). */
  snapshot(now: number): ActivitySnapshot {
    const series: ActivitySnapshot['series'] = [];
    for (const [clientId, counts] of this.#series.entries()) {
      const cells = counts.cells(now);
      if (cells.length > 0) series.push([clientId, cells]);
    }
    const days: ActivitySnapshot['days'] = [];
    for (const [clientId, day] of this.#days.entries()) {
      days.push([clientId, day.cells(now), day.lastUsedAt]);
    }
    return { overall: this.#overall.cells(now), series, days };
  }

  /** The `limit` clients with the most tokens issued, then failures, over 24 hours. */
  top(now: number, limit: number): ClientActivity[] {
    return this.clients(now)
      .filter((client) => client.issued + client.failed > 0)
      .sort((a, b) => b.issued - a.issued || b.failed - a.failed)
      .slice(0, limit);
  }
}

/**
 * When the map is full, the least recently active client's counters are emptied and reused
 * for the new one (it would be evicted by the insert anyway). With more clients in use than
 * `seriesCapacity` nearly every token request is such an insert, and allocating a fresh
 * ~14 KB series each time (three off-heap typed arrays) was most of the 10,000-client
 * bench's garbage and RSS.
 */
function reuseOrCreate<T extends { reset(now: number): T }>(
  map: LruMap<string, T>,
  Counts: new () => T,
  now: number,
): T {
  if (map.size < map.capacity) return new Counts();
  return map.evictOldest()?.reset(now) ?? new Counts();
}
