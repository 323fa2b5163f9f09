import { OAuthError } from '@tessera/protocol';
import type { TesseraContext } from '../../context.js';
import { noStoreHeaders } from '../../http/error-reply.js';
import { dateTime, json, list, object, str } from '../endpoint.js';
import type { Endpoint, EndpointRequest } from '../endpoint.js';
import { isTenantName } from '../../tenants/tenant-name.js';
import { auditAbout } from './admin-audit.js';
import { objectBody, optionalString } from './admin-input.js';
import { adminRoles, isAdminRole, type AdminRole } from './admin-roles.js';
import { authorizeTenant } from './admin-tenants.js';
import { defaultTenant } from '../../tenants/tenant-name.js';

export type AdminOperatorDeps = Pick<TesseraContext, 'store' | 'nowSeconds'>;

const tenantOperatorSchema = object({
  email: str,
  role: { enum: [...adminRoles] },
  tenant: str,
  created_at: dateTime,
});

const operatorSchema = object({
  email: str,
  role: { enum: [...adminRoles] },
  created_at: dateTime,
});
const email = /^[^\s@]+@[^\s@]+$/;

/** A POSTed `{"email", "role"}`, checked: the email lower-cased, the role a known one. */
function operatorInput(raw: unknown): { address: string; role: AdminRole } {
  const body = objectBody(raw);
  const address = optionalString(body, 'email')?.toLowerCase();
  const role = optionalString(body, 'role');
  if (address === undefined || !email.test(address))
    throw new OAuthError('invalid_request', 'email must be an email address');
  if (!isAdminRole(role))
    throw new OAuthError('invalid_request', 'role must be viewer, operator or admin');
  return { address, role };
}

/**
 * The admin API's twin of `tessera operators`: the people Tessera itself gives a console role
 * (by verified email). Managing roles is the admin role's, reading them too (they name people).
 */
export function adminOperatorEndpoints(deps: AdminOperatorDeps): Endpoint[] {
  const view = (operator: { email: string; role: string; createdAt: number }) => ({
    email: operator.email,
    role: operator.role,
    created_at: new Date(operator.createdAt * 1000).toISOString(),
  });
  return [
    ...tenantOperatorEndpoints(deps),
    {
      method: 'GET',
      paths: ['/admin/v1/operators'],
      summary: 'People given a console role by Tessera (besides their identity provider groups)',
      caller: 'admin',
      role: 'admin',
      responses: { 200: json('Operators', object({ operators: list(operatorSchema) })) },
      handle: async () => ({
        status: 200,
        body: { operators: (await deps.store.listOperators()).map(view) },
      }),
    },
    {
      method: 'POST',
      paths: ['/admin/v1/operators'],
      summary: 'Give a person (by verified email) a console role, or change it',
      caller: 'admin',
      role: 'admin',
      request: { body: object({ email: str, role: { enum: [...adminRoles] } }) },
      responses: { 200: json('The operator', operatorSchema), 400: 'invalid_request' },
      async handle(request) {
        const { address, role } = operatorInput(request.body);
        const operator = { email: address, role, createdAt: deps.nowSeconds() };
        await deps.store.putOperator(operator);
        await deps.store.appendAudit({
          at: operator.createdAt,
          ...auditAbout(request),
          action: 'operator.add',
          target: address,
          details: { role },
        });
        return { status: 200, headers: noStoreHeaders, body: view(operator) };
      },
    },
    {
      method: 'DELETE',
      paths: ['/admin/v1/operators/:email'],
      summary: "Take a person's console role from Tessera's list (open sessions follow at once)",
      caller: 'admin',
      role: 'admin',
      responses: { 204: { description: 'Removed' }, 404: 'not_found' },
      async handle(request) {
        const address = (request.path?.email ?? '').toLowerCase();
        if (!(await deps.store.removeOperator(address)))
          throw new OAuthError('not_found', 'No such operator');
        await deps.store.appendAudit({
          at: deps.nowSeconds(),
          ...auditAbout(request),
          action: 'operator.remove',
          target: address,
          details: {},
        });
        return { status: 204 };
      },
    },
  ];
}

/**
 * Issue 21: the operators of one tenant, `/admin/v1/tenants/{tenant}/operators`: people with a
 * console role on that tenant's admin routes only. The admin role on the tenant manages them
 * (a deployment-wide admin, the tenant's own admin clients, or a person who is an admin of the
 * tenant); each change is in the tenant's audit trail.
 */
function tenantOperatorEndpoints(deps: AdminOperatorDeps): Endpoint[] {
  const { store } = deps;
  const view = (operator: { email: string; role: string; tenant: string; createdAt: number }) => ({
    email: operator.email,
    role: operator.role,
    tenant: operator.tenant,
    created_at: new Date(operator.createdAt * 1000).toISOString(),
  });
  /** The route's tenant, checked: a tenant's own admin token reaches only its tenant. */
  async function tenantOf(request: EndpointRequest): Promise<string> {
    const name = request.path!.tenant!;
    authorizeTenant(request.caller, name);
    if (name === defaultTenant)
      throw new OAuthError(
        'conflict',
        "the default tenant's operators are the deployment-wide ones: /admin/v1/operators",
      );
    if (!isTenantName(name) || !(await store.getTenant(name)))
      throw new OAuthError(
        'not_found',
        `No tenant ${name}`.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '?'),
      );
    return name;
  }
  const path = '/admin/v1/tenants/:tenant/operators';
  return [
    {
      method: 'GET',
      paths: [path],
      summary: 'People given a console role on this tenant only',
      caller: 'admin',
      role: 'admin',
      tenantScope: 'path',
      responses: {
        200: json('Operators', object({ operators: list(tenantOperatorSchema) })),
        404: 'not_found',
        409: 'conflict',
      },
      async handle(request) {
        const tenant = await tenantOf(request);
        return {
          status: 200,
          body: { operators: (await store.listTenantOperators(tenant)).map(view) },
        };
      },
    },
    {
      method: 'POST',
      paths: [path],
      summary: 'Give a person (by verified email) a console role on this tenant, or change it',
      caller: 'admin',
      role: 'admin',
      tenantScope: 'path',
      request: { body: object({ email: str, role: { enum: [...adminRoles] } }) },
      responses: {
        200: json('The operator', tenantOperatorSchema),
        400: 'invalid_request',
        404: 'not_found',
        409: 'conflict',
      },
      async handle(request) {
        const tenant = await tenantOf(request);
        const { address, role } = operatorInput(request.body);
        const operator = { tenant, email: address, role, createdAt: deps.nowSeconds() };
        await store.putTenantOperator(operator);
        await store.forTenant(tenant).appendAudit({
          at: operator.createdAt,
          ...auditAbout(request),
          action: 'operator.add',
          target: address,
          details: { role, tenant },
        });
        return {
          status: 200,
          headers: noStoreHeaders,
          body: view(operator),
          change: { action: 'operator.add', target: address, tenant },
        };
      },
    },
    {
      method: 'DELETE',
      paths: [`${path}/:email`],
      summary: "Take a person's console role on this tenant (open sessions follow at once)",
      caller: 'admin',
      role: 'admin',
      tenantScope: 'path',
      responses: { 204: { description: 'Removed' }, 404: 'not_found', 409: 'conflict' },
      async handle(request) {
        const tenant = await tenantOf(request);
        const address = (request.path?.email ?? '').toLowerCase();
        if (!(await store.removeTenantOperator(tenant, address)))
          throw new OAuthError('not_found', 'No such operator of the tenant');
        await store.forTenant(tenant).appendAudit({
          at: deps.nowSeconds(),
          ...auditAbout(request),
          action: 'operator.remove',
          target: address,
          details: { tenant },
        });
        return {
          status: 204,
          change: { action: 'operator.remove', target: address, tenant },
        };
      },
    },
  ];
}
