import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeProtectedHeader } from 'jose';
import type { ClientRegistry } from '../src/registry/client-registry.js';
import {
  PostgresDeployment,
  accessToken,
  adminCall as adminCallAs,
  introspect,
  token,
  type Credentials,
} from './support/deployment.js';
import { startTesseraProcess, within, type TesseraProcess } from './support/instances.js';
import { postgresSkipReason } from './support/postgres.js';
import { basicAuthorization, postForm } from './support/tessera.js';

const skip = await postgresSkipReason();

describe('several instances on one PostgreSQL', { skip }, () => {
  let deployment: PostgresDeployment;
  let a: TesseraProcess;
  let b: TesseraProcess;
  let registry: ClientRegistry;
  let admin: Credentials;
  let introspector: Credentials;

  before(async () => {
    deployment = await PostgresDeployment.create('instances');
    // Two worker processes per instance (whatever the machine's core count): four processes
    // share the database, each with its own caches to keep fresh.
    const env = (name: string) => deployment.env(name, { TESSERA_WORKERS: '2' });
    // Started together: migrations, the pepper and the first key must converge on one.
    [a, b] = await Promise.all([
      startTesseraProcess(deployment.schema.url, env('a')),
      startTesseraProcess(deployment.schema.url, env('b')),
    ]);
    registry = await deployment.registry();
    admin = await deployment.createClient({ name: 'tessera:admin', scope: 'tessera:admin' });
    introspector = await deployment.createClient({
      name: 'tessera:introspect',
      scope: 'tessera:introspect',
    });
  });

  after(() => deployment?.close(a, b));

  const adminCall = (url: string, method: string, path: string, body?: unknown) =>
    adminCallAs(url, admin, method, path, body);

  it('agree on one signing key and serve the same JWKS', async () => {
    const [jwksA, jwksB] = await Promise.all(
      [a, b].map(async (p) => (await fetch(`${p.url}/.well-known/jwks.json`)).text()),
    );
    assert.equal(jwksA, jwksB);
    assert.equal((JSON.parse(jwksA!) as { keys: unknown[] }).keys.length, 1);
    const kidA = decodeProtectedHeader(await accessToken(a.url, admin)).kid;
    const kidB = decodeProtectedHeader(await accessToken(b.url, admin)).kid;
    assert.equal(kidA, kidB);
  });

  it('a client created, disabled or rotated through A is honoured by B within one second', async () => {
    const client = { clientId: `coherent-${process.pid}`, clientSecret: `tsr_${'x'.repeat(43)}` };
    // B has just looked the id up and remembers it as unknown.
    assert.equal((await token(b.url, client)).status, 401);

    const created = await adminCall(a.url, 'POST', '/admin/v1/clients', {
      name: 'coherent',
      scope: 'read',
      client_id: client.clientId,
      client_secret: client.clientSecret,
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.ok(
      await within(1_000, async () => (await token(b.url, client)).status === 200),
      'B did not accept the client created on A within 1 s',
    );

    assert.equal(
      (await adminCall(a.url, 'POST', `/admin/v1/clients/${client.clientId}/disable`)).status,
      200,
    );
    assert.ok(
      await within(1_000, async () => (await token(b.url, client)).status === 401),
      'B still issued tokens to the client disabled on A after 1 s',
    );
    assert.equal(
      (await adminCall(a.url, 'POST', `/admin/v1/clients/${client.clientId}/enable`)).status,
      200,
    );
    assert.ok(await within(1_000, async () => (await token(b.url, client)).status === 200));

    const rotated = await adminCall(
      a.url,
      'POST',
      `/admin/v1/clients/${client.clientId}/rotate-secret`,
      {
        grace_seconds: 0,
      },
    );
    assert.equal(rotated.status, 200);
    const renewed = {
      clientId: client.clientId,
      clientSecret: rotated.body.client_secret as string,
    };
    assert.ok(
      await within(
        1_000,
        async () =>
          (await token(b.url, renewed)).status === 200 &&
          (await token(b.url, client)).status === 401,
      ),
      'B did not follow the secret rotation on A within 1 s',
    );
  });

  it('a revocation on A shows at B’s introspection and revocation feed within one second', async () => {
    const { client, clientSecret } = await registry.create({ name: 'revoked', scope: 'read' });
    const owner = { clientId: client.clientId, clientSecret };
    const issued = await accessToken(b.url, owner);
    const before = await introspect(b.url, introspector, issued);
    assert.equal(before.active, true);

    const revoked = await postForm(
      `${a.url}/oauth/revoke`,
      { token: issued },
      { authorization: basicAuthorization(owner.clientId, owner.clientSecret) },
    );
    assert.equal(revoked.status, 200, revoked.text);
    const feed = async () => {
      const response = await fetch(`${b.url}/oauth/revocations`, {
        headers: {
          authorization: basicAuthorization(introspector.clientId, introspector.clientSecret),
        },
      });
      return (await response.json()) as { revocations: Array<{ jti: string }> };
    };
    assert.ok(
      await within(
        1_000,
        async () =>
          !(await introspect(b.url, introspector, issued)).active &&
          (await feed()).revocations.some((entry) => entry.jti === before.jti),
      ),
      'B did not report the revocation made on A within 1 s',
    );
  });

  it('a key rotated on A is published by B within one second; both then sign with it', async () => {
    const rotated = await adminCall(a.url, 'POST', '/admin/v1/keys/rotate', {
      propagation_seconds: 0,
    });
    assert.equal(rotated.status, 201, JSON.stringify(rotated.body));
    const kid = rotated.body.kid as string;
    const jwks = async (p: TesseraProcess) =>
      (await fetch(`${p.url}/.well-known/jwks.json`)).text();
    assert.ok(
      await within(1_000, async () => (await jwks(b)).includes(kid)),
      'B did not publish the new key within 1 s',
    );
    // Activation waits for the propagation delay (whole seconds) and a maintenance tick.
    assert.ok(
      await within(10_000, async () => {
        const [kidA, kidB] = await Promise.all([
          accessToken(a.url, admin).then((t) => decodeProtectedHeader(t).kid),
          accessToken(b.url, admin).then((t) => decodeProtectedHeader(t).kid),
        ]);
        return kidA === kid && kidB === kid;
      }),
      'the instances did not both sign with the rotated key',
    );
    assert.equal(await jwks(a), await jwks(b));
    const active = (await deployment.store.listKeys()).filter((k) => k.state === 'active');
    assert.deepEqual(
      active.map((k) => k.kid),
      [kid],
    );
  });

  it('an instance killed with -9 loses nothing it acknowledged', async () => {
    const created = await adminCall(b.url, 'POST', '/admin/v1/clients', {
      name: 'acknowledged',
      scope: 'read',
    });
    assert.equal(created.status, 201);
    await b.kill();
    const stored = await deployment.store.getClient(created.body.client_id as string);
    assert.equal(stored?.name, 'acknowledged');
    // A serves the client B registered, with its secret.
    await accessToken(a.url, {
      clientId: created.body.client_id as string,
      clientSecret: created.body.client_secret as string,
    });
  });
});
