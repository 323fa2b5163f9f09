import type { SigningAlgorithm } from '@tessera/protocol';
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { createLogger, logFormatOf } from '../http/logger.js';
import { countFailuresForWorkers, shareFailuresWithPrimary } from '../process/shared-failures.js';
import { addUpMetricsForWorkers, shareMetricsWithPrimary } from '../process/shared-metrics.js';
import {
  answerReplayChecksForWorkers,
  replayGuardsSharedWithPrimary,
} from '../process/shared-replay.js';
import { stopGracefully, superviseWorkers } from '../process/supervisor.js';
import { prepareStorage, startServer } from '../start.js';
import { cliConfig, databaseOption, parse } from './common.js';
import { UsageError } from './usage.js';

export async function serveCommand(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, {
    ...databaseOption,
    port: { type: 'string' },
    host: { type: 'string' },
    preset: { type: 'string' },
    issuer: { type: 'string' },
    'signing-alg': { type: 'string' },
    'key-rotation-days': { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'tls-client-ca': { type: 'string' },
    'trusted-proxy': { type: 'string', multiple: true },
    workers: { type: 'string' },
    'shutdown-timeout': { type: 'string' },
  });
  if (positionals.length > 0)
    throw new UsageError(`serve takes no arguments, got ${positionals.join(' ')}`);
  if (values.port !== undefined && !/^\d+$/.test(values.port))
    throw new UsageError('--port must be a number');
  const config = cliConfig(values.database, {
    ...(values.port !== undefined ? { port: Number(values.port) } : {}),
    ...(values.host !== undefined ? { host: values.host } : {}),
    ...(values.preset !== undefined ? { preset: values.preset } : {}),
    ...(values.issuer !== undefined ? { issuer: values.issuer } : {}),
    ...(values['key-rotation-days'] !== undefined
      ? { keyRotationDays: Number(values['key-rotation-days']) }
      : {}),
    ...(values['signing-alg'] !== undefined
      ? { signingAlg: values['signing-alg'] as SigningAlgorithm }
      : {}),
    ...(values['tls-cert'] !== undefined ? { tlsCert: values['tls-cert'] } : {}),
    ...(values['tls-key'] !== undefined ? { tlsKey: values['tls-key'] } : {}),
    ...(values['tls-client-ca'] !== undefined ? { tlsClientCa: values['tls-client-ca'] } : {}),
    ...(values['trusted-proxy'] !== undefined ? { trustedProxies: values['trusted-proxy'] } : {}),
  });
  const workers = wholeNumber(
    '--workers',
    values.workers ?? process.env.TESSERA_WORKERS,
    availableParallelism(),
    1,
    256,
  );
  const shutdownTimeout = wholeNumber(
    '--shutdown-timeout',
    values['shutdown-timeout'] ?? process.env.TESSERA_SHUTDOWN_TIMEOUT,
    10,
    1,
    3600,
  );
  const logFormat = logFormatOf(process.env.TESSERA_LOG_FORMAT);
  if (workers > 1 && cluster.isPrimary) {
    const logger = createLogger(config.logLevel, undefined, logFormat);
    // Migrations, the key-encryption key file, the pepper and the first signing key are made
    // once here, so workers starting together have nothing to race for.
    await prepareStorage(config);
    countFailuresForWorkers(config.authFailureLimits, logger);
    answerReplayChecksForWorkers();
    addUpMetricsForWorkers(logger);
    superviseWorkers({ workers, shutdownTimeout, logger });
    return;
  }
  const logger = createLogger(config.logLevel, undefined, logFormat);
  const replayGuards = replayGuardsSharedWithPrimary(() => Math.floor(Date.now() / 1000), logger);
  const server = await startServer(config, { logger, ...(replayGuards ? { replayGuards } : {}) });
  shareFailuresWithPrimary(server.context.authenticator.failures);
  shareMetricsWithPrimary(server.context.metrics, logger);
  const log = server.app.log;
  log.info(
    {
      url: server.url,
      issuer: config.issuer,
      database: redactUrl(config.database),
      preset: config.preset ?? null,
      signingAlg: config.signingAlg,
      // What libuv read when its pool started (bin/thread-pool.cjs chooses it); 4 by default.
      threadPool: Number(process.env.UV_THREADPOOL_SIZE) || 4,
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

function wholeNumber(
  name: string,
  value: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined || value === '') return fallback;
  const number = Number(value);
  if (!/^\d+$/.test(value) || number < min || number > max) {
    throw new UsageError(`${name} must be a whole number from ${min} to ${max}`);
  }
  return number;
}

/** Database URLs may carry a password; logs show the rest. */
function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@/]*@/, '//$1:[redacted]@');
}
