import {
  activityWindowSeconds,
  type ActivityCells,
  type ActivitySnapshot,
  type ClientActivity,
} from './activity.js';

type Sums = Map<number, [issued: number, failed: number]>;

const hourSlots = 24;
/** As many clients as one worker's tracker keeps (see ActivityTracker's clientCapacity). */
const defaultClientCapacity = 10_000;

function addCells(sums: Sums, cells: ActivityCells): void {
  for (const [at, issued, failed] of cells) {
    const cell = sums.get(at);
    if (cell) {
      cell[0] += issued;
      cell[1] += failed;
    } else sums.set(at, [issued, failed]);
  }
}

function cellsOf(sums: Sums, oldest: number): ActivityCells {
  const cells: ActivityCells = [];
  for (const [at, [issued, failed]] of sums) if (at >= oldest) cells.push([at, issued, failed]);
  return cells.sort((a, b) => a[0] - b[0]);
}

function seriesOf(sums: Sums | undefined, now: number): { issued: number[]; failed: number[] } {
  const issued: number[] = [];
  const failed: number[] = [];
  for (let second = now - activityWindowSeconds + 1; second <= now; second += 1) {
    const cell = sums?.get(second);
    issued.push(cell?.[0] ?? 0);
    failed.push(cell?.[1] ?? 0);
  }
  return { issued, failed };
}

/**
 * Several processes' activity added up: what the primary of `serve --workers N` answers the
 * console with, from every live worker's `ActivityTracker.snapshot()` plus what workers that
 * died had counted. Answers the same questions as the tracker, with the same shapes.
 */
export class ActivityTotals {
  readonly #overall: Sums = new Map();
  readonly #series = new Map<string, Sums>();
  readonly #days = new Map<string, { hours: Sums; lastUsedAt: number | null }>();

  add(snapshot: ActivitySnapshot): this {
    addCells(this.#overall, snapshot.overall);
    for (const [clientId, cells] of snapshot.series) {
      let sums = this.#series.get(clientId);
      if (!sums) this.#series.set(clientId, (sums = new Map()));
      addCells(sums, cells);
    }
    for (const [clientId, hours, lastUsedAt] of snapshot.days) {
      let day = this.#days.get(clientId);
      if (!day) this.#days.set(clientId, (day = { hours: new Map(), lastUsedAt: null }));
      addCells(day.hours, hours);
      if (lastUsedAt !== null && (day.lastUsedAt === null || lastUsedAt > day.lastUsedAt))
        day.lastUsedAt = lastUsedAt;
    }
    return this;
  }

  series(now: number, clientId?: string): { issued: number[]; failed: number[] } {
    return seriesOf(clientId === undefined ? this.#overall : this.#series.get(clientId), now);
  }

  clients(now: number): ClientActivity[] {
    const oldest = Math.floor(now / 3600) - hourSlots + 1;
    const result: ClientActivity[] = [];
    for (const [clientId, day] of this.#days) {
      let issued = 0;
      let failed = 0;
      for (const [hour, cell] of day.hours) {
        if (hour < oldest) continue;
        issued += cell[0];
        failed += cell[1];
      }
      result.push({ clientId, issued, failed, lastUsedAt: day.lastUsedAt });
    }
    return result;
  }

  /**
   * The totals as one snapshot, without what has left the windows, and with at most
   * `clientCapacity` clients (the most recently used), so keeping the counts of workers that
   * died over weeks of restarts stays bounded.
   */
  snapshot(now: number, clientCapacity = defaultClientCapacity): ActivitySnapshot {
    const oldestSecond = now - activityWindowSeconds + 1;
    const oldestHour = Math.floor(now / 3600) - hourSlots + 1;
    const series: ActivitySnapshot['series'] = [];
    for (const [clientId, sums] of this.#series) {
      const cells = cellsOf(sums, oldestSecond);
      if (cells.length > 0) series.push([clientId, cells]);
    }
    let days: ActivitySnapshot['days'] = [];
    for (const [clientId, day] of this.#days) {
      const hours = cellsOf(day.hours, oldestHour);
      if (hours.length > 0) days.push([clientId, hours, day.lastUsedAt]);
    }
    if (days.length > clientCapacity) {
      const latest = (entry: ActivitySnapshot['days'][number]) => entry[1].at(-1)![0];
      days = days.sort((a, b) => latest(b) - latest(a)).slice(0, clientCapacity);
    }
    return { overall: cellsOf(this.#overall, oldestSecond), series, days };
  }
}
