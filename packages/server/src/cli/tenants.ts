/** `tessera tenants …` (issue 21): tenants of this deployment, each with its own issuer. */
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
import { tenantView } from '../views/record-views.js';
import {
  cliActor,
  cliConfig,
  databaseOption,
  type CommonFlags,
  onePositional,
  parse,
  print,
  printJson,
} from './common.js';
import { table } from './output.js';
import { UsageError } from './usage.js';

const settingOptions = {
  issuer: { type: 'string' },
  preset: { type: 'string' },
  'token-ttl': { type: 'string' },
  'signing-alg': { type: 'string' },
  'default-audience': { type: 'string' },
} as const;

export async function tenantsCommand(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'create':
      return create(rest);
    case 'update':
      return update(rest);
    case 'list':
      return list(rest);
    case 'show':
      return show(rest);
    case 'delete':
      return remove(rest);
    default:
      throw new UsageError(
        sub
          ? `unknown tenants command: ${sub}`
          : 'tenants needs a command: create, list, show, update, delete',
      );
  }
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
  };
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
  const record = newTenant(name, settingsInput(values, false));
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
  const patch = tenantPatch(settingsInput(values, true));
  if (Object.keys(patch).length === 0)
    throw new UsageError('tenants update needs a setting to change');
  const view = await withStore(values, async (store, issuer) => {
    const updated = await store.updateTenant(
      name,
      patch,
      audit('tenant.update', name, { ...patch }),
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

/** A tenant name given on the command line, for a command on an existing tenant. */
function existingName(name: string): string {
  if (name === defaultTenant)
    throw new TenantError('the default tenant is the server configuration itself', 'conflict');
  return validTenantName(name);
}
