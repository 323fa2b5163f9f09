/**
 * Issue 21: people's console roles on single tenants, over real HTTP with a provider on
 * loopback (support/fake-idp.ts) and a real SQLite file: a tenant role reaches that tenant's
 * admin routes and nothing else, `GROUP=ROLE@TENANT`, the tenant's operator list through the
 * admin API and the CLI, open sessions following a removed role, and a deleted tenant taking
 * its operators along; on SQLite and on PostgreSQL (skipped without one unless
 * TESSERA_TEST_POSTGRES=require).
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';
import { runCli } from './support/cli.js';
import { startFakeIdp, type FakeIdp } from './support/fake-idp.js';
import { startTessera, type TestTessera } from './support/tessera.js';
import { getToken } from './support/tokens.js';
import { postgresSkipReason } from './support/postgres.js';
import { createTestSchema } from './support/postgres-schema.js';

/** One browser's cookie jar, enough for these requests. */
class Jar {
  readonly cookies = new Map<string, string>();
  take(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';', 1);
      const at = pair!.indexOf('=');
      const [name, value] = [pair!.slice(0, at), pair!.slice(at + 1)];
      if (/Max-Age=0/.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
  get header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

function tenantRolesSuite(
  label: string,
  database: () => Promise<{ url: string | undefined; dispose: () => Promise<void> }>,
  skip?: string,
): void {
  describe(`console roles on single tenants (${label})`, { skip }, () => {
    let idp: FakeIdp;
    let tessera: TestTessera;
    let dispose: (() => Promise<void>) | undefined;
    let root: string;
    const now = 1_900_000_000;

    const admin = (method: string, path: string, token: string, body?: unknown) =>
      fetch(`${tessera.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });

    before(async () => {
      const db = await database();
      dispose = db.dispose;
      idp = await startFakeIdp(() => now);
      tessera = await startTessera({
        ...(db.url ? { database: db.url } : {}),
        nowSeconds: () => now,
        consoleOidcIssuer: idp.issuer,
        consoleOidcClientId: idp.clientId,
        consoleOidcClientSecret: idp.clientSecret,
        consoleRoles: [
          ['tessera-viewers', 'viewer'],
          ['sandbox-admins', 'admin', 'sandbox'],
          ['sandbox-viewers', 'viewer', 'sandbox'],
        ],
      });
      root = await getToken(tessera.url, await tessera.createClient({ scope: 'tessera:admin' }));
      for (const name of ['sandbox', 'production']) {
        const created = await admin('POST', '/admin/v1/tenants', root, { name });
        assert.equal(created.status, 201, await created.text());
      }
    });
    after(async () => {
      await tessera?.close();
      await idp?.close();
      await dispose?.();
    });
    beforeEach(() => {
      idp.mode = 'valid';
    });

    async function signIn(user: typeof idp.user) {
      const jar = new Jar();
      idp.user = user;
      const start = await fetch(`${tessera.url}/console/sign-in`, { redirect: 'manual' });
      jar.take(start);
      const atProvider = await fetch(start.headers.get('location')!, { redirect: 'manual' });
      const answer = await fetch(atProvider.headers.get('location')!, {
        headers: { cookie: jar.header },
        redirect: 'manual',
      });
      jar.take(answer);
      return { answer, jar };
    }
    const call = (jar: Jar, method: string, path: string, body?: unknown) =>
      fetch(`${tessera.url}${path}`, {
        method,
        headers: {
          cookie: jar.header,
          ...(method === 'GET'
            ? {}
            : { 'tessera-csrf': jar.cookies.get('tessera_csrf')!, origin: tessera.url }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const session = async (jar: Jar) =>
      ((await (await call(jar, 'GET', '/console/session')).json()) as { session: unknown }).session;

    it("a person on a tenant's operator list works on that tenant only, and loses it when removed", async () => {
      const added = await admin('POST', '/admin/v1/tenants/sandbox/operators', root, {
        email: 'Carol@Example.com',
        role: 'operator',
      });
      assert.equal(added.status, 200);
      assert.deepEqual(
        { ...((await added.json()) as object), created_at: undefined },
        { email: 'carol@example.com', role: 'operator', tenant: 'sandbox', created_at: undefined },
      );
      // The change is in the tenant's audit trail.
      const trail = (await (
        await admin('GET', '/admin/v1/tenants/sandbox/audit', root)
      ).json()) as {
        entries: Array<{ action: string; target: string }>;
      };
      assert.deepEqual(
        [trail.entries[0]!.action, trail.entries[0]!.target],
        ['operator.add', 'carol@example.com'],
      );

      const carol = { sub: 'carol-sub', email: 'carol@example.com', email_verified: true };
      const store = tessera.server.context.store;
      const eventsFrom = await store.latestEventSeq();
      const { answer, jar } = await signIn(carol);
      assert.equal(answer.status, 303, await answer.text());
      // The operator.signed_in event says which tenants' roles she holds.
      const [signedIn] = await store.listEvents(eventsFrom, 10);
      assert.equal(signedIn?.type, 'operator.signed_in');
      assert.deepEqual(signedIn.data, {
        iss: idp.issuer,
        sub: 'carol-sub',
        email: 'carol@example.com',
        role: null,
        tenant_roles: { sandbox: 'operator' },
      });
      assert.deepEqual(await session(jar), {
        actor: 'person:carol@example.com',
        role: null,
        tenant_roles: { sandbox: 'operator' },
        person: { iss: idp.issuer, sub: 'carol-sub', email: 'carol@example.com' },
        acr: null,
      });
      // Only her tenant is listed.
      const listed = (await (await call(jar, 'GET', '/admin/v1/tenants')).json()) as {
        tenants: Array<{ name: string }>;
      };
      assert.deepEqual(
        listed.tenants.map((tenant) => tenant.name),
        ['sandbox'],
      );
      assert.equal((await call(jar, 'GET', '/admin/v1/tenants/sandbox')).status, 200);
      // Her tenant's clients: listed and created.
      assert.equal((await call(jar, 'GET', '/admin/v1/tenants/sandbox/clients')).status, 200);
      const created = await call(jar, 'POST', '/admin/v1/tenants/sandbox/clients', {
        name: 'by carol',
      });
      assert.equal(created.status, 201, await created.text());
      // Nowhere else: another tenant, the default tenant (both spellings), the deployment's routes.
      for (const [method, path] of [
        ['GET', '/admin/v1/tenants/production/clients'],
        ['POST', '/admin/v1/tenants/production/clients'],
        ['GET', '/admin/v1/tenants/production'],
        ['GET', '/admin/v1/clients'],
        ['GET', '/admin/v1/tenants/default/clients'],
        ['GET', '/admin/v1/keys'],
        ['GET', '/admin/v1/activity'],
        ['GET', '/admin/v1/operators'],
        // Her tenant's record is read-only to her, and its operators are the admin role's.
        ['PATCH', '/admin/v1/tenants/sandbox'],
        ['DELETE', '/admin/v1/tenants/sandbox'],
        ['GET', '/admin/v1/tenants/sandbox/operators'],
      ] as const) {
        const refused = await call(jar, method, path, method === 'GET' ? undefined : { name: 'x' });
        assert.equal(refused.status, 403, `${method} ${path}`);
        assert.equal(((await refused.json()) as { error: string }).error, 'insufficient_scope');
      }
      // Her audit entries name her, in the tenant's trail.
      const entries = (await (
        await admin('GET', '/admin/v1/tenants/sandbox/audit', root)
      ).json()) as { entries: Array<{ actor: string; action: string }> };
      assert.deepEqual(
        [entries.entries[0]!.actor, entries.entries[0]!.action],
        ['person:carol@example.com', 'client.create'],
      );

      // Removed from the list: her open session ends at its next request (her only role).
      const removed = await admin(
        'DELETE',
        '/admin/v1/tenants/sandbox/operators/carol%40example.com',
        root,
      );
      assert.equal(removed.status, 204);
      assert.equal((await call(jar, 'GET', '/admin/v1/tenants/sandbox/clients')).status, 401);
      assert.equal(
        (await admin('DELETE', '/admin/v1/tenants/sandbox/operators/carol%40example.com', root))
          .status,
        404,
      );
      // And she cannot sign in again.
      assert.equal((await signIn(carol)).answer.status, 403);
    });

    it('a tenant role narrows with the list while a deployment-wide role stays', async () => {
      const store = tessera.server.context.store;
      await store.putOperator({ email: 'dan@example.com', role: 'viewer', createdAt: now });
      await store.putTenantOperator({
        tenant: 'production',
        email: 'dan@example.com',
        role: 'admin',
        createdAt: now,
      });
      const { jar } = await signIn({
        sub: 'dan-sub',
        email: 'dan@example.com',
        email_verified: true,
      });
      const tenants = (await (await call(jar, 'GET', '/admin/v1/tenants')).json()) as {
        tenants: Array<{ name: string }>;
      };
      // A deployment-wide role sees every tenant.
      assert.deepEqual(
        tenants.tenants.map((tenant) => tenant.name),
        ['production', 'sandbox'],
      );
      const create = () =>
        call(jar, 'POST', '/admin/v1/tenants/production/clients', { name: 'by dan' });
      assert.equal((await create()).status, 201);
      // A viewer elsewhere: reads sandbox, changes nothing there or at the default tenant.
      assert.equal((await call(jar, 'GET', '/admin/v1/tenants/sandbox/clients')).status, 200);
      assert.equal(
        (await call(jar, 'POST', '/admin/v1/tenants/sandbox/clients', { name: 'x' })).status,
        403,
      );
      assert.equal((await call(jar, 'POST', '/admin/v1/clients', { name: 'x' })).status, 403);
      // Even as production's admin he cannot change its record: that is the deployment's.
      assert.equal(
        (await call(jar, 'PATCH', '/admin/v1/tenants/production', { token_ttl: 60 })).status,
        403,
      );
      assert.equal(await store.removeTenantOperator('production', 'dan@example.com'), true);
      const narrowed = await create();
      assert.equal(narrowed.status, 403);
      assert.match(
        ((await narrowed.json()) as { error_description: string }).error_description,
        /needs the operator role .*the caller has viewer/,
      );
      assert.equal((await call(jar, 'GET', '/admin/v1/clients')).status, 200);
      await store.removeOperator('dan@example.com');
    });

    it('GROUP=ROLE@TENANT gives the role on that tenant, and a tenant admin manages its operators', async () => {
      const { answer, jar } = await signIn({
        sub: 'erin-sub',
        email: 'erin@example.com',
        email_verified: true,
        groups: ['tessera-viewers', 'sandbox-admins'],
      });
      assert.equal(answer.status, 303);
      const current = (await session(jar)) as { role: string; tenant_roles: object };
      assert.equal(current.role, 'viewer');
      assert.deepEqual(current.tenant_roles, { sandbox: 'admin' });
      assert.equal(
        (await call(jar, 'POST', '/admin/v1/tenants/sandbox/clients', { name: 'by erin' })).status,
        201,
      );
      // As the tenant's admin she manages its operators, not another tenant's nor the deployment's.
      const added = await call(jar, 'POST', '/admin/v1/tenants/sandbox/operators', {
        email: 'frank@example.com',
        role: 'viewer',
      });
      assert.equal(added.status, 200, await added.text());
      const listed = (await (
        await call(jar, 'GET', '/admin/v1/tenants/sandbox/operators')
      ).json()) as {
        operators: Array<{ email: string; role: string; tenant: string }>;
      };
      assert.deepEqual(
        listed.operators.map(({ email, role, tenant }) => [email, role, tenant]),
        [['frank@example.com', 'viewer', 'sandbox']],
      );
      for (const [method, path] of [
        ['POST', '/admin/v1/tenants/production/operators'],
        ['POST', '/admin/v1/operators'],
      ] as const) {
        const refused = await call(jar, method, path, { email: 'x@example.com', role: 'admin' });
        assert.equal(refused.status, 403, path);
      }
      assert.equal(
        (await call(jar, 'DELETE', '/admin/v1/tenants/sandbox/operators/frank%40example.com'))
          .status,
        204,
      );
      // A group mapped to a viewer role on the tenant alone: viewer there, nothing elsewhere.
      const { jar: viewer } = await signIn({ sub: 'gil-sub', groups: ['sandbox-viewers'] });
      assert.deepEqual(((await session(viewer)) as { tenant_roles: object }).tenant_roles, {
        sandbox: 'viewer',
      });
      assert.equal((await call(viewer, 'GET', '/admin/v1/tenants/sandbox/clients')).status, 200);
      assert.equal((await call(viewer, 'GET', '/admin/v1/clients')).status, 403);
    });

    it("a tenant's own admin client manages that tenant's operators only; bad input is 4xx", async () => {
      const client = (await (
        await admin('POST', '/admin/v1/tenants/sandbox/clients', root, {
          name: 'sandbox admin',
          scope: 'tessera:admin',
        })
      ).json()) as { client_id: string; client_secret: string };
      const own = await getToken(`${tessera.url}/t/sandbox`, {
        clientId: client.client_id,
        clientSecret: client.client_secret,
      });
      // What the console's secret sign-in with a tenant does: the token comes from the tenant's
      // token endpoint (tessera:admin), and the switcher's list is that tenant alone.
      const signedIn = await fetch(`${tessera.url}/t/sandbox/oauth/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${btoa(`${client.client_id}:${client.client_secret}`)}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'grant_type=client_credentials&scope=tessera%3Aadmin',
      });
      assert.equal(signedIn.status, 200);
      const consoleToken = ((await signedIn.json()) as { access_token: string }).access_token;
      const visible = (await (await admin('GET', '/admin/v1/tenants', consoleToken)).json()) as {
        tenants: Array<{ name: string }>;
      };
      assert.deepEqual(
        visible.tenants.map((tenant) => tenant.name),
        ['sandbox'],
      );
      const add = (token: string, tenant: string, body: unknown) =>
        admin('POST', `/admin/v1/tenants/${tenant}/operators`, token, body);
      assert.equal(
        (await add(own, 'sandbox', { email: 'h@example.com', role: 'viewer' })).status,
        200,
      );
      assert.equal(
        (await add(own, 'production', { email: 'h@example.com', role: 'viewer' })).status,
        403,
      );
      assert.equal(
        (await add(root, 'default', { email: 'h@example.com', role: 'viewer' })).status,
        409,
      );
      assert.equal(
        (await add(root, 'nowhere', { email: 'h@example.com', role: 'viewer' })).status,
        404,
      );
      assert.equal((await add(root, 'sandbox', { email: 'nope', role: 'viewer' })).status, 400);
      assert.equal(
        (await add(root, 'sandbox', { email: 'h@example.com', role: 'root' })).status,
        400,
      );
      assert.equal(
        (await admin('DELETE', '/admin/v1/tenants/sandbox/operators/h%40example.com', own)).status,
        204,
      );
    });

    it("deleting a tenant deletes its operators' roles", async () => {
      const created = await admin('POST', '/admin/v1/tenants', root, { name: 'doomed' });
      assert.equal(created.status, 201);
      await admin('POST', '/admin/v1/tenants/doomed/operators', root, {
        email: 'ivy@example.com',
        role: 'admin',
      });
      const store = tessera.server.context.store;
      assert.equal((await store.tenantRolesOf('ivy@example.com')).length, 1);
      assert.equal(
        (await admin('DELETE', '/admin/v1/tenants/doomed?force=true', root)).status,
        204,
      );
      assert.deepEqual(await store.tenantRolesOf('ivy@example.com'), []);
    });

    it('operators add/list/remove --tenant through the CLI', async () => {
      const cli = (...args: string[]) => runCli([...args, '--database', tessera.database]);
      const added = await cli(
        'operators',
        'add',
        'Jo@Example.com',
        '--role',
        'operator',
        '--tenant',
        'sandbox',
      );
      assert.equal(added.status, 0, added.stderr);
      assert.equal(
        added.stdout,
        'jo@example.com is an operator of tenant sandbox with the operator role.\n',
      );
      assert.equal((await cli('operators', 'add', 'jo@example.com', '--role', 'viewer')).status, 0);
      const one = JSON.parse(
        (await cli('operators', 'list', '--tenant', 'sandbox', '--json')).stdout,
      ) as Array<Record<string, string>>;
      assert.deepEqual(
        one.map(({ email, role, tenant }) => [email, role, tenant]),
        [['jo@example.com', 'operator', 'sandbox']],
      );
      const all = await cli('operators', 'list');
      assert.match(all.stdout, /EMAIL\s+ROLE\s+TENANT\s+CREATED_AT/);
      assert.match(all.stdout, /jo@example\.com\s+viewer\s+\*/);
      assert.match(all.stdout, /jo@example\.com\s+operator\s+sandbox/);
      const unknown = await cli(
        'operators',
        'add',
        'jo@example.com',
        '--role',
        'viewer',
        '--tenant',
        'nowhere',
      );
      assert.equal(unknown.status, 1);
      assert.equal(unknown.stderr, 'tessera: no tenant named "nowhere"\n');
      assert.equal(
        (await cli('operators', 'add', 'jo@example.com', '--role', 'viewer', '--tenant', 'default'))
          .status,
        2,
      );
      assert.equal(
        (await cli('operators', 'remove', 'jo@example.com', '--tenant', 'sandbox')).status,
        0,
      );
      const again = await cli('operators', 'remove', 'jo@example.com', '--tenant', 'sandbox');
      assert.equal(again.status, 1);
      assert.equal(
        again.stderr,
        "tessera: jo@example.com is not on tenant sandbox's operator list\n",
      );
      assert.equal((await cli('operators', 'remove', 'jo@example.com')).status, 0);
      const trail = JSON.parse(
        (await cli('audit', 'list', '--tenant', 'sandbox', '--json', '--limit', '2')).stdout,
      ) as Array<{ action: string; target: string }>;
      assert.deepEqual(
        trail.map((entry) => [entry.action, entry.target]),
        [
          ['operator.remove', 'jo@example.com'],
          ['operator.add', 'jo@example.com'],
        ],
      );
    });

    it('parses GROUP=ROLE@TENANT and refuses a bad tenant', () => {
      assert.deepEqual(
        loadConfig({ TESSERA_CONSOLE_ROLES: 'ops=admin@sandbox, auditors=viewer' }).consoleRoles,
        [
          ['ops', 'admin', 'sandbox'],
          ['auditors', 'viewer'],
        ],
      );
      for (const bad of [
        'ops=admin@default',
        'ops=admin@Not Valid',
        'ops=root@sandbox',
        'ops=admin@',
      ])
        assert.throws(() => loadConfig({ TESSERA_CONSOLE_ROLES: bad }), ConfigError, bad);
    });
  });
}

tenantRolesSuite('SQLite', async () => ({ url: undefined, dispose: async () => {} }));
tenantRolesSuite(
  'PostgreSQL',
  async () => {
    const created = await createTestSchema('tenantroles');
    return { url: created.url, dispose: () => created.drop() };
  },
  await postgresSkipReason(),
);
