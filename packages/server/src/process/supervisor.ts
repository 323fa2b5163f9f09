import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';

export interface SupervisorOptions {
  workers: number;
  /** Seconds a graceful stop may take before the remaining workers are killed. */
  shutdownTimeout: number;
  logger: Logger;
}

/**
 * The primary process of `tessera serve --workers N`: forks N workers that share the listening
 * socket (node:cluster), restarts a worker that dies, and on SIGTERM/SIGINT asks every worker
 * to drain and waits for them (up to the shutdown timeout).
 */
export function superviseWorkers({ workers, shutdownTimeout, logger }: SupervisorOptions): void {
  let stopping = false;
  const fork = (): Worker => cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        logger.info('all workers stopped');
        process.exit(0);
      }
      return;
    }
    logger.error({ pid: worker.process.pid, code, signal }, 'worker died; starting another');
    setTimeout(fork, 1000).unref();
  });
  for (let i = 0; i < workers; i++) fork();
  logger.info({ workers }, 'started workers');

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping workers');
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    setTimeout(() => {
      logger.error('workers did not stop in time; killing them');
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
      process.exit(1);
    }, shutdownTimeout * 1000).unref();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
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
  if (cluster.isWorker) process.once('disconnect', () => stop('primary exited'));
}
