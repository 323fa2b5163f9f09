/**
 * Issue 21: a tenant's lockout limits and token hook (`TenantRecord.settings`), resolved
 * against the server's: what the tenant sets wins, what it leaves out is the server's.
 */
import { createHmac } from 'node:crypto';
import type { FailureLimits } from '../client-auth/failure-limiter.js';
import type { TokenHookSettings } from '../config.js';
import { options } from '../config/options.js';
import type { TenantHookSetting, TenantSettings } from '../store/contract.js';

const limitNames = ['perClient', 'perAddress', 'windowSeconds', 'lockSeconds'] as const;

const positiveInteger = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value) && value >= 1;

/**
 * The settings a stored JSON document holds, every member checked: one that does not fit
 * (a row written by hand, or by a later version) is left out, so it falls back to the
 * server's rather than break the tenant.
 */
export function readTenantSettings(value: unknown): TenantSettings {
  if (typeof value !== 'object' || value === null) return {};
  const stored = value as Record<string, unknown>;
  const settings: TenantSettings = {};
  const limits = stored.authFailureLimits;
  if (typeof limits === 'object' && limits !== null) {
    const own: NonNullable<TenantSettings['authFailureLimits']> = {};
    for (const name of limitNames) {
      const limit = (limits as Record<string, unknown>)[name];
      if (positiveInteger(limit)) own[name] = limit;
    }
    if (Object.keys(own).length > 0) settings.authFailureLimits = own;
  }
  const hook = stored.tokenHook;
  if (hook === 'none') settings.tokenHook = 'none';
  else if (typeof hook === 'object' && hook !== null) {
    const { url, timeoutMs, failure } = hook as Record<string, unknown>;
    if (typeof url === 'string') {
      const own: TenantHookSetting = { url };
      if (positiveInteger(timeoutMs)) own.timeoutMs = timeoutMs;
      if (failure === 'deny' || failure === 'allow') own.failure = failure;
      settings.tokenHook = own;
    }
  }
  return settings;
}

/** The tenant's lockout limits: its own, else the server's, one by one. */
export function tenantFailureLimits(
  server: FailureLimits,
  settings: TenantSettings,
): FailureLimits {
  return { ...server, ...settings.authFailureLimits };
}

/** A tenant hook's timeout and failure mode when neither it nor the server sets one: the options'. */
const defaultHookTimeoutMs = options.tokenHookTimeout.default!;
const defaultHookFailure = options.tokenHookFailure.default!;

/**
 * The tenant's token hook: `own` when it has its own (signed with {@link tenantHookSecret}),
 * the server's as is when it sets none, undefined when it has `none` or the server has none.
 */
export function tenantTokenHook(
  server: TokenHookSettings | undefined,
  settings: TenantSettings,
): { hook: TokenHookSettings; own: boolean } | undefined {
  const setting = settings.tokenHook;
  if (setting === 'none') return undefined;
  if (setting === undefined) return server && { hook: server, own: false };
  return {
    hook: {
      url: setting.url,
      timeoutMs: setting.timeoutMs ?? server?.timeoutMs ?? defaultHookTimeoutMs,
      failure: setting.failure ?? server?.failure ?? defaultHookFailure,
    },
    own: true,
  };
}

/**
 * The HMAC key of tenant `tenant`'s own token hook: HMAC-SHA256(TESSERA_TOKEN_HOOK_SECRET,
 * "tessera tenant token hook\0" + name), hex. Derived, so no secret is stored with the
 * tenant, and one tenant's receiver cannot verify (or forge) another tenant's calls.
 * `tessera tenants hook-secret NAME` prints it for the tenant's receiver.
 */
export function tenantHookSecret(serverSecret: string, tenant: string): string {
  return createHmac('sha256', serverSecret)
    .update(`tessera tenant token hook\u0000${tenant}`)
    .digest('hex');
}
