/**
 * Issue 21: the admin API of tenants over real HTTP, one suite run over SQLite
 * (tenant-admin-api.test.ts) and PostgreSQL (postgres-tenant-admin-api.test.ts): tenant
 * management, and isolation (a tenant's admin token reads and writes only its own tenant;
 * the default tenant's manages every tenant).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTessera, type TestTessera } from './tessera.js';
import { claimsOf, send, tokenAt, type Reply } from './tenants.js';
import { getToken } from './tokens.js';

type Credentials = { clientId: string; clientSecret: string };

export function tenantAdminSuite(
  label: string,
  database: () => Promise<{ url: string | undefined; dispose: () => Promise<void> }>,
  skip?: string,
): void {
  describe(`tenant admin API (${label})`, { skip }, () => {
    let tessera: TestTessera;
    let dispose: () => Promise<void>;
    let root: string;
    const tokens: Record<string, string> = {};
    const admins: Record<string, Credentials> = {};

    const call = (method: string, path: string, token: string, body?: unknown): Promise<Reply> =>
      send(`${tessera.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const ids = (reply: Reply) =>
      (reply.json.clients as Array<{ client_id: string }>).map((client) => client.client_id);

    before(async () => {
      const db = await database();
      dispose = db.dispose;
      tessera = await startTessera(db.url ? { database: db.url } : {});
      root = await getToken(tessera.url, await tessera.createClient({ scope: 'tessera:admin' }));
      for (const name of ['sandbox', 'production']) {
        const created = await call('POST', '/admin/v1/tenants', root, { name });
        assert.equal(created.status, 201, created.text);
        assert.equal(created.json.effective_issuer, `${tessera.url}/t/${name}`);
        // Each tenant's own admin client, made by the default tenant's admin.
        const client = await call('POST', `/admin/v1/tenants/${name}/clients`, root, {
          name: `${name} admin`,
          scope: 'tessera:admin',
        });
        assert.equal(client.status, 201, client.text);
        admins[name] = {
          clientId: client.json.client_id as string,
          clientSecret: client.json.client_secret as string,
        };
        tokens[name] = await getToken(`${tessera.url}/t/${name}`, admins[name]);
        assert.equal(claimsOf(tokens[name]).iss, `${tessera.url}/t/${name}`);
      }
    });
    after(async () => {
      await tessera?.close();
      await dispose?.();
    });

    it('manages tenants: list, show, update, refuses a duplicate and bad input', async () => {
      const listed = await call('GET', '/admin/v1/tenants', root);
      assert.equal(listed.status, 200);
      assert.deepEqual(
        (listed.json.tenants as Array<{ name: string }>).map((tenant) => tenant.name),
        ['production', 'sandbox'],
      );
      assert.equal(
        (await call('POST', '/admin/v1/tenants', root, { name: 'sandbox' })).status,
        409,
      );
      const bad = await call('POST', '/admin/v1/tenants', root, { name: 'Not A Name' });
      assert.equal(bad.status, 400);
      assert.equal(bad.json.error, 'invalid_request');
      const badTtl = await call('PATCH', '/admin/v1/tenants/sandbox', root, { token_ttl: 0 });
      assert.equal(badTtl.status, 400);
      assert.equal((await call('GET', '/admin/v1/tenants/default', root)).status, 409);

      const updated = await call('PATCH', '/admin/v1/tenants/sandbox', root, { token_ttl: 120 });
      assert.equal(updated.status, 200, updated.text);
      assert.equal(updated.json.token_ttl, 120);
      // This process learns its own change at once: the next sandbox token lives 120 s.
      const issued = await tokenAt(`${tessera.url}/t/sandbox/oauth/token`, admins.sandbox!);
      assert.equal(issued.json.expires_in, 120, issued.text);
      const shown = await call('GET', '/admin/v1/tenants/sandbox', root);
      assert.equal(shown.json.token_ttl, 120);
    });

    it('answers an unknown tenant 404 with a JSON error', async () => {
      for (const path of ['/admin/v1/tenants/nope', '/admin/v1/tenants/nope/clients']) {
        const answer = await call('GET', path, root);
        assert.equal(answer.status, 404, path);
        assert.equal(answer.json.error, 'not_found');
        assert.match(answer.headers['content-type'] as string, /application\/json/);
      }
    });

    it("a tenant's admin token reads and writes its own tenant only", async () => {
      const sandbox = tokens.sandbox!;
      const own = await call('GET', '/admin/v1/tenants/sandbox/clients', sandbox);
      assert.equal(own.status, 200, own.text);
      assert.deepEqual(ids(own), [admins.sandbox!.clientId]);

      const made = await call('POST', '/admin/v1/tenants/sandbox/clients', sandbox, {
        name: 'sandbox partner',
      });
      assert.equal(made.status, 201, made.text);
      const partner = {
        clientId: made.json.client_id as string,
        clientSecret: made.json.client_secret as string,
      };
      // The new client is the sandbox's: it gets tokens there and is unknown at production.
      assert.equal((await tokenAt(`${tessera.url}/t/sandbox/oauth/token`, partner)).status, 200);
      const elsewhere = await tokenAt(`${tessera.url}/t/production/oauth/token`, partner);
      assert.equal(elsewhere.status, 401);
      assert.equal(elsewhere.json.error, 'invalid_client');

      const production = admins.production!.clientId;
      for (const [method, path, body] of [
        ['GET', '/admin/v1/tenants/production/clients'],
        ['GET', `/admin/v1/tenants/production/clients/${production}`],
        ['POST', '/admin/v1/tenants/production/clients', { name: 'intruder' }],
        ['DELETE', `/admin/v1/tenants/production/clients/${production}`],
        ['POST', '/admin/v1/tenants/production/keys/rotate', {}],
        ['GET', '/admin/v1/tenants/production/audit'],
        ['GET', '/admin/v1/tenants/production'],
        ['GET', '/admin/v1/clients'],
        ['POST', '/admin/v1/clients', { name: 'intruder' }],
        ['GET', '/admin/v1/keys'],
        ['GET', '/admin/v1/audit'],
        ['GET', '/admin/v1/operators'],
        ['POST', '/admin/v1/tenants', { name: 'mine' }],
        ['PATCH', '/admin/v1/tenants/sandbox', { token_ttl: 60 }],
        ['DELETE', '/admin/v1/tenants/sandbox?force=true'],
      ] as Array<[string, string, unknown?]>) {
        const answer = await call(method, path, sandbox, body);
        assert.equal(answer.status, 403, `${method} ${path}: ${answer.text}`);
        assert.equal(answer.json.error, 'insufficient_scope');
      }
      // Nothing of that was written: production still has its one client, no tenant `mine`.
      const productionClients = await call('GET', '/admin/v1/tenants/production/clients', root);
      assert.deepEqual(ids(productionClients), [production]);
      assert.equal((await call('GET', '/admin/v1/tenants/mine', root)).status, 404);

      // It sees its own tenant record only.
      const listed = await call('GET', '/admin/v1/tenants', sandbox);
      assert.deepEqual(
        (listed.json.tenants as Array<{ name: string }>).map((tenant) => tenant.name),
        ['sandbox'],
      );
      assert.equal((await call('GET', '/admin/v1/tenants/sandbox', sandbox)).status, 200);
    });

    it("the default tenant's admin manages every tenant; a client of one is not found at another", async () => {
      const sandboxAdmin = admins.sandbox!.clientId;
      const found = await call('GET', `/admin/v1/tenants/sandbox/clients/${sandboxAdmin}`, root);
      assert.equal(found.status, 200);
      const across = await call(
        'GET',
        `/admin/v1/tenants/production/clients/${sandboxAdmin}`,
        root,
      );
      assert.equal(across.status, 404);
      const atDefault = await call('GET', `/admin/v1/clients/${sandboxAdmin}`, root);
      assert.equal(atDefault.status, 404);
      // A client_id another tenant holds: 409, not naming the other tenant.
      const taken = await call('POST', '/admin/v1/tenants/production/clients', root, {
        name: 'copy',
        client_id: sandboxAdmin,
      });
      assert.equal(taken.status, 409, taken.text);
      assert.doesNotMatch(taken.text, /sandbox/);
    });

    it("keys and audit entries are the tenant's own", async () => {
      const kids = async (path: string) =>
        ((await call('GET', path, root)).json.keys as Array<{ kid: string }>).map((key) => key.kid);
      const before = {
        sandbox: await kids('/admin/v1/tenants/sandbox/keys'),
        production: await kids('/admin/v1/tenants/production/keys'),
        home: await kids('/admin/v1/keys'),
      };
      assert.ok(before.sandbox.length > 0 && before.production.length > 0);
      assert.ok(!before.sandbox.some((kid) => before.production.includes(kid)));
      assert.ok(!before.sandbox.some((kid) => before.home.includes(kid)));

      const rotated = await call('POST', '/admin/v1/tenants/sandbox/keys/rotate', tokens.sandbox!, {
        alg: 'ES256',
        propagation_seconds: 0,
      });
      assert.equal(rotated.status, 201, rotated.text);
      const kid = rotated.json.kid as string;
      const jwks = async (prefix: string) =>
        (
          (await send(`${tessera.url}${prefix}/.well-known/jwks.json`)).json.keys as Array<{
            kid: string;
          }>
        ).map((key) => key.kid);
      assert.ok((await jwks('/t/sandbox')).includes(kid));
      assert.ok(!(await jwks('/t/production')).includes(kid));
      assert.ok(!(await jwks('')).includes(kid));

      const audit = async (path: string, token = root) =>
        (await call('GET', path, token)).json.entries as Array<{
          action: string;
          target: string | null;
          actor: string;
        }>;
      const sandboxTrail = await audit('/admin/v1/tenants/sandbox/audit', tokens.sandbox!);
      assert.ok(
        sandboxTrail.some(
          (entry) =>
            entry.action === 'key.rotate' &&
            entry.target === kid &&
            entry.actor === `admin-api:${admins.sandbox!.clientId}`,
        ),
      );
      assert.ok(sandboxTrail.some((entry) => entry.action === 'tenant.update'));
      const productionTrail = await audit('/admin/v1/tenants/production/audit');
      assert.ok(!productionTrail.some((entry) => entry.target === kid));
      assert.ok(
        productionTrail.some(
          (entry) =>
            entry.action === 'client.create' && entry.target === admins.production!.clientId,
        ),
      );
      const homeTrail = await audit('/admin/v1/audit');
      assert.ok(!homeTrail.some((entry) => entry.target === kid));
      assert.ok(!homeTrail.some((entry) => entry.target === admins.sandbox!.clientId));
      // Tenant creation is in the default tenant's trail too.
      assert.ok(
        homeTrail.some((entry) => entry.action === 'tenant.create' && entry.target === 'sandbox'),
      );
    });

    it('roles apply per tenant: a read-only tenant admin cannot write', async () => {
      const made = await call('POST', '/admin/v1/tenants/sandbox/clients', root, {
        name: 'sandbox viewer',
        scope: 'tessera:admin:read',
      });
      const viewer = await getToken(`${tessera.url}/t/sandbox`, {
        clientId: made.json.client_id as string,
        clientSecret: made.json.client_secret as string,
      });
      assert.equal((await call('GET', '/admin/v1/tenants/sandbox/clients', viewer)).status, 200);
      const write = await call('POST', '/admin/v1/tenants/sandbox/clients', viewer, { name: 'x' });
      assert.equal(write.status, 403);
      assert.match(write.json.error_description as string, /operator role/);
    });

    it('refuses to delete a tenant with clients unless force=true', async () => {
      const refused = await call('DELETE', '/admin/v1/tenants/production', root);
      assert.equal(refused.status, 409, refused.text);
      assert.equal(
        (await call('DELETE', '/admin/v1/tenants/production?force=maybe', root)).status,
        400,
      );
      const deleted = await call('DELETE', '/admin/v1/tenants/production?force=true', root);
      assert.equal(deleted.status, 204, deleted.text);
      assert.equal((await call('GET', '/admin/v1/tenants/production', root)).status, 404);
      const gone = await tokenAt(`${tessera.url}/t/production/oauth/token`, admins.production!);
      assert.equal(gone.status, 404);
      // Its admin token no longer opens anything.
      const stale = await call('GET', '/admin/v1/tenants/production/clients', tokens.production!);
      assert.ok(stale.status === 401 || stale.status === 403, stale.text);
      const empty = await call('POST', '/admin/v1/tenants', root, { name: 'empty' });
      assert.equal(empty.status, 201);
      assert.equal((await call('DELETE', '/admin/v1/tenants/empty', root)).status, 204);
    });
  });
}
