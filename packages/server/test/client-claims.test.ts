/**
 * Issue 19, per-client and per-scope claims: set through the CLI and the admin API, they are
 * in every token of the client and in its introspection answer; reserved names and oversize
 * objects are refused with the exact error; issuing reads no database.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';
import { runCli } from './support/cli.js';
import { basicAuthorization, postForm, startTessera, type TestTessera } from './support/tessera.js';
import { getToken } from './support/tokens.js';

type Client = { clientId: string; clientSecret: string };

describe('client claims', () => {
  let tessera: TestTessera;
  let dir: string;
  let adminToken: string;
  let introspector: Client;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-claims-'));
    tessera = await startTessera({
      scopeClaims: {
        'payments:write': { limits: { daily: 10000 }, region: 'scope-region' },
      },
    });
    adminToken = await getToken(
      tessera.url,
      await tessera.createClient({ scope: 'tessera:admin' }),
    );
    introspector = await tessera.createClient({ scope: 'tessera:introspect' });
  });
  after(async () => {
    await tessera.close();
    await rm(dir, { recursive: true, force: true });
  });

  const admin = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${tessera.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${adminToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };
  const introspect = async (token: string) =>
    (
      await postForm(
        `${tessera.url}/oauth/introspect`,
        { token },
        { authorization: basicAuthorization(introspector.clientId, introspector.clientSecret) },
      )
    ).body as Record<string, unknown>;
  const cli = (...args: string[]) => runCli([...args, '--database', tessera.database]);

  it('puts claims set with the CLI into every token and the introspection answer', async () => {
    const file = join(dir, 'claims.json');
    await writeFile(file, JSON.stringify({ merchant: 'm-1', roles: ['refunds'] }));
    const created = await cli(
      'clients',
      'create',
      '--name',
      'Merchant',
      '--claims-file',
      file,
      '--claim',
      'plan=gold',
      '--claim',
      'seats=12',
      '--claim',
      'account={"id":"a-9","region":"eu"}',
      '--json',
    );
    assert.equal(created.status, 0, created.stderr);
    const view = JSON.parse(created.stdout) as Client & { client_secret: string; claims: unknown };
    const expected = {
      merchant: 'm-1',
      roles: ['refunds'],
      plan: 'gold',
      seats: 12,
      account: { id: 'a-9', region: 'eu' },
    };
    assert.deepEqual(view.claims, expected);
    const client = {
      clientId: (view as { client_id?: string }).client_id!,
      clientSecret: view.client_secret,
    };

    const token = await getToken(tessera.url, client);
    const claims = decodeJwt(token);
    assert.deepEqual(
      Object.fromEntries(Object.keys(expected).map((name) => [name, claims[name]])),
      expected,
    );
    assert.equal(claims.client_id, client.clientId);
    const answer = await introspect(token);
    assert.equal(answer.active, true);
    for (const [name, value] of Object.entries(expected)) assert.deepEqual(answer[name], value);

    const shown = await cli('clients', 'show', client.clientId, '--json');
    assert.deepEqual(JSON.parse(shown.stdout).claims, expected);

    // update: --claim merges, --unset-claim removes; the running server sees it at once.
    const updated = await cli(
      'clients',
      'update',
      client.clientId,
      '--claim',
      'plan=platinum',
      '--unset-claim',
      'roles',
      '--json',
    );
    assert.equal(updated.status, 0, updated.stderr);
    const merged = { merchant: 'm-1', plan: 'platinum', seats: 12, account: expected.account };
    assert.deepEqual(JSON.parse(updated.stdout).claims, merged);
    const next = decodeJwt(await getToken(tessera.url, client));
    assert.equal(next.plan, 'platinum');
    assert.equal(next.roles, undefined);

    // --claims-file on update replaces the whole object.
    await writeFile(file, JSON.stringify({ only: true }));
    const replaced = await cli(
      'clients',
      'update',
      client.clientId,
      '--claims-file',
      file,
      '--json',
    );
    assert.deepEqual(JSON.parse(replaced.stdout).claims, { only: true });
    const last = decodeJwt(await getToken(tessera.url, client));
    assert.equal(last.only, true);
    assert.equal(last.merchant, undefined);
  });

  it('refuses a reserved claim name and an oversize object on the CLI (exit 1, naming it)', async () => {
    const reserved = await cli('clients', 'create', '--name', 'X', '--claim', 'aud=https://x');
    assert.equal(reserved.status, 1);
    assert.equal(reserved.stderr, 'tessera: claims must not set aud: Tessera owns that claim\n');
    const big = await cli(
      'clients',
      'create',
      '--name',
      'X',
      '--claim',
      `blob=${'x'.repeat(5000)}`,
    );
    assert.equal(big.status, 1);
    assert.equal(big.stderr, 'tessera: claims is 5011 bytes serialised, more than 4096\n');
  });

  it('sets and replaces claims through the admin API (POST and PATCH)', async () => {
    const created = await admin('POST', '/admin/v1/clients', {
      name: 'API merchant',
      scope: 'payments:write read',
      claims: { merchant: 'm-2', region: 'client-region', nested: { a: { b: [1, 2] } } },
    });
    assert.equal(created.status, 201);
    assert.deepEqual(created.body.claims, {
      merchant: 'm-2',
      region: 'client-region',
      nested: { a: { b: [1, 2] } },
    });
    const client = { clientId: created.body.client_id, clientSecret: created.body.client_secret };
    const token = decodeJwt(await getToken(tessera.url, client));
    assert.equal(token.merchant, 'm-2');
    assert.deepEqual(token.nested, { a: { b: [1, 2] } });
    // The scope's claims are added; the client's own win over them.
    assert.deepEqual(token.limits, { daily: 10000 });
    assert.equal(token.region, 'client-region');
    // Without the scope, its claims are not added.
    const readOnly = decodeJwt(await getToken(tessera.url, client, { scope: 'read' }));
    assert.equal(readOnly.limits, undefined);

    const patched = await admin('PATCH', `/admin/v1/clients/${client.clientId}`, {
      claims: { tier: 'b' },
    });
    assert.equal(patched.status, 200);
    assert.deepEqual(patched.body.claims, { tier: 'b' });
    const after = await getToken(tessera.url, client);
    const decoded = decodeJwt(after);
    assert.equal(decoded.tier, 'b');
    assert.equal(decoded.merchant, undefined);
    assert.equal((await introspect(after)).tier, 'b');
    const shown = await admin('GET', `/admin/v1/clients/${client.clientId}`);
    assert.deepEqual(shown.body.claims, { tier: 'b' });

    // An empty object clears them; the view then has no claims member.
    const cleared = await admin('PATCH', `/admin/v1/clients/${client.clientId}`, { claims: {} });
    assert.equal(cleared.body.claims, undefined);
  });

  it('refuses reserved names, non-objects and oversize claims with invalid_client_metadata', async () => {
    for (const name of [
      'iss',
      'sub',
      'aud',
      'exp',
      'nbf',
      'iat',
      'jti',
      'client_id',
      'scope',
      'cnf',
      'auth_time',
      'acr',
    ]) {
      const refused = await admin('POST', '/admin/v1/clients', {
        name: 'X',
        claims: { [name]: 1 },
      });
      assert.equal(refused.status, 400, name);
      assert.deepEqual(refused.body, {
        error: 'invalid_client_metadata',
        error_description: `claims must not set ${name}: Tessera owns that claim`,
      });
    }
    const two = await admin('POST', '/admin/v1/clients', { name: 'X', claims: { iss: 1, jti: 2 } });
    assert.deepEqual(two.body, {
      error: 'invalid_client_metadata',
      error_description: 'claims must not set iss, jti: Tessera owns those claims',
    });
    const list = await admin('POST', '/admin/v1/clients', { name: 'X', claims: ['a'] });
    assert.deepEqual(list.body, {
      error: 'invalid_client_metadata',
      error_description: 'claims must be a JSON object',
    });
    const big = await admin('POST', '/admin/v1/clients', {
      name: 'X',
      claims: { blob: 'x'.repeat(4086) },
    });
    assert.equal(big.status, 400);
    assert.deepEqual(big.body, {
      error: 'invalid_client_metadata',
      error_description: 'claims is 4097 bytes serialised, more than 4096',
    });
    const exact = await admin('POST', '/admin/v1/clients', {
      name: 'X',
      claims: { blob: 'x'.repeat(4085) },
    });
    assert.equal(exact.status, 201, 'exactly 4096 bytes is allowed');

    const created = await admin('POST', '/admin/v1/clients', { name: 'Y', claims: { a: 1 } });
    const patched = await admin('PATCH', `/admin/v1/clients/${created.body.client_id}`, {
      claims: { exp: 1 },
    });
    assert.equal(patched.status, 400);
    assert.deepEqual(patched.body, {
      error: 'invalid_client_metadata',
      error_description: 'claims must not set exp: Tessera owns that claim',
    });
  });

  it('issues tokens with claims from memory: no store read per token', async () => {
    const created = await admin('POST', '/admin/v1/clients', {
      name: 'Ten claims',
      claims: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`c${i}`, `value ${i}`])),
    });
    const client = { clientId: created.body.client_id, clientSecret: created.body.client_secret };
    await getToken(tessera.url, client);
    const reads = tessera.server.context.clients.storeReads;
    for (let i = 0; i < 20; i += 1) {
      const claims = decodeJwt(await getToken(tessera.url, client));
      assert.equal(claims.c9, 'value 9');
    }
    assert.equal(tessera.server.context.clients.storeReads, reads);
  });

  it('checks --scope-claims at start-up, naming the option and the claim', async () => {
    const file = join(dir, 'scopes.json');
    await writeFile(file, JSON.stringify({ 'payments:write': { exp: 1 } }));
    assert.throws(
      () => loadConfig({ TESSERA_SCOPE_CLAIMS: file }),
      (error) =>
        error instanceof ConfigError &&
        error.option === 'scopeClaims' &&
        error.message ===
          `TESSERA_SCOPE_CLAIMS ${file}: the claims of scope "payments:write" must not set exp: Tessera owns that claim (--scope-claims or TESSERA_SCOPE_CLAIMS)`,
    );
    await writeFile(file, 'not json');
    assert.throws(() => loadConfig({ TESSERA_SCOPE_CLAIMS: file }), /is not JSON/);
    // The hook needs its secret, from the environment only.
    assert.throws(
      () => loadConfig({ TESSERA_TOKEN_HOOK: 'http://127.0.0.1:1/hook' }),
      /TESSERA_TOKEN_HOOK_SECRET must be set with the token hook/,
    );
    assert.throws(() => loadConfig({ TESSERA_TOKEN_HOOK: 'ftp://x' }), /must be an http\(s\) URL/);
  });
});
