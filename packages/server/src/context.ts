import type { Logger } from 'pino';
import { ClientAuthenticator } from './client-auth/authenticate-client.js';
import { FailureLimiter } from './client-auth/failure-limiter.js';
import type { ServerConfig } from './config.js';
import { planKeyTransitions, rotationDue } from './keys/key-schedule.js';
import { KeyRing } from './keys/key-ring.js';
import { rotateKey } from './keys/rotate-key.js';
import type { KeyEncryptionKey } from './lib/kek.js';
import { countStoreErrors } from './metrics/store-errors.js';
import { TesseraMetrics } from './metrics/tessera-metrics.js';
import type { Preset } from './presets/preset.js';
import { ClientCache } from './registry/client-cache.js';
import { SecretUsage } from './registry/secret-usage.js';
import { RevocationList } from './revocation/revocation-list.js';
import type { SecretHasher } from './secrets/client-secret.js';
import type { Store } from './store/contract.js';
import { TokenInspector } from './tokens/token-inspector.js';
import { ReplayCache, type ReplayGuard } from '@tessera/protocol';

/** Clock skew allowed on top of the longest token lifetime before a retiring key leaves the JWKS. */
const clockToleranceSeconds = 60;
/** Change rows are kept this long so a lagging process can still catch up. */
const changeRetentionSeconds = 2 * 86400;

/** Shortest interval between two checks for other processes' commits on the request path (ms). */
const foreignCheckIntervalMs = 10;
/** Longest a request waits for the change feed before answering from cache (ms). */
const maxSyncWaitMs = 250;

function boundedWait(pending: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    timer.unref();
  });
  return Promise.race([pending, timeout]).finally(() => clearTimeout(timer));
}

/** Everything a request handler needs; one per process. */
export interface TesseraContext {
  /** Where DPoP proof and client assertion `jti`s are remembered (see ContextOptions). */
  replayGuards: ReplayGuards;
  config: ServerConfig;
  preset: Preset | undefined;
  store: Store;
  kek: KeyEncryptionKey;
  clients: ClientCache;
  hasher: SecretHasher;
  keys: KeyRing;
  revocations: RevocationList;
  inspector: TokenInspector;
  authenticator: ClientAuthenticator;
  secretUsage: SecretUsage;
  /** Prometheus metrics and the console's activity counts for this process. */
  metrics: TesseraMetrics;
  logger: Logger;
  /** Wall clock in epoch seconds; injectable so expiry tests are exact. */
  nowSeconds: () => number;
  /** Set when a graceful stop begins: /readyz answers 503 so balancers move away. */
  draining: boolean;
  /**
   * Applies changes other processes committed, if there are any (cheap when there are none);
   * undefined when there is nothing to wait for, which spares the token path an await.
   */
  syncChanges: () => Promise<void> | undefined;
  /** Applies due key transitions (and an automatic rotation when due); runs on a timer too. */
  maintainKeys: () => Promise<void>;
  close: () => Promise<void>;
}

export interface ContextOptions {
  config: ServerConfig;
  store: Store;
  kek: KeyEncryptionKey;
  hasher: SecretHasher;
  preset?: Preset | undefined;
  logger: Logger;
  nowSeconds?: (() => number) | undefined;
  /**
   * Where one-time `jti`s are remembered: DPoP proofs and client assertions. Default: this
   * process's own caches; the workers of `serve --workers N` share the primary's.
   */
  replayGuards?: ReplayGuards | undefined;
}

export interface ReplayGuards {
  dpop: ReplayGuard;
  assertions: ReplayGuard;
}

export async function createContext(options: ContextOptions): Promise<TesseraContext> {
  const { config, kek, hasher, logger, preset } = options;
  const nowSeconds = options.nowSeconds ?? (() => Math.floor(Date.now() / 1000));
  const metrics = new TesseraMetrics(nowSeconds);
  const store = countStoreErrors(options.store, metrics.storeErrors);
  const keys = await KeyRing.open(store, kek, config.signingAlg, nowSeconds());
  const clients = new ClientCache(store);
  const revocations = new RevocationList();
  revocations.apply(await store.listRevocations(0));
  const secretUsage = new SecretUsage(store, { nowSeconds });
  let cursor = await store.latestChange();

  let syncing: Promise<void> | undefined;
  const applyChanges = async (): Promise<void> => {
    const { changes, cursor: next } = await store.changesSince(cursor);
    let keysChanged = false;
    let revocationsChanged = false;
    for (const change of changes) {
      if (change.kind === 'client') clients.invalidate(change.ref);
      else if (change.kind === 'key') keysChanged = true;
      else if (change.kind === 'revocation') revocationsChanged = true;
    }
    if (revocationsChanged) revocations.apply(await store.listRevocations(revocations.cursor));
    if (keysChanged) await keys.reload();
    cursor = next;
  };
  // A notification that arrives while a sync runs may name a commit that sync's read missed:
  // remember it and read once more, or the change would wait for the next notification.
  let resync = false;
  const syncChanges = (): Promise<void> => {
    if (syncing) {
      resync = true;
      return syncing;
    }
    syncing = (async () => {
      do {
        resync = false;
        await applyChanges().catch((error: unknown) =>
          logger.error({ err: error }, 'applying store changes failed'),
        );
      } while (resync);
    })().finally(() => {
      syncing = undefined;
    });
    return syncing;
  };

  // The lifetime clients get now; read only when a key actually transitions.
  const longestTokenLifetime = async (): Promise<number> => {
    const serverDefault = preset?.defaultTokenTtl ?? config.defaultTokenTtl;
    const lifetimes = (await store.listClients()).map((client) => client.tokenTtl ?? serverDefault);
    return lifetimes.length === 0 ? serverDefault : Math.max(...lifetimes);
  };
  const maintainKeys = async (): Promise<void> => {
    const now = nowSeconds();
    if (
      config.keyRotationDays !== undefined &&
      rotationDue(keys.records, config.signingAlg, config.keyRotationDays, now)
    ) {
      const rotated = await rotateKey(
        store,
        kek,
        config.signingAlg,
        nowSeconds,
        config.jwksMaxAge,
        config.keyRotationDays,
      );
      if (rotated) {
        await keys.reload();
        logger.info(
          { kid: rotated.kid, activatesAt: rotated.activatesAt },
          'scheduled key rotation: new key published',
        );
      }
    }
    if (planKeyTransitions(keys.records, { now, retireAfterSeconds: 0 }).length === 0) return;
    const retireAfterSeconds = (await longestTokenLifetime()) + clockToleranceSeconds;
    const changed = await store.transitionKeys((records) => ({
      patches: planKeyTransitions(records, { now, retireAfterSeconds }),
    }));
    if (changed) {
      await keys.reload();
      logger.info(
        { keys: keys.records.map((key) => ({ kid: key.kid, state: key.state })) },
        'signing keys transitioned',
      );
    }
  };

  const timers: NodeJS.Timeout[] = [];
  const every = (ms: number, task: () => Promise<unknown>, what: string) => {
    const timer = setInterval(() => {
      task().catch((error: unknown) => logger.error({ err: error }, `${what} failed`));
    }, ms);
    timer.unref();
    timers.push(timer);
  };
  every(1_000, maintainKeys, 'key maintenance');
  every(10_000, () => secretUsage.flush(), 'recording secret use');
  every(
    60_000,
    async () => {
      const now = nowSeconds();
      revocations.prune(now);
      await store.prune(now, now - changeRetentionSeconds);
    },
    'pruning revocations',
  );
  await maintainKeys();

  const unwatch = store.watch(() => void syncChanges());
  // Bounded: each refuses new identifiers (fails closed) rather than forget a live one.
  const replayGuards = options.replayGuards ?? {
    dpop: new ReplayCache(100_000, nowSeconds),
    assertions: new ReplayCache(100_000, nowSeconds),
  };
  const authenticator = new ClientAuthenticator(
    clients,
    hasher,
    nowSeconds,
    new FailureLimiter(config.authFailureLimits, nowSeconds),
    () => config.issuer,
    replayGuards.assertions,
  );
  authenticator.failures.onLockout = (lockout) => {
    metrics.lockouts.inc({ key: lockout.key });
    logger.warn(
      {
        lockout: lockout.key,
        client_id: lockout.clientId,
        address: lockout.address,
        seconds: lockout.retryAfter,
      },
      'client authentication locked out after repeated failures',
    );
  };
  metrics.watch({
    keys: () => keys.records,
    clientCache: () => ({ hits: clients.hits, misses: clients.storeReads, size: clients.size }),
  });
  // Requests ask the store for other processes' commits at most every 10 ms: per request,
  // `PRAGMA data_version` cost ~6 % of the token endpoint's event loop under load, and a
  // change is still seen by the first request after it except within 10 ms of a check.
  let lastForeignCheck = -Infinity;
  const foreignChangesDue = (): boolean => {
    const now = performance.now();
    if (now - lastForeignCheck < foreignCheckIntervalMs) return false;
    lastForeignCheck = now;
    return store.hasForeignChanges();
  };
  const inspector = new TokenInspector(keys, clients, revocations, () => config.issuer, nowSeconds);

  return {
    config,
    preset,
    store,
    kek,
    clients,
    hasher,
    keys,
    revocations,
    inspector,
    authenticator,
    replayGuards,
    secretUsage,
    metrics,
    logger,
    nowSeconds,
    draining: false,
    // A request waits for a sync already under way (so it sees a change just announced), but
    // not for long: a hung database must not hold up token issuance from cache.
    syncChanges: () =>
      foreignChangesDue()
        ? boundedWait(syncChanges(), maxSyncWaitMs)
        : syncing
          ? boundedWait(syncing, maxSyncWaitMs)
          : undefined,
    maintainKeys,
    close: async () => {
      for (const timer of timers) clearInterval(timer);
      unwatch();
      await syncing;
      await secretUsage
        .flush()
        .catch((error: unknown) => logger.error({ err: error }, 'recording secret use failed'));
    },
  };
}
