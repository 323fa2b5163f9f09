/**
 * Issue 21: validating what a tenant is created or changed with, once for the CLI and the
 * admin API, and resolving a tenant name to its scoped store.
 */
import { signingAlgorithms, type SigningAlgorithm } from '@tessera/protocol';
import { options } from '../config/options.js';
import { InvalidValue, type Option } from '../config/option.js';
import { presets } from '../presets/index.js';
import type {
  NewTenant,
  Store,
  TenantHookSetting,
  TenantPatch,
  TenantSettings,
} from '../store/contract.js';
import { defaultTenant, isTenantName } from './tenant-name.js';
import { readTenantSettings } from './tenant-settings.js';

/** A refused tenant input or an unknown tenant; `code` says which (CLI exit 1, admin 400/404/409). */
export class TenantError extends Error {
  override name = 'TenantError';
  constructor(
    message: string,
    readonly code: 'invalid_tenant' | 'not_found' | 'conflict',
  ) {
    super(message);
  }
}

/** What `tenants create` / `update` take; null clears a setting back to the server's. */
export interface TenantInput {
  issuer?: string | null | undefined;
  preset?: string | null | undefined;
  tokenTtl?: number | null | undefined;
  signingAlg?: string | null | undefined;
  defaultAudience?: string | null | undefined;
  /** Own lockout limits, one by one; null clears one (or, for the whole, all) to the server's. */
  authFailureLimits?: Partial<Record<LimitName, number | null | undefined>> | null | undefined;
  /**
   * Own token hook: given members replace the tenant's (a URL is needed unless it has its
   * own hook already); `none`: no hook at this tenant; null: the server's again.
   */
  tokenHook?: TenantHookInput | 'none' | null | undefined;
}

export interface TenantHookInput {
  url?: string | undefined;
  /** null: the server's `--token-hook-timeout` again. */
  timeoutMs?: number | null | undefined;
  /** `deny` or `allow`; null: the server's `--token-hook-failure` again. */
  failure?: string | null | undefined;
}

type LimitName = 'perClient' | 'perAddress' | 'windowSeconds' | 'lockSeconds';

/** Each limit is bounded as its server option is (the option table's parser). */
const limitOptions: Record<LimitName, [Option<number>, string]> = {
  perClient: [options.authMaxFailuresPerClient, 'auth max failures per client'],
  perAddress: [options.authMaxFailuresPerAddress, 'auth max failures per address'],
  windowSeconds: [options.authFailureWindow, 'auth failure window'],
  lockSeconds: [options.authLockSeconds, 'auth lock seconds'],
};

/** `value` through a server option's parser, its complaint a TenantError naming `what`. */
function asOption<T>(option: Option<T>, value: string | number, what: string): T {
  try {
    return option.parse!(value, 'flag');
  } catch (error) {
    if (error instanceof InvalidValue)
      throw new TenantError(`${what} ${error.message}`, 'invalid_tenant');
    throw error;
  }
}

function limitsSetting(
  current: TenantSettings['authFailureLimits'],
  input: NonNullable<TenantInput['authFailureLimits']>,
): TenantSettings['authFailureLimits'] {
  const limits = { ...current };
  for (const [name, value] of Object.entries(input) as Array<[LimitName, number | null]>) {
    const known = limitOptions[name];
    if (known === undefined)
      throw new TenantError(`unknown lockout limit ${JSON.stringify(name)}`, 'invalid_tenant');
    if (value === undefined) continue;
    if (value === null) delete limits[name];
    else {
      if (typeof value !== 'number')
        throw new TenantError(`${known[1]} must be an integer`, 'invalid_tenant');
      limits[name] = asOption(known[0], value, known[1]);
    }
  }
  return Object.keys(limits).length > 0 ? limits : undefined;
}

function hookSetting(
  current: TenantSettings['tokenHook'],
  input: TenantHookInput,
): TenantHookSetting {
  const own = typeof current === 'object' ? current : undefined;
  const url = input.url ?? own?.url;
  if (url === undefined)
    throw new TenantError(
      'a token hook timeout or failure mode needs the tenant’s own token hook URL',
      'invalid_tenant',
    );
  const hook: TenantHookSetting = { url: asOption(options.tokenHook, url, 'token hook') };
  const timeout = input.timeoutMs === undefined ? own?.timeoutMs : input.timeoutMs;
  if (timeout !== null && timeout !== undefined) {
    if (typeof timeout !== 'number')
      throw new TenantError('token hook timeout must be an integer (ms)', 'invalid_tenant');
    hook.timeoutMs = asOption(options.tokenHookTimeout, timeout, 'token hook timeout');
  }
  const failure = input.failure === undefined ? own?.failure : input.failure;
  if (failure !== null && failure !== undefined)
    hook.failure = asOption(options.tokenHookFailure, failure, 'token hook failure');
  return hook;
}

/**
 * The settings document after `input`, from `current` (the stored one; `{}` for a new
 * tenant); undefined when `input` changes none of them.
 */
export function settingsPatch(
  current: TenantSettings,
  input: TenantInput,
): TenantSettings | undefined {
  if (input.authFailureLimits === undefined && input.tokenHook === undefined) return undefined;
  const settings: TenantSettings = { ...readTenantSettings(current) };
  if (input.authFailureLimits !== undefined) {
    const limits =
      input.authFailureLimits === null
        ? undefined
        : limitsSetting(settings.authFailureLimits, input.authFailureLimits);
    if (limits === undefined) delete settings.authFailureLimits;
    else settings.authFailureLimits = limits;
  }
  const hook = input.tokenHook;
  if (hook === null) delete settings.tokenHook;
  else if (hook === 'none') settings.tokenHook = 'none';
  else if (hook !== undefined) settings.tokenHook = hookSetting(settings.tokenHook, hook);
  return settings;
}

const maxTokenTtl = 86400;

export function validTenantName(name: string): string {
  if (!isTenantName(name))
    throw new TenantError(
      `tenant name must match [a-z0-9][a-z0-9-]{0,62}, got ${JSON.stringify(name.slice(0, 80))}`,
      'invalid_tenant',
    );
  return name;
}

function absoluteUrl(value: string, what: string, httpsOnly: boolean): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TenantError(`${what} must be an absolute URL`, 'invalid_tenant');
  }
  const schemes = httpsOnly ? ['https:', 'http:'] : undefined;
  if (schemes && !schemes.includes(url.protocol))
    throw new TenantError(`${what} must be an http(s) URL`, 'invalid_tenant');
  if (httpsOnly && (url.search !== '' || url.hash !== ''))
    throw new TenantError(`${what} must not have a query or fragment`, 'invalid_tenant');
  return value;
}

/**
 * The patch `input` describes, each field checked; undefined fields stay as they are. The
 * settings document is merged into `current` (the tenant's stored one).
 */
export function tenantPatch(input: TenantInput, current: TenantSettings = {}): TenantPatch {
  const patch: TenantPatch = {};
  const settings = settingsPatch(current, input);
  if (settings !== undefined) patch.settings = settings;
  if (input.issuer !== undefined)
    patch.issuer =
      input.issuer === null ? null : absoluteUrl(input.issuer, 'issuer', true).replace(/\/$/, '');
  if (input.preset !== undefined) {
    if (input.preset !== null && !presets.has(input.preset))
      throw new TenantError(
        `unknown preset ${JSON.stringify(input.preset)}; known presets: ${[...presets.keys()].join(', ')}`,
        'invalid_tenant',
      );
    patch.preset = input.preset;
  }
  if (input.tokenTtl !== undefined) {
    const ttl = input.tokenTtl;
    if (ttl !== null && (!Number.isInteger(ttl) || ttl < 1 || ttl > maxTokenTtl))
      throw new TenantError(
        `token TTL must be an integer from 1 to ${maxTokenTtl} seconds`,
        'invalid_tenant',
      );
    patch.tokenTtl = ttl;
  }
  if (input.signingAlg !== undefined) {
    const alg = input.signingAlg;
    if (alg !== null && !signingAlgorithms.includes(alg as SigningAlgorithm))
      throw new TenantError(
        `signing algorithm must be one of ${signingAlgorithms.join(', ')}`,
        'invalid_tenant',
      );
    patch.signingAlg = alg as SigningAlgorithm | null;
  }
  if (input.defaultAudience !== undefined)
    patch.defaultAudience =
      input.defaultAudience === null
        ? null
        : absoluteUrl(input.defaultAudience, 'default audience', false);
  return patch;
}

/** A new tenant: its name and settings checked, unset settings null (the server's). */
export function newTenant(name: string, input: TenantInput): NewTenant {
  if (name === defaultTenant) throw new TenantError('the default tenant always exists', 'conflict');
  const patch = tenantPatch(input);
  return {
    name: validTenantName(name),
    issuer: patch.issuer ?? null,
    preset: patch.preset ?? null,
    tokenTtl: patch.tokenTtl ?? null,
    signingAlg: patch.signingAlg ?? null,
    defaultAudience: patch.defaultAudience ?? null,
    settings: patch.settings ?? {},
  };
}

/**
 * The store scoped to tenant `name` (the store itself for `default` or no name), or a
 * TenantError `not_found` when no such tenant exists.
 */
export async function tenantStore(store: Store, name: string | undefined): Promise<Store> {
  if (name === undefined || name === defaultTenant) return store;
  if (!isTenantName(name) || !(await store.getTenant(name)))
    throw new TenantError(`no tenant named ${JSON.stringify(name.slice(0, 80))}`, 'not_found');
  return store.forTenant(name);
}
