/**
 * Admin roles for machine clients: `tessera:admin:read` is viewer, `tessera:admin:write`
 * operator, `tessera:admin` admin. Each route names its role in /openapi.json, and a 403
 * names the role (and scope) that is missing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTessera, type TestTessera } from './support/tessera.js';
import { getToken } from './support/tokens.js';

describe('admin API roles for machine clients', () => {
  let tessera: TestTessera;
  const tokens: Record<'viewer' | 'operator' | 'admin', string> = {
    viewer: '',
    operator: '',
    admin: '',
  };
  before(async () => {
    tessera = await startTessera();
    const scopes = {
      viewer: 'tessera:admin:read',
      operator: 'tessera:admin:write',
      admin: 'tessera:admin',
    } as const;
    for (const [role, scope] of Object.entries(scopes) as Array<[keyof typeof scopes, string]>)
      tokens[role] = await getToken(tessera.url, await tessera.createClient({ scope }));
  });
  after(() => tessera.close());

  const call = async (role: keyof typeof tokens, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${tessera.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${tokens[role]}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined,
    };
  };

  it('a viewer reads clients, keys, activity and audit, and changes nothing', async () => {
    for (const path of [
      '/admin/v1/clients',
      '/admin/v1/keys',
      '/admin/v1/audit',
      '/admin/v1/activity',
      '/admin/v1/activity/clients',
    ])
      assert.equal((await call('viewer', 'GET', path)).status, 200, path);
    const refused = await call('viewer', 'POST', '/admin/v1/clients', { name: 'x' });
    assert.equal(refused.status, 403);
    assert.deepEqual(refused.body, {
      error: 'insufficient_scope',
      error_description:
        'This needs the operator role (scope tessera:admin:write); the caller has viewer',
    });
    assert.equal(
      refused.headers.get('www-authenticate'),
      'Bearer realm="tessera-admin", error="insufficient_scope", scope="tessera:admin:write"',
    );
    assert.equal(refused.headers.get('cache-control'), 'no-store');
  });

  it('an operator creates, edits, disables and rotates, but deletes nothing and rotates no key', async () => {
    const created = await call('operator', 'POST', '/admin/v1/clients', { name: 'by operator' });
    assert.equal(created.status, 201);
    const id = created.body!.client_id as string;
    assert.equal(
      (await call('operator', 'PATCH', `/admin/v1/clients/${id}`, { name: 'n' })).status,
      200,
    );
    // Issue 22: quota and reuse are client edits (operator); the usage is read by a viewer.
    const limited = await call('operator', 'PATCH', `/admin/v1/clients/${id}`, {
      token_quota: '10/s',
      reuse_tokens: true,
    });
    assert.equal(limited.status, 200);
    assert.equal(limited.body!.token_quota, '10/s');
    assert.equal(limited.body!.reuse_tokens, true);
    const usage = await call('viewer', 'GET', `/admin/v1/clients/${id}/usage`);
    assert.equal(usage.status, 200);
    assert.equal(usage.body!.token_quota, '10/s');
    assert.equal(
      (await call('viewer', 'PATCH', `/admin/v1/clients/${id}`, { token_quota: '1/s' })).status,
      403,
    );
    assert.equal((await call('operator', 'POST', `/admin/v1/clients/${id}/disable`)).status, 200);
    assert.equal((await call('operator', 'POST', `/admin/v1/clients/${id}/enable`)).status, 200);
    assert.equal(
      (await call('operator', 'POST', `/admin/v1/clients/${id}/rotate-secret`, {})).status,
      200,
    );
    const deleting = await call('operator', 'DELETE', `/admin/v1/clients/${id}`);
    assert.equal(deleting.status, 403);
    assert.deepEqual(deleting.body, {
      error: 'insufficient_scope',
      error_description: 'This needs the admin role (scope tessera:admin); the caller has operator',
    });
    assert.equal((await call('operator', 'POST', '/admin/v1/keys/rotate', {})).status, 403);
    // Nothing was deleted by the refused call; the admin can.
    assert.equal((await call('viewer', 'GET', `/admin/v1/clients/${id}`)).status, 200);
    assert.equal((await call('admin', 'DELETE', `/admin/v1/clients/${id}`)).status, 204);
  });

  it('only an admin manages the operator list, and each change is audited', async () => {
    const operator = { email: 'Carol@Example.com', role: 'viewer' };
    assert.equal((await call('operator', 'POST', '/admin/v1/operators', operator)).status, 403);
    assert.equal((await call('operator', 'GET', '/admin/v1/operators')).status, 403);
    const added = await call('admin', 'POST', '/admin/v1/operators', operator);
    assert.equal(added.status, 200);
    assert.deepEqual(
      { ...added.body, created_at: undefined },
      { email: 'carol@example.com', role: 'viewer', created_at: undefined },
    );
    const listed = await call('admin', 'GET', '/admin/v1/operators');
    assert.deepEqual(
      (listed.body!.operators as Array<{ email: string }>).map((o) => o.email),
      ['carol@example.com'],
    );
    assert.equal(
      (await call('admin', 'DELETE', '/admin/v1/operators/carol@example.com')).status,
      204,
    );
    const audit = await call('viewer', 'GET', '/admin/v1/audit?limit=2');
    assert.deepEqual(
      (audit.body!.entries as Array<{ action: string; target: string }>).map((e) => [
        e.action,
        e.target,
      ]),
      [
        ['operator.remove', 'carol@example.com'],
        ['operator.add', 'carol@example.com'],
      ],
    );
  });

  it('/openapi.json names the role and scope of every admin route', async () => {
    const document = (await (await fetch(`${tessera.url}/openapi.json`)).json()) as {
      paths: Record<
        string,
        Record<string, { 'x-tessera-role'?: string; security?: Array<Record<string, string[]>> }>
      >;
      components: {
        securitySchemes: { adminToken: { flows: { clientCredentials: { scopes: object } } } };
      };
    };
    const roles: Record<string, string> = {};
    for (const [path, operations] of Object.entries(document.paths))
      for (const [method, operation] of Object.entries(operations))
        if (path.startsWith('/admin/')) {
          roles[`${method.toUpperCase()} ${path}`] = operation['x-tessera-role']!;
          const scope = {
            viewer: 'tessera:admin:read',
            operator: 'tessera:admin:write',
            admin: 'tessera:admin',
          }[operation['x-tessera-role']!];
          assert.deepEqual(operation.security, [{ adminToken: [scope] }, { consoleSession: [] }]);
        }
    assert.deepEqual(roles, {
      'GET /admin/v1/clients': 'viewer',
      'POST /admin/v1/clients': 'operator',
      'GET /admin/v1/clients/{id}': 'viewer',
      'GET /admin/v1/clients/{id}/usage': 'viewer',
      'PATCH /admin/v1/clients/{id}': 'operator',
      'DELETE /admin/v1/clients/{id}': 'admin',
      'POST /admin/v1/clients/{id}/disable': 'operator',
      'POST /admin/v1/clients/{id}/enable': 'operator',
      'POST /admin/v1/clients/{id}/rotate-secret': 'operator',
      'GET /admin/v1/keys': 'viewer',
      'POST /admin/v1/keys/rotate': 'admin',
      'GET /admin/v1/audit': 'viewer',
      'GET /admin/v1/activity': 'viewer',
      'GET /admin/v1/activity/clients': 'viewer',
      'GET /admin/v1/operators': 'admin',
      'POST /admin/v1/operators': 'admin',
      'DELETE /admin/v1/operators/{email}': 'admin',
      // Issue 21: tenant management, and each tenant's twins of the client, key and audit
      // routes with the same roles.
      'GET /admin/v1/tenants': 'viewer',
      'POST /admin/v1/tenants': 'admin',
      'GET /admin/v1/tenants/{tenant}': 'viewer',
      'GET /admin/v1/tenants/{tenant}/operators': 'admin',
      'POST /admin/v1/tenants/{tenant}/operators': 'admin',
      'DELETE /admin/v1/tenants/{tenant}/operators/{email}': 'admin',
      'PATCH /admin/v1/tenants/{tenant}': 'admin',
      'DELETE /admin/v1/tenants/{tenant}': 'admin',
      'GET /admin/v1/tenants/{tenant}/clients': 'viewer',
      'POST /admin/v1/tenants/{tenant}/clients': 'operator',
      'GET /admin/v1/tenants/{tenant}/clients/{id}': 'viewer',
      'GET /admin/v1/tenants/{tenant}/clients/{id}/usage': 'viewer',
      'PATCH /admin/v1/tenants/{tenant}/clients/{id}': 'operator',
      'DELETE /admin/v1/tenants/{tenant}/clients/{id}': 'admin',
      'POST /admin/v1/tenants/{tenant}/clients/{id}/disable': 'operator',
      'POST /admin/v1/tenants/{tenant}/clients/{id}/enable': 'operator',
      'POST /admin/v1/tenants/{tenant}/clients/{id}/rotate-secret': 'operator',
      'GET /admin/v1/tenants/{tenant}/keys': 'viewer',
      'POST /admin/v1/tenants/{tenant}/keys/rotate': 'admin',
      'GET /admin/v1/tenants/{tenant}/audit': 'viewer',
    });
    assert.deepEqual(
      Object.keys(document.components.securitySchemes.adminToken.flows.clientCredentials.scopes),
      ['tessera:admin:read', 'tessera:admin:write', 'tessera:admin'],
    );
  });
});
