import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { AggregatorRegistry } from 'prom-client';
import type { ActivitySnapshot, ClientActivity } from '../metrics/activity.js';
import { ActivityTotals } from '../metrics/activity-totals.js';
import {
  topClientSeries,
  type MetricJson,
  type TesseraMetrics,
} from '../metrics/tessera-metrics.js';

/**
 * One instance's metrics and console activity under `serve --workers N`. Each worker still
 * counts in plain numbers on its own (the token path sends nothing); whichever worker a scrape
 * of `/metrics` or a console request for `/admin/v1/activity*` reaches asks the primary, which
 * asks every worker for a snapshot (prom-client's JSON of its registry, and the activity
 * tracker's counts), adds them up (counters and histograms summed by label set, with
 * prom-client's own `AggregatorRegistry.aggregate`; gauges by the aggregator each declares,
 * except the per-client 24-hour gauges, computed from the instance's activity) and answers. Without this each scrape saw one worker's counts, so counters appeared to
 * reset at every scrape.
 *
 * A restarted worker must not make the instance's counters go backwards: the primary keeps
 * every worker's last snapshot (refreshed by every scrape and, for metrics, every
 * `pollSeconds`), and when a worker exits it moves that snapshot's counters and histograms
 * into a "departed" total that every later answer adds (its gauges are dropped: they
 * described a process that is gone). Counts a worker made after its last snapshot and
 * before it died (at most `pollSeconds` of them, for metrics) are lost, and the instance's
 * counters start from zero again when the primary itself restarts, as any process's do.
 */
interface Collect {
  tessera: 'metrics-collect';
  id: number;
  now: number;
  activity: boolean;
}

interface Snapshot {
  tessera: 'metrics-snapshot';
  id: number;
  metrics: MetricJson[];
  activity?: ActivitySnapshot;
}

export type InstanceQuery =
  | { kind: 'metrics' }
  | { kind: 'activity-series'; now: number; clientId?: string }
  | { kind: 'activity-clients'; now: number };

type InstanceResult = { text: string } | { issued: number[]; failed: number[] } | ClientActivity[];

interface Query {
  tessera: 'instance-query';
  id: number;
  query: InstanceQuery;
}

interface Answer {
  tessera: 'instance-answer';
  id: number;
  result?: InstanceResult;
  error?: string;
}

/** How long the primary waits for a worker's snapshot before using its last one. */
const snapshotTimeoutMs = 1_000;
/** How long a worker waits for the primary before answering with its own counts only. */
const answerTimeoutMs = 4_000;
/** How often the primary refreshes every worker's metrics snapshot (bounds what a crash loses). */
const pollSeconds = 5;
/** Every this many polls, the activity snapshot is refreshed too (it is larger). */
const activityEveryPolls = 3;

const isMessage = <T extends { tessera: string }>(message: unknown, tessera: T['tessera']) =>
  typeof message === 'object' &&
  message !== null &&
  (message as { tessera?: unknown }).tessera === tessera;

/** In a worker: answer the primary's snapshot requests and read the instance's numbers from it. */
export function shareMetricsWithPrimary(metrics: TesseraMetrics, logger: Logger): void {
  if (!cluster.isWorker || !process.send) return;
  const waiting = new Map<number, (answer: Answer | undefined) => void>();
  let nextId = 0;
  process.on('message', (message: unknown) => {
    if (isMessage<Collect>(message, 'metrics-collect')) {
      const collect = message as Collect;
      void metrics.registry.getMetricsAsJSON().then((json) => {
        const snapshot: Snapshot = {
          tessera: 'metrics-snapshot',
          id: collect.id,
          metrics: json as unknown as MetricJson[],
          ...(collect.activity ? { activity: metrics.activity.snapshot(collect.now) } : {}),
        };
        if (process.connected) process.send!(snapshot);
      });
    } else if (isMessage<Answer>(message, 'instance-answer')) {
      const answer = message as Answer;
      const resolve = waiting.get(answer.id);
      waiting.delete(answer.id);
      resolve?.(answer);
    }
  });

  // Only now can this worker answer snapshot requests: until it says so the primary does not
  // wait for it (a worker still starting would otherwise delay every scrape by the timeout).
  if (process.connected) process.send!({ tessera: 'metrics-ready' });

  const ask = (query: InstanceQuery): Promise<InstanceResult | undefined> => {
    if (!process.connected) return Promise.resolve(undefined);
    const id = (nextId += 1);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        waiting.delete(id);
        resolve(undefined);
      }, answerTimeoutMs);
      timer.unref();
      waiting.set(id, (answer) => {
        clearTimeout(timer);
        resolve(answer?.result);
      });
      process.send!({ tessera: 'instance-query', id, query } satisfies Query);
    });
  };
  // Without an answer (the primary is gone, or too slow) a worker still answers, with its own
  // counts: a partial scrape is better than none, and the log says why it looks partial.
  const fallback = (what: string) =>
    logger.warn({ what }, "primary did not answer in time; answering with this worker's counts");
  metrics.instance = {
    async scrape() {
      const result = (await ask({ kind: 'metrics' })) as { text: string } | undefined;
      if (result) return result.text;
      fallback('metrics');
      return metrics.registry.metrics();
    },
    async activitySeries(now, clientId) {
      const query: InstanceQuery =
        clientId === undefined
          ? { kind: 'activity-series', now }
          : { kind: 'activity-series', now, clientId };
      const result = (await ask(query)) as { issued: number[]; failed: number[] } | undefined;
      if (result) return result;
      fallback('activity');
      return metrics.activity.series(now, clientId);
    },
    async activityClients(now) {
      const result = (await ask({ kind: 'activity-clients', now })) as ClientActivity[] | undefined;
      if (result) return result;
      fallback('activity');
      return metrics.activity.clients(now);
    },
  };
}

/** Counters and histograms only: what a departed worker leaves to the instance's totals. */
const monotonic = (metrics: MetricJson[]) =>
  metrics.filter((metric) => metric.type === 'counter' || metric.type === 'histogram');

/** Sums metric snapshots by name, series name and label set (synchronously, unlike a registry). */
export function sumMetrics(snapshots: MetricJson[][]): MetricJson[] {
  const byName = new Map<
    string,
    { metric: MetricJson; values: Map<string, MetricJson['values'][number]> }
  >();
  for (const snapshot of snapshots) {
    for (const metric of snapshot) {
      let entry = byName.get(metric.name);
      if (!entry) byName.set(metric.name, (entry = { metric, values: new Map() }));
      for (const value of metric.values) {
        const key = `${value.metricName ?? ''} ${JSON.stringify(Object.entries(value.labels).sort())}`;
        const sum = entry.values.get(key);
        if (sum) sum.value += value.value;
        else entry.values.set(key, { ...value });
      }
    }
  }
  return [...byName.values()].map(({ metric, values }) => ({
    ...metric,
    values: [...values.values()],
  }));
}

/**
 * The per-client 24-hour gauges from the instance's activity: each worker's top clients summed
 * would miss a client that is busy overall but in no single worker's top, and would drop a
 * dead worker's share.
 */
function withInstanceTop(
  snapshots: MetricJson[][],
  totals: ActivityTotals,
  now: number,
): MetricJson[][] {
  const top = totals
    .clients(now)
    .filter((client) => client.issued + client.failed > 0)
    .sort((a, b) => b.issued - a.issued || b.failed - a.failed)
    .slice(0, topClientSeries);
  const replaced: MetricJson[] = [];
  const rest = snapshots.map((snapshot) =>
    snapshot.filter((metric) => {
      const field = dayGauges.get(metric.name);
      if (field === undefined) return true;
      if (!replaced.some((done) => done.name === metric.name)) {
        replaced.push({
          ...metric,
          values: top.map((client) => ({
            value: client[field],
            labels: { client_id: client.clientId },
          })),
        });
      }
      return false;
    }),
  );
  return [...rest, replaced];
}

const dayGauges = new Map<string, 'issued' | 'failed'>([
  ['tessera_client_tokens_issued_24h', 'issued'],
  ['tessera_client_auth_failures_24h', 'failed'],
]);

interface WorkerState {
  metrics?: MetricJson[];
  activity?: ActivitySnapshot;
}

/** In the primary: answer every worker's instance queries from all workers' snapshots. */
export function addUpMetricsForWorkers(
  logger: Logger,
  nowSeconds: () => number = () => Math.floor(Date.now() / 1000),
): void {
  const states = new Map<number, WorkerState>();
  /** Workers that answer snapshot requests (they said `metrics-ready`), by cluster id. */
  const ready = new Set<number>();
  let departedMetrics: MetricJson[] = [];
  let departedActivity = new ActivityTotals();
  const pending = new Map<number, { worker: number; resolve: () => void }>();
  let nextId = 0;

  const live = () =>
    Object.values(cluster.workers ?? {}).filter((worker): worker is Worker =>
      Boolean(worker?.isConnected() && ready.has(worker.id)),
    );

  /** Refreshes every live worker's snapshot (each answer or timeout ends its wait). */
  const collect = (now: number, activity: boolean): Promise<void> =>
    Promise.all(
      live().map(
        (worker) =>
          new Promise<void>((resolve) => {
            const id = (nextId += 1);
            const timer = setTimeout(() => {
              pending.delete(id);
              resolve();
            }, snapshotTimeoutMs);
            pending.set(id, {
              worker: worker.id,
              resolve: () => {
                clearTimeout(timer);
                pending.delete(id);
                resolve();
              },
            });
            worker.send({ tessera: 'metrics-collect', id, now, activity } satisfies Collect);
          }),
      ),
    ).then(() => undefined);

  const activityTotals = (now: number) => {
    const totals = new ActivityTotals().add(departedActivity.snapshot(now));
    for (const state of states.values()) if (state.activity) totals.add(state.activity);
    return totals;
  };

  const answer = async (query: InstanceQuery): Promise<InstanceResult> => {
    if (query.kind === 'metrics') {
      const now = nowSeconds();
      await collect(now, true);
      const snapshots = [...states.values()].flatMap((state) =>
        state.metrics ? [state.metrics] : [],
      );
      if (departedMetrics.length > 0) snapshots.push(departedMetrics);
      return {
        text: await AggregatorRegistry.aggregate(
          withInstanceTop(snapshots, activityTotals(now), now),
        ).metrics(),
      };
    }
    await collect(query.now, true);
    const totals = activityTotals(query.now);
    return query.kind === 'activity-clients'
      ? totals.clients(query.now)
      : totals.series(query.now, query.clientId);
  };

  cluster.on('message', (worker, message: unknown) => {
    if (isMessage(message, 'metrics-ready')) {
      if (cluster.workers?.[worker.id] !== undefined) ready.add(worker.id);
    } else if (isMessage<Snapshot>(message, 'metrics-snapshot')) {
      const snapshot = message as Snapshot;
      const waiting = pending.get(snapshot.id);
      // A worker that has exited is no longer listed; its counts are in the departed totals.
      if (cluster.workers?.[worker.id] === undefined) return;
      const state = states.get(worker.id) ?? {};
      state.metrics = snapshot.metrics;
      if (snapshot.activity) state.activity = snapshot.activity;
      states.set(worker.id, state);
      if (waiting?.worker === worker.id) waiting.resolve();
    } else if (isMessage<Query>(message, 'instance-query')) {
      const query = message as Query;
      answer(query.query).then(
        (result) => {
          if (worker.isConnected())
            worker.send({ tessera: 'instance-answer', id: query.id, result } satisfies Answer);
        },
        (error: unknown) => {
          logger.error({ err: error }, "adding up the workers' metrics failed");
          if (worker.isConnected())
            worker.send({
              tessera: 'instance-answer',
              id: query.id,
              error: 'failed',
            } satisfies Answer);
        },
      );
    }
  });

  cluster.on('exit', (worker) => {
    ready.delete(worker.id);
    const state = states.get(worker.id);
    states.delete(worker.id);
    for (const [, waiting] of pending) if (waiting.worker === worker.id) waiting.resolve();
    if (state?.metrics) departedMetrics = sumMetrics([departedMetrics, monotonic(state.metrics)]);
    if (state?.activity) departedActivity.add(state.activity);
  });

  let polls = 0;
  setInterval(() => {
    const now = nowSeconds();
    polls += 1;
    // Forget what has left the activity windows, so departed counts stay bounded.
    departedActivity = new ActivityTotals().add(departedActivity.snapshot(now));
    void collect(now, polls % activityEveryPolls === 0);
  }, pollSeconds * 1000).unref();
}
