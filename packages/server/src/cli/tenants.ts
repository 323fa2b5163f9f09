/** `tessera tenants …` (issue 21): tenants of this deployment, each with its own issuer. */
import { tokenHookSecret } from '../config.js';
import { openStore, parseDatabaseUrl } from '../store/open-store.js';
import type { Store, TenantPatch } from '../store/contract.js';
import { defaultTenant } from '../tenants/tenant-name.js';
import {
  newTenant,
  tenantPatch,
  TenantError,
  validTenantName,
  type TenantInput,
} from '../tenants/tenant-input.js';
import { tenantHookSecret } from '../tenants/tenant-settings.js';
import { tenantSettingsView, tenantView } from '../views/record-views.js';
import {
  cliActor,
  cliConfig,
  databaseOption,
  type CommonFlags,
  onePositional,
  parse,
  print,
  printJson,
  runSubcommand,
} from './common.js';
import { table } from './output.js';
import { UsageError } from './usage.js';

const settingOptions = {
  issuer: { type: 'string' },
  preset: { type: 'string' },
  'token-ttl': { type: 'string' },
  'signing-alg': { type: 'string' },
  'default-audience': { type: 'string' },
  'auth-max-failures-per-client': { type: 'string' },
  'auth-max-failures-per-address': { type: 'string' },
  'auth-failure-window': { type: 'string' },
  'auth-lock-seconds': { type: 'string' },
  'token-hook': { type: 'string' },
  'token-hook-timeout': { type: 'string' },
  'token-hook-failure': { type: 'string' },
} as const;

/** The lockout limit flags, as the server's options spell them, and the setting each sets. */
const limitFlags = [
  ['auth-max-failures-per-client', 'perClient'],
  ['auth-max-failures-per-address', 'perAddress'],
  ['auth-failure-window', 'windowSeconds'],
  ['auth-lock-seconds', 'lockSeconds'],
] as const;

export async function tenantsCommand(args: string[]): Promise<void> {
  return runSubcommand(
    'tenants',
    { create, list, show, update, delete: remove, 'hook-secret': hookSecret },
    args,
  );
}

async function withStore<T>(
  flags: CommonFlags,
  fn: (store: Store, serverIssuer: string) => Promise<T>,
): Promise<T> {
  const config = cliConfig(flags);
  const store = await openStore(parseDatabaseUrl(config.database));
  try {
    await store.migrate();
    return await fn(store, config.issuer);
  } finally {
    await store.close();
  }
}

/** The settings flags as a tenant input; on update `none` clears one back to the server's. */
function settingsInput(
  values: Partial<Record<keyof typeof settingOptions, string>>,
  clearable: boolean,
): TenantInput {
  const read = (value: string | undefined) =>
    value === undefined ? undefined : clearable && value === 'none' ? null : value;
  const ttl = read(values['token-ttl']);
  if (ttl !== undefined && ttl !== null && !/^\d+$/.test(ttl))
    throw new UsageError('--token-ttl must be a whole number of seconds');
  return {
    issuer: read(values.issuer),
    preset: read(values.preset),
    tokenTtl: ttl === undefined || ttl === null ? ttl : Number(ttl),
    signingAlg: read(values['signing-alg']),
    defaultAudience: read(values['default-audience']),
    ...lockoutAndHookInput(values, clearable),
  };
}

/**
 * The lockout limit and token hook flags. On update `inherit` puts one back to the server's
 * (`--token-hook none` is a setting of its own: no hook at this tenant).
 */
function lockoutAndHookInput(
  values: Partial<Record<keyof typeof settingOptions, string>>,
  clearable: boolean,
): Pick<TenantInput, 'authFailureLimits' | 'tokenHook'> {
  const inherit = (value: string | undefined) => clearable && value === 'inherit';
  const whole = (flag: string, value: string | undefined): number | null | undefined => {
    if (value === undefined) return undefined;
    if (inherit(value)) return null;
    if (!/^\d+$/.test(value))
      throw new UsageError(
        `--${flag} must be a whole number${clearable ? ' (or inherit: the server’s)' : ''}`,
      );
    return Number(value);
  };
  const input: Pick<TenantInput, 'authFailureLimits' | 'tokenHook'> = {};
  const limits: NonNullable<TenantInput['authFailureLimits']> = {};
  for (const [flag, name] of limitFlags) {
    const limit = whole(flag, values[flag]);
    if (limit !== undefined) limits[name] = limit;
  }
  if (Object.keys(limits).length > 0) input.authFailureLimits = limits;
  const url = values['token-hook'];
  const timeout = whole('token-hook-timeout', values['token-hook-timeout']);
  const failureFlag = values['token-hook-failure'];
  const failure = failureFlag !== undefined && inherit(failureFlag) ? null : failureFlag;
  const tuned = timeout !== undefined || failure !== undefined;
  if (url === 'none' || (url !== undefined && inherit(url))) {
    if (tuned)
      throw new UsageError(
        `--token-hook ${url} takes no --token-hook-timeout or --token-hook-failure`,
      );
    input.tokenHook = url === 'none' ? 'none' : null;
  } else if (url !== undefined || tuned) {
    input.tokenHook = { url, timeoutMs: timeout, failure };
  }
  return input;
}

/**
 * A tenant's own hook is signed with a key derived from TESSERA_TOKEN_HOOK_SECRET: refused
 * here when this process has none, rather than found out by its first token request.
 */
function needHookSecret(input: TenantInput): void {
  if (typeof input.tokenHook === 'object' && input.tokenHook !== null && !tokenHookSecret())
    throw new TenantError(
      'a tenant’s own token hook needs TESSERA_TOKEN_HOOK_SECRET (its key is derived from it: see tenants hook-secret)',
      'invalid_tenant',
    );
}

/** The settings an audit entry records, under the names `tenants show` uses. */
function auditDetails(patch: TenantPatch): Record<string, unknown> {
  const names: Array<[keyof TenantPatch, string]> = [
    ['issuer', 'issuer'],
    ['preset', 'preset'],
    ['tokenTtl', 'token_ttl'],
    ['signingAlg', 'signing_alg'],
    ['defaultAudience', 'default_audience'],
  ];
  const details: Record<string, unknown> = {};
  for (const [field, name] of names) if (patch[field] !== undefined) details[name] = patch[field];
  if (patch.settings !== undefined) Object.assign(details, tenantSettingsView(patch.settings));
  return details;
}

function audit(action: string, target: string, details: Record<string, unknown> = {}) {
  return [{ at: Math.floor(Date.now() / 1000), actor: cliActor(), action, target, details }];
}

function printTenant(view: ReturnType<typeof tenantView>, json: boolean | undefined): void {
  if (json) return printJson(view);
  for (const [name, value] of Object.entries(view))
    print(
      `${name}: ${value === null ? '-' : typeof value === 'object' ? JSON.stringify(value) : String(value)}`,
    );
}

async function create(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, {
    ...databaseOption,
    ...settingOptions,
    json: { type: 'boolean' },
  });
  const name = onePositional(positionals, 'tenant name');
  const input = settingsInput(values, false);
  const record = newTenant(name, input);
  needHookSecret(input);
  const view = await withStore(values, async (store, issuer) => {
    if (await store.getTenant(record.name))
      throw new TenantError(`a tenant named ${record.name} already exists`, 'conflict');
    const created = await store.createTenant(
      record,
      audit('tenant.create', record.name, auditDetails(record)),
    );
    return tenantView(created, issuer);
  });
  // The first signing key is made by the server on the tenant's first use (it holds the KEK).
  printTenant(view, values.json);
}

async function update(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, {
    ...databaseOption,
    ...settingOptions,
    json: { type: 'boolean' },
  });
  const name = existingName(onePositional(positionals, 'tenant name'));
  const input = settingsInput(values, true);
  if (Object.values(input).every((value) => value === undefined))
    throw new UsageError('tenants update needs a setting to change');
  needHookSecret(input);
  const view = await withStore(values, async (store, issuer) => {
    const current = await store.getTenant(name);
    if (!current) throw new TenantError(`no tenant named ${name}`, 'not_found');
    const patch = tenantPatch(input, current.settings);
    const updated = await store.updateTenant(
      name,
      patch,
      audit('tenant.update', name, auditDetails(patch)),
    );
    if (!updated) throw new TenantError(`no tenant named ${name}`, 'not_found');
    return tenantView(updated, issuer);
  });
  printTenant(view, values.json);
}

async function list(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, { ...databaseOption, json: { type: 'boolean' } });
  if (positionals.length > 0) throw new UsageError('tenants list takes no arguments');
  const views = await withStore(values, async (store, issuer) =>
    (await store.listTenants()).map((tenant) => tenantView(tenant, issuer)),
  );
  if (values.json) return printJson(views);
  print(
    views.length === 0
      ? 'No tenants besides default.'
      : table(views, [
          'name',
          'effective_issuer',
          'preset',
          'token_ttl',
          'signing_alg',
          'created_at',
        ]),
  );
}

async function show(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, { ...databaseOption, json: { type: 'boolean' } });
  const name = existingName(onePositional(positionals, 'tenant name'));
  const view = await withStore(values, async (store, issuer) => {
    const tenant = await store.getTenant(name);
    if (!tenant) throw new TenantError(`no tenant named ${name}`, 'not_found');
    return tenantView(tenant, issuer);
  });
  printTenant(view, values.json);
}

async function remove(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, {
    ...databaseOption,
    force: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  const name = existingName(onePositional(positionals, 'tenant name'));
  const clients = await withStore(values, async (store) => {
    if (!(await store.getTenant(name)))
      throw new TenantError(`no tenant named ${name}`, 'not_found');
    const { clients: some } = await store.forTenant(name).listClientPage({ limit: 1 });
    if (some.length > 0 && !values.force)
      throw new TenantError(
        `tenant ${name} still has clients; delete them first or pass --force (deletes them, its keys and revocations)`,
        'conflict',
      );
    await store.deleteTenant(name, audit('tenant.delete', name, { force: values.force === true }));
    return some.length;
  });
  if (values.json) return printJson({ deleted: name });
  print(`Deleted tenant ${name}${clients > 0 ? ' with its clients' : ''}.`);
}

/**
 * `tenants hook-secret NAME`: the key the tenant's own token hook is signed with, derived
 * from TESSERA_TOKEN_HOOK_SECRET, for that tenant's receiver (and only its).
 */
async function hookSecret(args: string[]): Promise<void> {
  const { values, positionals } = parse(args, { ...databaseOption, json: { type: 'boolean' } });
  const name = existingName(onePositional(positionals, 'tenant name'));
  const secret = tokenHookSecret();
  if (!secret)
    throw new UsageError('tenants hook-secret needs TESSERA_TOKEN_HOOK_SECRET in the environment');
  await withStore(values, async (store) => {
    if (!(await store.getTenant(name)))
      throw new TenantError(`no tenant named ${name}`, 'not_found');
  });
  const key = tenantHookSecret(secret, name);
  if (values.json) return printJson({ tenant: name, hook_secret: key });
  print(key);
}

/** A tenant name given on the command line, for a command on an existing tenant. */
function existingName(name: string): string {
  if (name === defaultTenant)
    throw new TenantError('the default tenant is the server configuration itself', 'conflict');
  return validTenantName(name);
}
