import cluster from 'node:cluster';
import type { Logger } from 'pino';
import { createLogger } from '../http/logger.js';
import { countFailuresForWorkers, shareFailuresWithPrimary } from '../process/shared-failures.js';
import { addUpMetricsForWorkers, shareMetricsWithPrimary } from '../process/shared-metrics.js';
import {
  answerReplayChecksForWorkers,
  replayGuardsSharedWithPrimary,
} from '../process/shared-replay.js';
import {
  reportWorkerFailed,
  reportWorkerReady,
  stopGracefully,
  superviseWorkers,
} from '../process/supervisor.js';
import { MemorySharedState, openSharedState } from '../shared-state/open-shared-state.js';
import { answerQuotaLeasesForWorkers, quotaCounterOfPrimary } from '../process/shared-quotas.js';
import { SharedQuotaCounter } from '../quotas/quota-counter.js';
import { prepareStorage, startServer, type RunningServer } from '../start.js';
import { configFrom, serveSettings, webhookSecretSetting } from '../config.js';
import { withConfigFile } from '../config/file.js';
import { readOption } from '../config/option.js';
import { startEventDelivery } from '../events/event-service.js';
import { announceLockouts } from '../events/lockout-events.js';
import { openStore, parseDatabaseUrl } from '../store/open-store.js';
import { flagsFor, options, processEnvironment } from '../config/options.js';
import { parse } from './common.js';
import { UsageError } from './usage.js';

export async function serveCommand(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, flagsFor('serve'));
  if (positionals.length > 0)
    throw new UsageError(`serve takes no arguments, got ${positionals.join(' ')}`);
  const sources = withConfigFile({ env: processEnvironment(), flags: values });
  const config = configFrom(sources);
  const { workers, shutdownTimeout, threadPool } = serveSettings(sources);
  // Said once per service: by the primary, or by the only process.
  const warnings = cluster.isPrimary ? startupWarnings(sources) : [];
  if (workers > 1 && cluster.isPrimary) {
    const logger = createLogger(config.logLevel, undefined, config.logFormat);
    for (const warning of warnings) logger.warn(warning);
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
    const limiter = countFailuresForWorkers(config.authFailureLimits, logger, shared);
    answerReplayChecksForWorkers(undefined, shared, logger);
    addUpMetricsForWorkers(logger);
    // The primary's own store handle: it announces lockouts (it sees every worker's failures)
    // and delivers events, so workers neither race for the delivery lease nor double-announce.
    const store = await openStore(parseDatabaseUrl(config.database));
    const announce = announceLockouts(store, logger);
    const reportLock = limiter.onEvent;
    limiter.onEvent = (event) => {
      reportLock?.(event);
      announce(event);
    };
    // Ended locks are found by sweeping, as every server does (context.ts).
    setInterval(() => limiter.sweep(), 1_000).unref();
    startEventDelivery(store, config.eventsWebhook, webhookSecretSetting(), logger);
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
  const logger = createLogger(config.logLevel, undefined, config.logFormat);
  const replayGuards = replayGuardsSharedWithPrimary(() => Math.floor(Date.now() / 1000), logger);
  let server: RunningServer;
  try {
    server = await startServer(config, {
      logger,
      ...(replayGuards ? { replayGuards, sharedState: null } : {}),
      quotaCounter: quotaCounterOfPrimary(),
    });
  } catch (error) {
    // A worker leaves the message to its primary, which prints it once for the service.
    if (cluster.isWorker) return reportWorkerFailed(error);
    throw error;
  }
  shareFailuresWithPrimary(server.context.authenticator.failures.limiter);
  shareMetricsWithPrimary(server.context.metrics, logger);
  const stopDelivery = cluster.isWorker
    ? undefined
    : startEventDelivery(
        server.context.store,
        config.eventsWebhook,
        webhookSecretSetting(),
        logger,
      );
  const log = server.app.log;
  for (const warning of warnings) log.warn(warning);
  log.info(
    {
      url: server.url,
      issuer: server.context.config.issuer,
      database: redactUrl(config.database),
      ...(config.databaseReplicas.length > 0
        ? { databaseReplicas: config.databaseReplicas.map(redactUrl) }
        : {}),
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
  const close = async () => {
    await stopDelivery?.();
    await server.close();
  };
  stopGracefully(close, shutdownTimeout, log as Logger, {
    startDraining: () => {
      server.context.draining = true;
    },
    delayMs: drainDelayMs,
  });
  reportWorkerReady();
}

/** What a production deployment should change, logged at start-up. */
function startupWarnings(sources: Parameters<typeof readOption>[1]): string[] {
  return readOption(options.issuer, sources) === undefined
    ? [
        'TESSERA_ISSUER is not set: the issuer (iss, discovery) follows the listen address; set TESSERA_ISSUER (or --issuer, or issuer in the configuration file) to the public URL in production',
      ]
    : [];
}

/** How long a stopping server keeps accepting while /readyz reports "draining" (ms). */
const drainDelayMs = 1000;

/** Database URLs may carry a password; logs show the rest. */
function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@/]*@/, '//$1:[redacted]@');
}
