/**
 * Issue 21: the admin API of tenants. `/admin/v1/tenants` manages the tenants themselves;
 * `/admin/v1/tenants/{tenant}/…` are the client, key and audit routes of `/admin/v1/…`
 * (which keep meaning the default tenant) over one tenant's context: its scoped store, key
 * ring and client cache, so its clients, keys and audit entries stay in it. Each tenant
 * route is mounted once for every tenant; the tenant's own handlers are made on its first
 * admin request (one table per tenant context, rebuilt when the tenant changes).
 *
 * Who may call what: an admin token of the default tenant's admin clients manages every
 * tenant; one of a tenant's own admin clients (its issuer, its keys: admin-auth.ts) manages
 * only that tenant's clients, keys and audit trail and reads only its own tenant record;
 * creating, changing and deleting tenants, and every other admin route, is the default
 * tenant's. The roles (admin-roles.ts) apply as on the default routes; a person's role on one
 * tenant counts on that tenant's routes (`tenantScope: 'path'`) and nowhere else.
 */
import { OAuthError } from '@tessera/protocol';
import { signingAlgorithms } from '@tessera/protocol';
import type { TesseraContext } from '../../context.js';
import type { AuditEntry, TenantRecord } from '../../store/contract.js';
import { defaultTenant } from '../../tenants/tenant-name.js';
import {
  newTenant,
  tenantPatch,
  TenantError,
  validTenantName,
  type TenantInput,
} from '../../tenants/tenant-input.js';
import { tenantSettingsView, tenantView } from '../../views/record-views.js';
import { int, json, list, nullable, object, ref, str } from '../endpoint.js';
import type { Endpoint, EndpointRequest, JsonSchema } from '../endpoint.js';
import { auditAbout } from './admin-audit.js';
import { adminClientEndpoints } from './admin-clients.js';
import { objectBody } from './admin-input.js';
import { adminKeyEndpoints } from './admin-keys.js';
import { visibleTenants, type AdminCaller } from './admin-roles.js';

/** Where the default tenant's client, key and audit routes sit, and the tenants' twins. */
const adminPrefix = '/admin/v1';
const tenantsPath = `${adminPrefix}/tenants`;
const tenantPrefix = `${tenantsPath}/:tenant`;

/** The shared schemas of the tenant routes (merged into /openapi.json's components). */
const limit = (maximum: number): JsonSchema => ({ ...nullable(int), minimum: 1, maximum });
/** A tenant's own lockout limits; null (or absent in a change): the server's. */
const limitsSchema: JsonSchema = {
  ...object(
    {},
    {
      per_client: limit(1_000_000),
      per_address: limit(1_000_000),
      window_seconds: limit(86400),
      lock_seconds: limit(86400),
    },
  ),
  additionalProperties: false,
};
const hookObject = (urlRequired: boolean): JsonSchema => ({
  ...object(urlRequired ? { url: { ...str, format: 'uri' } } : {}, {
    ...(urlRequired ? {} : { url: { ...str, format: 'uri' } }),
    timeout_ms: { ...nullable(int), minimum: 1, maximum: 60_000 },
    failure: { enum: ['deny', 'allow', null] },
  }),
  additionalProperties: false,
});

export const tenantSchemas: Record<string, JsonSchema> = {
  Tenant: object({
    ...{ name: str, issuer: nullable(str), effective_issuer: str, preset: nullable(str) },
    ...{ token_ttl: nullable(int), signing_alg: nullable(str), default_audience: nullable(str) },
    auth_failure_limits: {
      ...limitsSchema,
      required: ['per_client', 'per_address', 'window_seconds', 'lock_seconds'],
    },
    token_hook: {
      oneOf: [{ type: 'null' }, { const: 'none' }, hookObject(true)],
      description:
        'null: the server’s --token-hook; none: no hook at this tenant; else its own (signed with the key `tessera tenants hook-secret` prints)',
    },
    ...{ created_at: str, updated_at: str },
  }),
  TenantInput: {
    ...object(
      {},
      {
        issuer: { ...nullable(str), format: 'uri', description: 'Default: <server issuer>/t/NAME' },
        preset: nullable(str),
        token_ttl: { ...nullable(int), minimum: 1, maximum: 86400 },
        signing_alg: { enum: [...signingAlgorithms, null] },
        default_audience: { ...nullable(str), format: 'uri' },
        auth_failure_limits: {
          oneOf: [{ type: 'null' }, limitsSchema],
          description:
            'Its own lockout limits; each given replaces the tenant’s, null: the server’s',
        },
        token_hook: {
          oneOf: [{ type: 'null' }, { const: 'none' }, hookObject(false)],
          description:
            'Its own token hook (members given replace the tenant’s; url needed unless it has one); none: no hook at this tenant; null: the server’s',
        },
      },
    ),
    description: 'null sets a setting back to the server’s',
  },
};

/**
 * The tenant whose admin clients issued the caller's token; a person counts as the default
 * tenant's here: which tenants a person's roles reach is the role hook's check (`tenantScope`).
 */
const callerTenant = (caller: AdminCaller | undefined) => caller?.tenant ?? defaultTenant;

function elsewhere(caller: AdminCaller, what: string): OAuthError {
  return new OAuthError(
    'insufficient_scope',
    `This admin token is of tenant ${callerTenant(caller)}; it cannot ${what}`,
    { status: 403 },
  );
}

/**
 * The tenant check of every admin route, after the role check: a tenant's admin token only
 * reaches its own tenant's routes (`tenant` is the route's `{tenant}`, or undefined for a
 * route of the deployment: the default tenant's routes, operators, activity, tenant CRUD).
 */
export function authorizeTenant(
  caller: AdminCaller | undefined,
  tenant: string | undefined,
  what = 'manage another tenant',
): void {
  const own = callerTenant(caller);
  if (own === defaultTenant) return;
  if (tenant !== own) throw elsewhere(caller!, what);
}

/**
 * Every admin endpoint of the table refuses a tenant's admin token outside its tenant: the
 * one place this is checked for the routes that predate tenants (they are the default
 * tenant's and the deployment's).
 */
export function withTenantCheck(table: Endpoint[]): Endpoint[] {
  return table.map((endpoint) => {
    if (endpoint.caller !== 'admin' || endpoint.paths.some((path) => path.startsWith(tenantsPath)))
      return endpoint;
    const { handle } = endpoint;
    return {
      ...endpoint,
      handle: (request: EndpointRequest) => {
        authorizeTenant(request.caller, undefined, 'use the default tenant’s admin routes');
        return handle(request);
      },
    };
  });
}

/** The client, key and audit routes over one context (the default's or a tenant's). */
function scopedEndpoints(context: TesseraContext): Endpoint[] {
  const { store, hasher, nowSeconds, clients, config, keys } = context;
  return [
    ...adminClientEndpoints({ store, hasher, nowSeconds, clients, config, quotas: context.quotas }),
    ...adminKeyEndpoints({ store, keys, nowSeconds, config }),
  ];
}

const routeKey = (method: string, path: string) => `${method} ${path}`;
const scopedTables = new WeakMap<TesseraContext, Map<string, Endpoint>>();

function scopedTable(context: TesseraContext): Map<string, Endpoint> {
  let table = scopedTables.get(context);
  if (!table) {
    table = new Map();
    for (const endpoint of scopedEndpoints(context))
      for (const path of endpoint.paths) table.set(routeKey(endpoint.method, path), endpoint);
    scopedTables.set(context, table);
  }
  return table;
}

const noTenant = (name: string) =>
  new OAuthError('not_found', `No tenant ${name}`.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '?'));

/** The context of the route's `{tenant}` (`default`: the server's own), or a 404. */
async function tenantContext(context: TesseraContext, name: string): Promise<TesseraContext> {
  if (name === defaultTenant) return context;
  const found = await context.tenants.get(name);
  if (!found) throw noTenant(name);
  return found;
}

function tenantError(error: unknown): never {
  if (!(error instanceof TenantError)) throw error;
  const code = error.code === 'invalid_tenant' ? 'invalid_request' : error.code;
  throw new OAuthError(code, error.message);
}

/** The settings of a create or update body, under the names `tenants show` uses. */
function tenantInput(body: Record<string, unknown>): TenantInput {
  const text = (field: string) => {
    const value = body[field];
    if (value === undefined || value === null || typeof value === 'string') return value;
    throw new OAuthError('invalid_request', `${field} must be a string or null`);
  };
  const ttl = body.token_ttl;
  if (ttl !== undefined && ttl !== null && typeof ttl !== 'number')
    throw new OAuthError('invalid_request', 'token_ttl must be an integer or null');
  return {
    issuer: text('issuer'),
    preset: text('preset'),
    tokenTtl: ttl,
    signingAlg: text('signing_alg'),
    defaultAudience: text('default_audience'),
    ...lockoutAndHookInput(body),
  };
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `auth_failure_limits` and `token_hook` of a body; unknown members are refused. */
function lockoutAndHookInput(
  body: Record<string, unknown>,
): Pick<TenantInput, 'authFailureLimits' | 'tokenHook'> {
  const input: Pick<TenantInput, 'authFailureLimits' | 'tokenHook'> = {};
  const number = (value: unknown, field: string): number | null | undefined => {
    if (value === undefined || value === null || typeof value === 'number') return value;
    throw new OAuthError('invalid_request', `${field} must be an integer or null`);
  };
  const limits = body.auth_failure_limits;
  if (limits === null) input.authFailureLimits = null;
  else if (limits !== undefined) {
    if (!isObject(limits))
      throw new OAuthError('invalid_request', 'auth_failure_limits must be an object or null');
    const names = {
      per_client: 'perClient',
      per_address: 'perAddress',
      window_seconds: 'windowSeconds',
      lock_seconds: 'lockSeconds',
    } as const;
    const own: NonNullable<TenantInput['authFailureLimits']> = {};
    for (const [field, value] of Object.entries(limits)) {
      const name = names[field as keyof typeof names] as
        (typeof names)[keyof typeof names] | undefined;
      if (name === undefined)
        throw new OAuthError(
          'invalid_request',
          `auth_failure_limits takes ${Object.keys(names).join(', ')}`,
        );
      own[name] = number(value, `auth_failure_limits.${field}`);
    }
    input.authFailureLimits = own;
  }
  const hook = body.token_hook;
  if (hook === null || hook === 'none') input.tokenHook = hook;
  else if (hook !== undefined) {
    if (!isObject(hook))
      throw new OAuthError(
        'invalid_request',
        'token_hook must be an object, the string none, or null',
      );
    const unknown = Object.keys(hook).find(
      (key) => !['url', 'timeout_ms', 'failure'].includes(key),
    );
    if (unknown !== undefined)
      throw new OAuthError('invalid_request', 'token_hook takes url, timeout_ms and failure');
    const { url, timeout_ms: timeout, failure } = hook;
    if (url !== undefined && typeof url !== 'string')
      throw new OAuthError('invalid_request', 'token_hook.url must be a string');
    if (failure !== undefined && failure !== null && typeof failure !== 'string')
      throw new OAuthError('invalid_request', 'token_hook.failure must be deny, allow or null');
    input.tokenHook = { url, timeoutMs: number(timeout, 'token_hook.timeout_ms'), failure };
  }
  return input;
}

const settingNames: Array<[keyof TenantInput, string]> = [
  ['issuer', 'issuer'],
  ['preset', 'preset'],
  ['tokenTtl', 'token_ttl'],
  ['signingAlg', 'signing_alg'],
  ['defaultAudience', 'default_audience'],
];

function auditEntry(
  request: EndpointRequest,
  action: string,
  target: string,
  details: Record<string, unknown>,
  at: number,
): AuditEntry {
  return { at, ...auditAbout(request), action, target, details } as AuditEntry;
}

function settingsDetails(patch: Partial<TenantRecord>): Record<string, unknown> {
  const details: Record<string, unknown> = {};
  for (const [field, name] of settingNames)
    if (patch[field as keyof TenantRecord] !== undefined)
      details[name] = patch[field as keyof TenantRecord];
  if (patch.settings !== undefined) Object.assign(details, tenantSettingsView(patch.settings));
  return details;
}

/** A tenant's own hook is signed with a key derived from TESSERA_TOKEN_HOOK_SECRET. */
function needHookSecret(context: TesseraContext, input: TenantInput): void {
  if (
    typeof input.tokenHook === 'object' &&
    input.tokenHook !== null &&
    !context.hasTokenHookSecret
  )
    throw new OAuthError(
      'invalid_request',
      'A tenant’s own token hook needs TESSERA_TOKEN_HOOK_SECRET, which this server does not have',
    );
}

/** The name of a route's `{tenant}` for a tenant record route: not `default`, well formed. */
function recordName(request: EndpointRequest): string {
  const name = request.path!.tenant!;
  if (name === defaultTenant)
    throw new OAuthError(
      'conflict',
      'the default tenant is the server configuration itself; it has no tenant record',
    );
  try {
    return validTenantName(name);
  } catch {
    throw noTenant(name);
  }
}

const tenantDoc = json('The tenant', ref('Tenant'));

/** The tenant management routes and each tenant's client, key and audit routes. */
export function adminTenantEndpoints(context: TesseraContext): Endpoint[] {
  const { store, nowSeconds } = context;
  const view = (tenant: TenantRecord) => tenantView(tenant, context.config.issuer);
  // A change made here is this process's own: its registry learns it now, not a second later.
  const changed = (name: string) => context.tenants.changed(name);

  const management: Endpoint[] = [
    {
      caller: 'admin',
      role: 'viewer',
      tenantScope: 'any',
      method: 'GET',
      paths: [tenantsPath],
      summary: 'List the tenants besides default (a tenant admin token sees only its own tenant)',
      responses: { 200: json('Tenants by name', object({ tenants: list(ref('Tenant')) })) },
      async handle(request) {
        // A tenant's admin token, or a person with roles on some tenants only, sees those.
        const visible = visibleTenants(request.caller);
        const tenants = await store.listTenants();
        return {
          status: 200,
          body: {
            tenants: tenants
              .filter((tenant) => visible === 'all' || visible.has(tenant.name))
              .map(view),
          },
        };
      },
    },
    {
      caller: 'admin',
      role: 'admin',
      method: 'POST',
      paths: [tenantsPath],
      summary: 'Create a tenant; its first signing key is made at once',
      request: {
        body: {
          ...tenantSchemas.TenantInput,
          properties: {
            name: { ...str, pattern: '^[a-z0-9][a-z0-9-]{0,62}$' },
            ...(tenantSchemas.TenantInput!.properties as object),
          },
          required: ['name'],
        },
      },
      responses: { 201: json('Created', ref('Tenant')), 400: 'invalid_request', 409: 'conflict' },
      async handle(request) {
        authorizeTenant(request.caller, undefined, 'create tenants');
        const body = objectBody(request.body);
        if (typeof body.name !== 'string')
          throw new OAuthError('invalid_request', 'name must be a string');
        const input = tenantInput(body);
        const record = (() => {
          try {
            return newTenant(body.name, input);
          } catch (error) {
            return tenantError(error);
          }
        })();
        needHookSecret(context, input);
        if (await store.getTenant(record.name))
          throw new OAuthError('conflict', `a tenant named ${record.name} already exists`);
        const created = await store
          .createTenant(record, [
            auditEntry(
              request,
              'tenant.create',
              record.name,
              settingsDetails(record),
              nowSeconds(),
            ),
          ])
          .catch(async (error: unknown) => {
            // Two creations raced: the other one won.
            if (await store.getTenant(record.name))
              throw new OAuthError('conflict', `a tenant named ${record.name} already exists`);
            throw error;
          });
        await changed(created.name);
        // Loads the tenant here, which makes its first signing key.
        await context.tenants.get(created.name);
        return {
          status: 201,
          body: view(created),
          change: { action: 'tenant.create', target: created.name },
        };
      },
    },
    {
      caller: 'admin',
      role: 'viewer',
      tenantScope: 'path',
      method: 'GET',
      paths: [tenantPrefix],
      summary: 'Show a tenant',
      responses: { 200: tenantDoc, 404: 'not_found', 409: 'conflict' },
      async handle(request) {
        authorizeTenant(request.caller, request.path!.tenant);
        const name = recordName(request);
        const tenant = await store.getTenant(name);
        if (!tenant) throw noTenant(name);
        return { status: 200, body: view(tenant) };
      },
    },
    {
      caller: 'admin',
      role: 'admin',
      method: 'PATCH',
      paths: [tenantPrefix],
      summary:
        "Change a tenant's issuer, preset, token lifetime, signing algorithm, audience, lockout limits or token hook",
      request: { body: ref('TenantInput') },
      responses: { 200: tenantDoc, 400: 'invalid_request', 404: 'not_found', 409: 'conflict' },
      async handle(request) {
        authorizeTenant(request.caller, undefined, 'change tenants');
        const name = recordName(request);
        const input = tenantInput(objectBody(request.body));
        if (Object.values(input).every((value) => value === undefined))
          throw new OAuthError('invalid_request', 'Give a setting to change');
        const current = await store.getTenant(name);
        if (!current) throw noTenant(name);
        const patch = (() => {
          try {
            // The settings document is merged with the stored one.
            return tenantPatch(input, current.settings);
          } catch (error) {
            return tenantError(error);
          }
        })();
        needHookSecret(context, input);
        const updated = await store.updateTenant(name, patch, [
          auditEntry(request, 'tenant.update', name, settingsDetails(patch), nowSeconds()),
        ]);
        if (!updated) throw noTenant(name);
        await changed(name);
        return {
          status: 200,
          body: view(updated),
          change: { action: 'tenant.update', target: name },
        };
      },
    },
    {
      caller: 'admin',
      role: 'admin',
      method: 'DELETE',
      paths: [tenantPrefix],
      summary:
        'Delete a tenant (its audit trail is kept); refused while it has clients unless force=true, which deletes them, its keys and revocations',
      request: { query: object({}, { force: { enum: ['true', 'false'] } }) },
      responses: {
        204: { description: 'Deleted' },
        400: 'invalid_request',
        404: 'not_found',
        409: 'conflict',
      },
      async handle(request) {
        authorizeTenant(request.caller, undefined, 'delete tenants');
        const name = recordName(request);
        const given = request.query?.force;
        if (given !== undefined && given !== 'true' && given !== 'false')
          throw new OAuthError('invalid_request', 'force must be true or false');
        const force = given === 'true';
        if (!(await store.getTenant(name))) throw noTenant(name);
        const { clients } = await store.forTenant(name).listClientPage({ limit: 1 });
        if (clients.length > 0 && !force)
          throw new OAuthError(
            'conflict',
            `tenant ${name} still has clients; delete them first or pass force=true (deletes them, its keys and revocations)`,
          );
        const deleted = await store.deleteTenant(name, [
          auditEntry(request, 'tenant.delete', name, { force }, nowSeconds()),
        ]);
        if (!deleted) throw noTenant(name);
        await changed(name);
        return { status: 204, change: { action: 'tenant.delete', target: name, force } };
      },
    },
  ];

  // The default tenant's routes, documented as they are, once more under the tenant prefix;
  // the handler is the tenant's own, from its context's table.
  const scoped = scopedEndpoints(context).map((endpoint): Endpoint => {
    const [path] = endpoint.paths;
    const original = path!;
    return {
      ...endpoint,
      tenantScope: 'path',
      paths: [original.replace(adminPrefix, tenantPrefix)],
      summary: `${endpoint.summary} (of the tenant)`,
      responses: { ...endpoint.responses, 404: endpoint.responses[404] ?? 'not_found' },
      async handle(request) {
        const name = request.path!.tenant!;
        authorizeTenant(request.caller, name);
        const tenant = await tenantContext(context, name);
        const handler = scopedTable(tenant).get(routeKey(endpoint.method, original))!;
        const answer = await handler.handle(request);
        return answer.change ? { ...answer, change: { ...answer.change, tenant: name } } : answer;
      },
    };
  });
  return [...management, ...scoped];
}
