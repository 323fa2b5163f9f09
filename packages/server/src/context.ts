import cluster from 'node:cluster';
import type { Logger } from 'pino';
import { ClientAuthenticator } from './client-auth/authenticate-client.js';
import { FailureLimiter, type LockoutEvent } from './client-auth/failure-limiter.js';
import type { ServerConfig } from './config.js';
import { keyMaintenance } from './keys/key-maintenance.js';
import { KeyRing } from './keys/key-ring.js';
import { KeyStores } from './keys/key-stores.js';
import type { KeyEncryptionKey } from './lib/kek.js';
import { announceLockouts } from './events/lockout-events.js';
import type { CountTable } from './metrics/count-table.js';
import { countStoreErrors } from './metrics/store-errors.js';
import { replicaTransitions } from './store/replica/replica-log.js';
import { TesseraMetrics } from './metrics/tessera-metrics.js';
import type { Preset } from './presets/preset.js';
import { ChangeSync } from './registry/change-sync.js';
import { ClientCache } from './registry/client-cache.js';
import { SecretUsage } from './registry/secret-usage.js';
import { RevocationList } from './revocation/revocation-list.js';
import type { SecretHasher } from './secrets/client-secret.js';
import type { Store } from './store/contract.js';
import { TokenInspector } from './tokens/token-inspector.js';
import { sharedReplayGuards } from './shared-state/shared-replay-guard.js';
import { throttled, type SharedState } from './shared-state/shared-state.js';
import { ReplayCache, type ReplayGuard } from '@tessera/protocol';
import { MemorySharedState } from './shared-state/memory-state.js';
import { SharedQuotaCounter, type QuotaCounter } from './quotas/quota-counter.js';
import { QuotaGate } from './quotas/quota-gate.js';
import { TokenAdmission } from './quotas/token-admission.js';
import { TokenReuse } from './tokens/token-reuse.js';
import { TokenHook } from './claims/token-hook.js';
import { ConfigError, type TokenHookSettings } from './config.js';
import type { AssertionPolicy } from './client-auth/private-key-jwt.js';
import { tokenPath } from './endpoints/discovery.js';
import { findPreset } from './presets/index.js';
import type { TenantRecord } from './store/contract.js';
import { tenantConfig } from './tenants/tenant-config.js';
import {
  readTenantSettings,
  tenantHookSecret,
  tenantTokenHook,
} from './tenants/tenant-settings.js';
import { defaultTenant } from './tenants/tenant-name.js';
import { TenantRegistry } from './tenants/tenant-registry.js';

/** Change rows are kept this long so a lagging process can still catch up. */
const changeRetentionSeconds = 2 * 86400;

/**
 * Everything a request handler needs: one per process for the default tenant, and one per
 * tenant in use (issue 21), which shares the process's parts (store connection, metrics,
 * logger, replay guards, shared state, quota gate, hasher, KEK, key stores, change follower,
 * timers) and has its own effective config, keys, client cache, revocation list, inspector,
 * authenticator and token reuse.
 */
export interface TesseraContext {
  /** The tenant this context serves (`default`: the server's own configuration). */
  tenant: string;
  /** Every tenant of the deployment, their contexts built on first use (tenants/tenant-registry.ts). */
  tenants: TenantRegistry<TesseraContext>;
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
  /** Issue 22: per-client token quotas of this process (leases from the shared count). */
  quotas: TokenAdmission;
  /** Issue 22: tokens this process may answer again (`--reuse-tokens`). */
  tokenReuse: TokenReuse;
  /**
   * The token hook (issue 19), when one is configured: a tenant's own (issue 21, closed with
   * its context), the server's, or none.
   */
  tokenHook: TokenHook | undefined;
  /** Whether TESSERA_TOKEN_HOOK_SECRET is known here (a tenant's own hook needs it). */
  hasTokenHookSecret: boolean;
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
  /** Where signing keys live; default: sealed keys under `kek` only. The caller closes it. */
  keyStores?: KeyStores | undefined;
  hasher: SecretHasher;
  preset?: Preset | undefined;
  logger: Logger;
  nowSeconds?: (() => number) | undefined;
  /**
   * Where one-time `jti`s are remembered: DPoP proofs and client assertions. Default: this
   * process's own caches; the workers of `serve --workers N` share the primary's.
   */
  replayGuards?: ReplayGuards | undefined;
  /**
   * Failure counts and jtis shared with every instance (PostgreSQL or Redis); undefined for
   * one machine (and in the workers of `serve --workers N`, whose primary consults it).
   */
  sharedState?: SharedState | undefined;
  /**
   * Issue 22: where token quota allowances are leased; default: the shared state, else this
   * process's memory. A worker of `serve --workers N` leases from its primary.
   */
  quotaCounter?: QuotaCounter | undefined;
  /** `TESSERA_TOKEN_HOOK_SECRET`, needed when `config.tokenHook` is set. */
  tokenHookSecret?: string | undefined;
}

export interface ReplayGuards {
  dpop: ReplayGuard;
  assertions: ReplayGuard;
}

export async function createContext(options: ContextOptions): Promise<TesseraContext> {
  const { config, kek, hasher, logger, preset } = options;
  const nowSeconds = options.nowSeconds ?? (() => Math.floor(Date.now() / 1000));
  const metrics = new TesseraMetrics(nowSeconds, config.metricsClientLabels);
  const store = countStoreErrors(options.store, metrics.storeErrors);
  const keyStores = options.keyStores ?? new KeyStores(kek);
  const keys = await KeyRing.open(store, keyStores, config.signingAlg, nowSeconds());
  const clients = new ClientCache(store);
  const revocations = new RevocationList();
  revocations.apply(await store.listRevocations(0));
  const secretUsage = new SecretUsage(store, { nowSeconds });
  // Filled in below, once the parts the tenants' contexts share exist.
  let buildTenant: (tenant: TenantRecord) => Promise<TesseraContext> = () => {
    throw new Error('tenant context requested before the process context was ready');
  };
  // A dropped tenant context's own hook is closed once the requests that still hold it are
  // done: after its longest wait, or at once when the server stops.
  const closing = new Map<TesseraContext, NodeJS.Timeout>();
  const dispose = (dropped: TesseraContext) => {
    if (closing.has(dropped)) return;
    // The hook the context holds (its own or the server's), not config.tokenHook, which is
    // the server's setting even for a tenant with a hook of its own.
    const grace = (dropped.tokenHook?.timeoutMs ?? 0) + 1_000;
    const timer = setTimeout(() => {
      closing.delete(dropped);
      dropped
        .close()
        .catch((error: unknown) =>
          logger.error({ err: error, tenant: dropped.tenant }, 'closing a tenant context failed'),
        );
    }, grace);
    timer.unref();
    closing.set(dropped, timer);
  };
  const tenants = await TenantRegistry.open(
    store,
    (tenant) => buildTenant(tenant),
    logger,
    dispose,
  );
  const changeSync = await ChangeSync.open({
    store,
    clients,
    revocations,
    keys,
    logger,
    tenants: { loaded: (name) => tenants.loaded(name), changed: (name) => tenants.changed(name) },
  });
  const maintainKeys = keyMaintenance({ store, keys, config, preset, logger, nowSeconds });
  // One timer for every tenant's keys: the default's, then each loaded tenant's (cheap when
  // nothing is due: a look at the in-memory key records). A tenant not loaded yet has its
  // keys brought up to date when it loads.
  const maintainAllKeys = async () => {
    await maintainKeys();
    for (const tenant of [...tenants.built()]) {
      await tenant
        .maintainKeys()
        .catch((error: unknown) =>
          logger.error({ err: error, tenant: tenant.tenant }, 'key maintenance failed'),
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
  every(1_000, maintainAllKeys, 'key maintenance');
  every(10_000, () => secretUsage.flush(), 'recording secret use');
  if (store.replication) every(1_000, replicaTransitions(store, logger), 'watching the replica');
  every(
    60_000,
    async () => {
      const now = nowSeconds();
      revocations.prune(now);
      for (const tenant of tenants.built()) tenant.revocations.prune(now);
      await store.prune(now, now - changeRetentionSeconds);
    },
    'pruning revocations',
  );
  await maintainKeys();

  changeSync.watch();
  // Bounded: each refuses new identifiers (fails closed) rather than forget a live one.
  const replayGuards =
    options.replayGuards ??
    sharedReplayGuards(
      {
        dpop: new ReplayCache(100_000, nowSeconds),
        assertions: new ReplayCache(100_000, nowSeconds),
      },
      options.sharedState,
      logger,
    );
  // One limiter per process; each tenant counts apart in it, by its own limits (issue 21).
  const failures = new FailureLimiter(config.authFailureLimits, nowSeconds);
  failures.shared = options.sharedState;
  failures.onSharedError = throttled((error, dropped) =>
    logger.warn(
      { err: error, dropped },
      'shared state unavailable: failures counted on this host only',
    ),
  );
  // Lockout events go to the outbox too; under `serve --workers N` the primary announces them
  // (it counts every worker's failures), so a worker does not.
  const announceLockout = cluster.isWorker ? undefined : announceLockouts(store, logger);
  failures.onEvent = (event) => {
    reportLockout(event, metrics, logger, nowSeconds());
    announceLockout?.(event);
  };
  every(1_000, async () => failures.sweep(), 'reporting ended lockouts');
  const sharedState = options.sharedState;
  if (sharedState) every(60_000, () => sharedState.prune(), 'pruning shared state');
  const quotaError = throttled((error, dropped) =>
    logger.warn(
      { err: error, dropped },
      'token quota counter unavailable: tokens counted by this process alone',
    ),
  );
  const remoteCounter =
    options.quotaCounter ??
    (sharedState ? new SharedQuotaCounter(sharedState, nowSeconds, quotaError) : undefined);
  const ownCounter = new SharedQuotaCounter(new MemorySharedState(nowSeconds), nowSeconds);
  const gate = new QuotaGate(remoteCounter ?? ownCounter, {
    local: remoteCounter === undefined,
    nowSeconds,
    onError: quotaError,
    fallback: ownCounter,
  });
  every(1_000, async () => gate.sweep(), 'returning idle token quota allowances');
  // One admission per tenant over the one gate (quota buckets are keyed by client_id, unique
  // across tenants), so each counts its refusals under its own `tenant` label.
  const admission = (tenant: string) => {
    const refusals = metrics.quotaRefusals.of(tenant);
    return new TokenAdmission(gate, {
      defaultQuota: config.tokenQuota,
      mode: config.tokenQuotaMode,
      logger,
      nowSeconds,
      onRefusal: (mode) => refusals.inc(mode),
    });
  };
  const quotas = admission(defaultTenant);
  const authenticator = new ClientAuthenticator(
    clients,
    hasher,
    nowSeconds,
    failures.forTenant(defaultTenant, config.authFailureLimits),
    () => config.issuer,
    replayGuards.assertions,
    assertionPolicy(config, preset),
  );
  authenticator.serverProfile = config.profile;
  metrics.watch({
    keys: () => keys.records,
    clientCaches: function* () {
      yield [defaultTenant, clients];
      for (const tenant of tenants.built()) yield [tenant.tenant, tenant.clients];
    },
    replication: () => store.replication,
  });
  const inspector = new TokenInspector(keys, clients, revocations, () => config.issuer, nowSeconds);
  const tokenHook =
    config.tokenHook &&
    tokenHookFor(
      config.tokenHook,
      options,
      metrics.tokenHookFailures.of(defaultTenant),
      nowSeconds,
    );

  const context: TesseraContext = {
    tenant: defaultTenant,
    tenants,
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
    tokenHook,
    hasTokenHookSecret: options.tokenHookSecret !== undefined && options.tokenHookSecret !== '',
    replayGuards,
    secretUsage,
    quotas,
    tokenReuse: new TokenReuse(),
    metrics,
    logger,
    nowSeconds,
    draining: false,
    syncChanges: () => changeSync.forRequest(),
    maintainKeys,
    close: async () => {
      for (const timer of timers) clearInterval(timer);
      await tokenHook?.close();
      // Tenants' own hooks: the loaded ones' and those of dropped contexts not closed yet.
      for (const [dropped, timer] of closing) {
        clearTimeout(timer);
        await dropped.close();
      }
      closing.clear();
      for (const tenant of [...tenants.built()]) await tenant.close();
      await changeSync.close();
      await secretUsage
        .flush()
        .catch((error: unknown) => logger.error({ err: error }, 'recording secret use failed'));
    },
  };

  buildTenant = async (tenant) => {
    const tenantSettings = tenantConfig(config, tenant);
    const tenantStore = store.forTenant(tenant.name);
    const named = tenantSettings.preset ? findPreset(tenantSettings.preset) : undefined;
    // The tenant's own token lifetime wins over its preset's default, as the server's would not.
    const tenantPreset =
      named && tenant.tokenTtl !== null ? { ...named, defaultTokenTtl: tenant.tokenTtl } : named;
    // Creates the tenant's first signing key (its own algorithm) when it has none yet.
    const tenantKeys = await KeyRing.open(
      tenantStore,
      keyStores,
      tenantSettings.signingAlg,
      nowSeconds(),
    );
    const tenantClients = new ClientCache(tenantStore);
    const tenantRevocations = new RevocationList();
    tenantRevocations.apply(await tenantStore.listRevocations(0));
    const tenantMaintenance = keyMaintenance({
      store: tenantStore,
      keys: tenantKeys,
      config: tenantSettings,
      preset: tenantPreset,
      logger,
      nowSeconds,
    });
    await tenantMaintenance();
    // The process's limiter, counting this tenant's failures apart by its own limits: an
    // address locked out at another tenant still authenticates here.
    const tenantAuthenticator = new ClientAuthenticator(
      tenantClients,
      hasher,
      nowSeconds,
      failures.forTenant(tenant.name, tenantSettings.authFailureLimits),
      () => tenantSettings.issuer,
      replayGuards.assertions,
      assertionPolicy(tenantSettings, tenantPreset),
    );
    tenantAuthenticator.serverProfile = tenantSettings.profile;
    const hookSetting = tenantTokenHook(config.tokenHook, readTenantSettings(tenant.settings));
    // Its own hook is signed with the key derived for it; one it inherits is the server's,
    // with the server's secret (one object, one connection pool, for every such tenant).
    const ownHook =
      hookSetting?.own === true
        ? new TokenHook(
            hookSetting.hook,
            options.tokenHookSecret
              ? tenantHookSecret(options.tokenHookSecret, tenant.name)
              : undefined,
            { failures: metrics.tokenHookFailures.of(tenant.name), logger, nowSeconds },
          )
        : undefined;
    if (ownHook && !options.tokenHookSecret)
      logger.error(
        { tenant: tenant.name },
        'tenant token hook without TESSERA_TOKEN_HOOK_SECRET: its tokens are refused',
      );
    logger.info({ tenant: tenant.name, issuer: tenantSettings.issuer }, 'tenant loaded');
    return {
      ...context,
      tenant: tenant.name,
      config: tenantSettings,
      preset: tenantPreset,
      store: tenantStore,
      clients: tenantClients,
      keys: tenantKeys,
      revocations: tenantRevocations,
      inspector: new TokenInspector(
        tenantKeys,
        tenantClients,
        tenantRevocations,
        () => tenantSettings.issuer,
        nowSeconds,
      ),
      authenticator: tenantAuthenticator,
      quotas: admission(tenant.name),
      tokenHook: hookSetting === undefined ? undefined : (ownHook ?? tokenHook),
      tokenReuse: new TokenReuse(),
      maintainKeys: tenantMaintenance,
      // Only its own hook is its own; the process's parts close with the default tenant's.
      close: async () => {
        await ownHook?.close();
      },
    };
  };
  return context;
}

/** Log lines and metrics of the failure limiter's locks and alerts. */
function reportLockout(
  event: LockoutEvent,
  metrics: TesseraMetrics,
  logger: Logger,
  now: number,
): void {
  const { tenant } = event;
  const fields = {
    tenant,
    lockout: event.key,
    client_id: event.clientId,
    address: event.address,
    seconds: Math.max(0, event.until - now),
  };
  if (event.type === 'lockout.ended') {
    logger.info(
      { tenant, lockout: event.key, client_id: event.clientId, address: event.address },
      'lockout ended',
    );
    return;
  }
  if (!event.refused) {
    metrics.failureAlerts.inc('', '', 1, tenant);
    logger.warn(
      { ...fields, refused: false },
      'client_id failing from several addresses; not refused',
    );
    return;
  }
  metrics.lockouts.inc(event.key, '', 1, tenant);
  logger.warn(fields, 'client authentication locked out after repeated failures');
}

/** `failures`: the tenant's counts of `tessera_token_hook_failures_total` (`.of(tenant)`). */
function tokenHookFor(
  settings: TokenHookSettings,
  options: ContextOptions,
  failures: CountTable,
  nowSeconds: () => number,
): TokenHook {
  if (!options.tokenHookSecret)
    throw new ConfigError('TESSERA_TOKEN_HOOK_SECRET must be set with the token hook');
  return new TokenHook(settings, options.tokenHookSecret, {
    failures,
    logger: options.logger,
    nowSeconds,
  });
}

/**
 * `--assertion-audience` and `--assertion-max-lifetime`: `any` also accepts the token
 * endpoint URLs (RFC 7523 §3), the RFC one and the preset's, as a string or in an array.
 */
function assertionPolicy(config: ServerConfig, preset: Preset | undefined): AssertionPolicy {
  const strict = config.assertionAudience === 'issuer';
  return {
    strictAudience: strict,
    maxLifetime: config.assertionMaxLifetime,
    audiences: () => {
      const { issuer } = config;
      if (strict) return [issuer];
      const urls = [issuer, `${issuer}${tokenPath}`];
      if (preset) urls.push(`${issuer}${preset.tokenPath}`);
      return urls;
    },
  };
}
