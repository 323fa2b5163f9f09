import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { listenIssuer, tokenHookSecret, type ServerConfig } from './config.js';
import { createContext, type ReplayGuards, type TesseraContext } from './context.js';
import { createLogger } from './http/logger.js';
import { findPreset } from './presets/index.js';
import { openStorage } from './runtime.js';
import { buildServer } from './server.js';
import { KeyRing } from './keys/key-ring.js';
import type { KeyStores } from './keys/key-stores.js';
import { openKeyStores } from './keys/open-key-stores.js';
import { openSharedState } from './shared-state/open-shared-state.js';
import type { SharedState } from './shared-state/shared-state.js';
import { traceRequests } from './telemetry/request-spans.js';
import { startTracing } from './telemetry/start-tracing.js';
import { traceStore } from './telemetry/store-spans.js';
import type { QuotaCounter } from './quotas/quota-counter.js';
import { listenForMetrics, type MetricsListener } from './metrics/metrics-listener.js';

export interface RunningServer {
  app: FastifyInstance;
  context: TesseraContext;
  /** Base URL the server listens on, e.g. http://127.0.0.1:8080. */
  url: string;
  /** The `--metrics-listen` address serving /metrics, when set. */
  metricsUrl: string | undefined;
  close: () => Promise<void>;
}

/**
 * Migrates the store and creates what every process needs once (key-encryption key, pepper,
 * first signing key), then closes it again: the primary of `serve --workers N` runs this
 * before forking.
 */
export async function prepareStorage(config: ServerConfig, env?: NodeJS.ProcessEnv): Promise<void> {
  const { store, kek } = await openStorage(config, env);
  try {
    const keyStores = openKeyStores(config, kek, env ? { env } : {});
    try {
      await KeyRing.open(store, keyStores, config.signingAlg, Math.floor(Date.now() / 1000));
    } finally {
      await keyStores.close();
    }
  } finally {
    await store.close();
  }
}

/** Opens storage, builds the app and listens: what `tessera serve` runs. */
export async function startServer(
  config: ServerConfig,
  options: {
    env?: NodeJS.ProcessEnv;
    logger?: Logger;
    nowSeconds?: () => number;
    replayGuards?: ReplayGuards;
    /**
     * The state shared across instances; default: opened from the configuration (Redis,
     * or the PostgreSQL store). `null` in a worker of `serve --workers N`: its primary
     * consults it for the worker.
     */
    sharedState?: SharedState | null;
    /** Issue 22: where token quota allowances are leased (a worker: from its primary). */
    quotaCounter?: QuotaCounter | undefined;
  } = {},
): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const preset = config.preset ? findPreset(config.preset) : undefined;
  // Off unless an OTLP endpoint is configured; then every request is a span (telemetry/).
  const tracing = config.tracing ? await startTracing(config.tracing, logger) : undefined;
  const { store, kek, hasher } = await openStorage(config, options.env).catch(
    async (error: unknown) => {
      await tracing?.shutdown();
      throw error;
    },
  );
  let context: TesseraContext | undefined;
  let keyStores: KeyStores | undefined;
  let sharedState: SharedState | undefined;
  let metricsListener: MetricsListener | undefined;
  try {
    sharedState =
      options.sharedState === null
        ? undefined
        : (options.sharedState ?? (await openSharedState(config, options.nowSeconds)));
    keyStores = openKeyStores(config, kek, {
      ...(options.env ? { env: options.env } : {}),
      onHealthChange: (health) =>
        health.state === 'ok'
          ? logger.info({ key_store: config.signingKeys }, 'signing key store available again')
          : logger.error(
              { key_store: config.signingKeys, reason: health.reason },
              'signing key store unavailable: token requests answer 503 until it is back',
            ),
    });
    context = await createContext({
      config,
      store: tracing ? traceStore(store) : store,
      kek,
      keyStores,
      hasher,
      preset,
      logger,
      nowSeconds: options.nowSeconds,
      replayGuards: options.replayGuards,
      sharedState,
      quotaCounter: options.quotaCounter,
      // Also without a server hook: tenants' own hooks are signed with keys derived from it.
      tokenHookSecret: tokenHookSecret(options.env),
    });
    const app = buildServer(context, logger);
    if (tracing) traceRequests(app, tracing);
    await app.listen({ port: config.port, host: config.host }).catch((error: unknown) => {
      throw listenError(error, config);
    });
    if (config.metricsListen)
      metricsListener = await listenForMetrics(context, config.metricsListen);
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host;
    // Port 0: the default issuer named port 0; it follows the port the system chose (read
    // per request, so setting it now is enough).
    const tls = config.tlsCert !== undefined;
    if (config.port === 0 && config.issuer === listenIssuer(config.host, 0, tls))
      context.config.issuer = listenIssuer(config.host, port, tls);
    const running = context;
    const openedKeyStores = keyStores;
    let closing: Promise<void> | undefined;
    return {
      app,
      context: running,
      url: `${config.tlsCert === undefined ? 'http' : 'https'}://${host}:${port}`,
      metricsUrl: metricsListener?.url,
      close: () =>
        (closing ??= (async () => {
          await metricsListener?.close();
          await app.close();
          await running.close();
          await openedKeyStores.close();
          await store.close();
          if (options.sharedState === undefined) await sharedState?.close();
          await tracing?.shutdown();
        })()),
    };
  } catch (error) {
    await metricsListener?.close();
    await context?.close();
    await keyStores?.close();
    await store.close();
    if (options.sharedState === undefined) await sharedState?.close();
    await tracing?.shutdown();
    throw error;
  }
}

/** Says what to change when the listening socket cannot be had, instead of a bare `bind` code. */
function listenError(error: unknown, { host, port }: ServerConfig): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  switch (code) {
    case 'EADDRINUSE':
      return new Error(`cannot listen on ${where}: the port is already in use (--port, PORT)`);
    case 'EACCES':
      return new Error(
        `cannot listen on ${where}: permission denied (ports below 1024 need privileges)`,
      );
    case 'EADDRNOTAVAIL':
      return new Error(
        `cannot listen on ${where}: ${host} is not an address of this machine (--host, HOST)`,
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new Error(
        `cannot listen on ${where}: the host name ${host} does not resolve (--host, HOST)`,
      );
    default:
      return error;
  }
}
