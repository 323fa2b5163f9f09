import cluster from 'node:cluster';
import type { Logger } from 'pino';
import { createLogger } from '../http/logger.js';
import { countFailuresForWorkers, shareFailuresWithPrimary } from '../process/shared-failures.js';
import {
  answerReplayChecksForWorkers,
  replayGuardsSharedWithPrimary,
} from '../process/shared-replay.js';
import { stopGracefully, superviseWorkers } from '../process/supervisor.js';
import { MemorySharedState, openSharedState } from '../shared-state/open-shared-state.js';
import { answerQuotaLeasesForWorkers, quotaCounterOfPrimary } from '../process/shared-quotas.js';
import { SharedQuotaCounter } from '../quotas/quota-counter.js';
import { prepareStorage, startServer } from '../start.js';
import { configFrom, serveSettings } from '../config.js';
import { flagsFor, processEnvironment } from '../config/options.js';
import { parse } from './common.js';
import { UsageError } from './usage.js';

export async function serveCommand(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, flagsFor('serve'));
  if (positionals.length > 0)
    throw new UsageError(`serve takes no arguments, got ${positionals.join(' ')}`);
  const sources = { env: processEnvironment(), flags: values };
  const config = configFrom(sources);
  const { workers, shutdownTimeout, threadPool } = serveSettings(sources);
  if (workers > 1 && cluster.isPrimary) {
    const logger = createLogger(config.logLevel);
    // Migrations, the key-encryption key file, the pepper and the first signing key are made
    // once here, so workers starting together have nothing to race for.
    await prepareStorage(config);
    // The primary consults the shared state (PostgreSQL or Redis) for its workers.
    const shared = await openSharedState(config);
    if (shared) {
      setInterval(() => {
        shared
          .prune()
          .catch((error: unknown) => logger.error({ err: error }, 'pruning shared state failed'));
      }, 60_000).unref();
    }
    countFailuresForWorkers(config.authFailureLimits, logger, shared);
    answerReplayChecksForWorkers(undefined, shared, logger);
    // Issue 22: the machine's one token quota counter (the shared state's, else memory).
    const nowSeconds = () => Math.floor(Date.now() / 1000);
    answerQuotaLeasesForWorkers(
      new SharedQuotaCounter(shared ?? new MemorySharedState(nowSeconds), nowSeconds, (error) =>
        logger.warn({ err: error }, 'token quota counter unavailable'),
      ),
    );
    superviseWorkers({ workers, shutdownTimeout, logger });
    return;
  }
  const logger = createLogger(config.logLevel);
  const replayGuards = replayGuardsSharedWithPrimary(() => Math.floor(Date.now() / 1000), logger);
  const server = await startServer(config, {
    logger,
    ...(replayGuards ? { replayGuards, sharedState: null } : {}),
    quotaCounter: quotaCounterOfPrimary(),
  });
  shareFailuresWithPrimary(server.context.authenticator.failures);
  const log = server.app.log;
  log.info(
    {
      url: server.url,
      issuer: config.issuer,
      database: redactUrl(config.database),
      preset: config.preset ?? null,
      signingAlg: config.signingAlg,
      signingKeys:
        config.signingKeys === 'pkcs11'
          ? { store: 'pkcs11', tokenLabel: config.pkcs11TokenLabel ?? null }
          : { store: 'sealed' },
      // What libuv read when its pool started (bin/thread-pool.cjs chooses it); 4 by default.
      threadPool,
    },
    'tessera listening',
  );
  stopGracefully(server.close, shutdownTimeout, log as Logger, {
    startDraining: () => {
      server.context.draining = true;
    },
    delayMs: drainDelayMs,
  });
}

/** How long a stopping server keeps accepting while /readyz reports "draining" (ms). */
const drainDelayMs = 1000;

/** Database URLs may carry a password; logs show the rest. */
function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@/]*@/, '//$1:[redacted]@');
}
