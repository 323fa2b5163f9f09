import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';

export interface SupervisorOptions {
  workers: number;
  /** Seconds a graceful stop may take before the remaining workers are killed. */
  shutdownTimeout: number;
  logger: Logger;
}

/** What a worker tells its primary once its start-up has finished, one way or the other. */
type StartReport = { tessera: 'worker-ready' } | { tessera: 'worker-failed'; message: string };

/** Longest pause between restarts of a worker that keeps dying (ms). */
const maxRestartDelayMs = 30_000;

/**
 * The primary process of `tessera serve --workers N`: forks N workers that share the listening
 * socket (node:cluster), and behaves like one service towards whoever started it:
 * - a worker that fails to start (port taken, unknown preset, unreadable key file…) before
 *   every worker has reported ready stops the whole service: the primary prints the worker's
 *   message once, stops the others and exits 1, so systemd, Kubernetes or a shell sees the
 *   failure instead of a primary listening on nothing;
 * - a worker that dies after that is restarted, with a growing pause while replacements keep
 *   failing;
 * - SIGTERM/SIGINT ask every worker to drain and wait for them (up to the shutdown timeout).
 */
export function superviseWorkers({ workers, shutdownTimeout, logger }: SupervisorOptions): void {
  let stopping = false;
  let starting = true;
  let restartDelayMs = 1000;
  const ready = new Set<Worker>();
  const fork = (): Worker => cluster.fork();

  const stopAll = (exitCode: number) => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(exitCode);
    setTimeout(() => {
      logger.error('workers did not stop in time; killing them');
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
      process.exit(1);
    }, shutdownTimeout * 1000).unref();
  };
  let exitCode = 0;
  const failStart = (message: string) => {
    if (stopping) return;
    process.stderr.write(`tessera: ${message}\n`);
    exitCode = 1;
    stopAll(1);
  };

  cluster.on('message', (worker, message: Partial<StartReport> | undefined) => {
    if (message?.tessera === 'worker-ready') {
      ready.add(worker);
      restartDelayMs = 1000;
      if (starting && ready.size === workers) {
        starting = false;
        logger.info({ workers }, 'all workers ready');
      }
    } else if (message?.tessera === 'worker-failed') {
      const text = typeof message.message === 'string' ? message.message : 'unknown error';
      if (starting) failStart(text);
      else
        logger.error(
          { workerPid: worker.process.pid, error: text },
          'a new worker failed to start',
        );
    }
  });
  cluster.on('exit', (worker, code, signal) => {
    const wasReady = ready.delete(worker);
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        logger.info('all workers stopped');
        process.exit(exitCode);
      }
      return;
    }
    if (starting) {
      failStart(`a worker exited before it was ready (${signal ?? `exit code ${code}`})`);
      return;
    }
    logger.error({ workerPid: worker.process.pid, code, signal }, 'worker died; starting another');
    setTimeout(fork, restartDelayMs).unref();
    if (!wasReady) restartDelayMs = Math.min(restartDelayMs * 2, maxRestartDelayMs);
  });
  for (let i = 0; i < workers; i++) fork();
  logger.info({ workers }, 'started workers');

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    logger.info({ signal }, 'stopping workers');
    stopAll(0);
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

/** A worker of `serve --workers N` tells its primary that it is listening. */
export function reportWorkerReady(): void {
  if (cluster.isWorker) process.send?.({ tessera: 'worker-ready' } satisfies StartReport);
}

/**
 * A worker whose start failed hands its message to the primary, which prints it once for the
 * whole service, and exits (its IPC channel would otherwise keep it alive).
 */
export function reportWorkerFailed(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  const report: StartReport = { tessera: 'worker-failed', message };
  if (!process.connected) process.exit(1);
  process.send!(report, () => process.exit(1));
}

/**
 * Graceful stop for one serving process: report "draining", stop accepting, finish requests in flight, flush,
 * exit; force the exit when that takes longer than the deadline. A worker also stops when its
 * primary disappears (killed with -9), so no orphan keeps the port.
 */
export function stopGracefully(
  close: () => Promise<void>,
  shutdownTimeout: number,
  logger: Logger,
  drain: { startDraining: () => void; delayMs: number } = { startDraining: () => {}, delayMs: 0 },
): void {
  let stopping = false;
  const stop = (reason: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ reason }, 'shutting down: draining requests in flight');
    setTimeout(() => {
      logger.error({ seconds: shutdownTimeout }, 'shutdown deadline passed; exiting');
      process.exit(1);
    }, shutdownTimeout * 1000).unref();
    // Keep accepting for a moment while /readyz says "draining": connections already queued
    // in the kernel's backlog are served instead of reset, and balancers stop sending new ones.
    drain.startDraining();
    new Promise((resolve) => setTimeout(resolve, Math.min(drain.delayMs, shutdownTimeout * 500)))
      .then(close)
      .then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  if (cluster.isWorker) {
    process.once('disconnect', () => stop('primary exited'));
    // The primary may have gone while this worker was still starting.
    if (!process.connected) stop('primary exited');
  }
}
