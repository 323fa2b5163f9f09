/**
 * Issue 21: tenant isolation over real HTTP, one suite run over SQLite (tenants.test.ts)
 * and PostgreSQL (postgres-tenants.test.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { ClientRegistry } from '../../src/registry/client-registry.js';
import { startTessera, type TestTessera } from './tessera.js';
import { claimsOf, send, tenantWithClient, tokenAt, tokenCall } from './tenants.js';

export function tenantIsolationSuite(
  label: string,
  database: () => Promise<{ url: string | undefined; dispose: () => Promise<void> }>,
  skip?: string,
): void {
  describe(`tenant isolation (${label})`, { skip }, () => {
    let tessera: TestTessera;
    let dispose: () => Promise<void>;
    let sandbox: { clientId: string; clientSecret: string };
    let production: { clientId: string; clientSecret: string };
    let home: { clientId: string; clientSecret: string };
    before(async () => {
      const db = await database();
      dispose = db.dispose;
      tessera = await startTessera({
        ...(db.url ? { database: db.url } : {}),
        tenantHosts: new Map([['sandbox.auth.test', 'sandbox']]),
      });
      sandbox = await tenantWithClient(tessera.server.context, 'sandbox');
      production = await tenantWithClient(tessera.server.context, 'production');
      home = await tessera.createClient({ scope: 'tessera:introspect' });
      // The tenants were written through this process's own store: wait for its follower.
      await tessera.server.context.syncChanges();
    });
    after(async () => {
      await tessera?.close();
      await dispose?.();
    });

    const at = (tenant: string, path: string) => `${tessera.url}/t/${tenant}${path}`;

    it('issues a tenant token under the tenant issuer, signed with a key only its JWKS has', async () => {
      const answer = await tokenAt(at('sandbox', '/oauth/token'), sandbox);
      assert.equal(answer.status, 200, answer.text);
      const token = answer.json.access_token as string;
      const issuer = `${tessera.url}/t/sandbox`;
      const { payload, protectedHeader } = await jwtVerify(
        token,
        createRemoteJWKSet(new URL(at('sandbox', '/.well-known/jwks.json'))),
        { issuer },
      );
      assert.equal(payload.client_id, sandbox.clientId);
      const kids = async (url: string) =>
        ((await send(url)).json.keys as Array<{ kid: string }>).map((key) => key.kid);
      assert.ok(
        (await kids(at('sandbox', '/.well-known/jwks.json'))).includes(protectedHeader.kid!),
      );
      assert.ok(
        !(await kids(at('production', '/.well-known/jwks.json'))).includes(protectedHeader.kid!),
      );
      assert.ok(
        !(await kids(`${tessera.url}/.well-known/jwks.json`)).includes(protectedHeader.kid!),
      );
    });

    it('refuses a sandbox client at production and at the default tenant exactly like an unknown client', async () => {
      const unknown = await tokenAt(at('production', '/oauth/token'), {
        clientId: 'no-such-client',
        clientSecret: sandbox.clientSecret,
      });
      const crossed = await tokenAt(at('production', '/oauth/token'), sandbox);
      assert.equal(crossed.status, 401);
      assert.equal(crossed.json.error, 'invalid_client');
      assert.deepEqual(crossed.json, unknown.json);
      assert.equal(crossed.headers['www-authenticate'], unknown.headers['www-authenticate']);
      const atDefault = await tokenAt(`${tessera.url}/oauth/token`, sandbox);
      assert.equal(atDefault.status, 401);
      assert.deepEqual(atDefault.json, unknown.json);
      // And the default tenant's client is unknown at a tenant.
      assert.deepEqual((await tokenAt(at('sandbox', '/oauth/token'), home)).json, unknown.json);
      assert.equal((await tokenAt(`${tessera.url}/oauth/token`, home)).status, 200);
    });

    it("answers a sandbox token {active:false} at production's introspection; revocation stays in its tenant", async () => {
      const token = (await tokenAt(at('sandbox', '/oauth/token'), sandbox)).json
        .access_token as string;
      const atProduction = await tokenCall(
        at('production', '/oauth/introspect'),
        production,
        token,
      );
      assert.equal(atProduction.status, 200);
      assert.deepEqual(atProduction.json, { active: false });
      const atDefault = await tokenCall(`${tessera.url}/oauth/introspect`, home, token);
      assert.deepEqual(atDefault.json, { active: false });
      const atSandbox = await tokenCall(at('sandbox', '/oauth/introspect'), sandbox, token);
      assert.equal(atSandbox.json.active, true);
      assert.equal(atSandbox.json.iss, `${tessera.url}/t/sandbox`);

      // Revoking it at production (RFC 7009: 200 for a token it does not know) changes nothing.
      assert.equal(
        (await tokenCall(at('production', '/oauth/revoke'), production, token)).status,
        200,
      );
      assert.equal(
        (await tokenCall(at('sandbox', '/oauth/introspect'), sandbox, token)).json.active,
        true,
      );
      // A production token revoked at production leaves the sandbox one alone, and vice versa.
      const prodToken = (await tokenAt(at('production', '/oauth/token'), production)).json
        .access_token as string;
      assert.equal(
        (await tokenCall(at('production', '/oauth/revoke'), production, prodToken)).status,
        200,
      );
      assert.deepEqual(
        (await tokenCall(at('production', '/oauth/introspect'), production, prodToken)).json,
        {
          active: false,
        },
      );
      assert.equal(
        (await tokenCall(at('sandbox', '/oauth/introspect'), sandbox, token)).json.active,
        true,
      );
      assert.equal((await tokenCall(at('sandbox', '/oauth/revoke'), sandbox, token)).status, 200);
      assert.deepEqual((await tokenCall(at('sandbox', '/oauth/introspect'), sandbox, token)).json, {
        active: false,
      });
      // The revocation feed of each tenant lists its own revocations only.
      const feed = async (url: string, client: typeof sandbox) =>
        await send(url, {
          headers: {
            authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`,
          },
        });
      const sandboxFeed = await feed(at('sandbox', '/oauth/revocations'), sandbox);
      const productionFeed = await feed(at('production', '/oauth/revocations'), production);
      assert.equal(sandboxFeed.status, 200, sandboxFeed.text);
      const jtiOf = (t: string) => claimsOf(t).jti;
      assert.ok(sandboxFeed.text.includes(String(jtiOf(token))));
      assert.ok(!sandboxFeed.text.includes(String(jtiOf(prodToken))));
      assert.ok(productionFeed.text.includes(String(jtiOf(prodToken))));
      assert.ok(!productionFeed.text.includes(String(jtiOf(token))));
    });

    it('publishes a discovery document per tenant, its URLs under the tenant issuer', async () => {
      for (const path of [
        '/.well-known/openid-configuration',
        '/.well-known/oauth-authorization-server',
      ]) {
        const sandboxDoc = (await send(at('sandbox', path))).json;
        const issuer = `${tessera.url}/t/sandbox`;
        assert.equal(sandboxDoc.issuer, issuer);
        assert.equal(sandboxDoc.token_endpoint, `${issuer}/oauth/token`);
        assert.equal(sandboxDoc.jwks_uri, `${issuer}/.well-known/jwks.json`);
        assert.equal(sandboxDoc.introspection_endpoint, `${issuer}/oauth/introspect`);
        assert.equal(
          (await send(at('production', path))).json.issuer,
          `${tessera.url}/t/production`,
        );
        assert.equal((await send(`${tessera.url}${path}`)).json.issuer, tessera.url);
      }
    });

    it('selects the tenant by host name (--tenant-host), leaving other paths to the server', async () => {
      const host = { host: 'sandbox.auth.test' };
      const answer = await tokenAt(`${tessera.url}/oauth/token`, sandbox, host);
      assert.equal(answer.status, 200, answer.text);
      assert.equal(claimsOf(answer.json.access_token as string).iss, `${tessera.url}/t/sandbox`);
      assert.equal((await tokenAt(`${tessera.url}/oauth/token`, home, host)).status, 401);
      const doc = await send(`${tessera.url}/.well-known/openid-configuration`, { headers: host });
      assert.equal(doc.json.issuer, `${tessera.url}/t/sandbox`);
      // Health stays the server's on every host.
      assert.equal((await send(`${tessera.url}/healthz`, { headers: host })).status, 200);
      // An unmapped host is the default tenant's.
      const other = await tokenAt(`${tessera.url}/oauth/token`, sandbox, { host: 'other.test' });
      assert.equal(other.status, 401);
    });

    it('serves tenant token requests on the fast path once the tenant is loaded', async () => {
      const listener = tessera.server.app.tokenListener;
      const before = listener.taken;
      assert.equal((await tokenAt(at('sandbox', '/oauth/token'), sandbox)).status, 200);
      assert.equal(
        (await tokenAt(`${tessera.url}/oauth/token`, sandbox, { host: 'sandbox.auth.test' }))
          .status,
        200,
      );
      assert.equal(listener.taken, before + 2);
    });

    it('answers an unknown tenant and an unknown tenant path 404 with a JSON error', async () => {
      const unknownToken = await tokenAt(at('nope', '/oauth/token'), sandbox);
      assert.equal(unknownToken.status, 404);
      assert.deepEqual(unknownToken.json, {
        error: 'not_found',
        error_description: 'No tenant nope',
      });
      const unknownDoc = await send(at('nope', '/.well-known/openid-configuration'));
      assert.equal(unknownDoc.status, 404);
      assert.equal(unknownDoc.json.error, 'not_found');
      assert.match(String(unknownDoc.headers['content-type']), /application\/json/);
      const noPath = await send(at('sandbox', '/admin/v1/clients'));
      assert.equal(noPath.status, 404);
      assert.equal(noPath.json.error, 'not_found');
      const wrongMethod = await send(at('sandbox', '/oauth/token'));
      assert.equal(wrongMethod.status, 405);
      assert.equal(wrongMethod.headers.allow, 'POST');
    });

    it("keeps each tenant's audit trail apart", async () => {
      const store = tessera.server.context.store;
      const registry = new ClientRegistry(
        store.forTenant('production'),
        tessera.server.context.hasher,
        {
          actor: 'cli:auditor',
        },
      );
      const { client } = await registry.create({ name: 'audited' });
      const production = await store.forTenant('production').listAudit(100);
      assert.ok(production.some((entry) => entry.target === client.clientId));
      assert.ok(
        !(await store.forTenant('sandbox').listAudit(100)).some(
          (e) => e.target === client.clientId,
        ),
      );
      assert.ok(!(await store.listAudit(100)).some((e) => e.target === client.clientId));
    });
  });
}
