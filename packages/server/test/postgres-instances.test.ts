import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeProtectedHeader } from 'jose';
import { loadKek } from '../src/lib/kek.js';
import { ClientRegistry } from '../src/registry/client-registry.js';
import { SecretHasher } from '../src/secrets/client-secret.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import { newKek, startTesseraProcess, within, type TesseraProcess } from './support/instances.js';
import { postgresSkipReason } from './support/postgres.js';
import { createTestSchema, type TestSchema } from './support/postgres-schema.js';
import { basicAuthorization, postForm } from './support/tessera.js';

const skip = await postgresSkipReason();
const issuer = 'http://tessera.test';

type Credentials = { clientId: string; clientSecret: string };

async function token(url: string, client: Credentials) {
  return postForm(
    `${url}/oauth/token`,
    { grant_type: 'client_credentials' },
    { authorization: basicAuthorization(client.clientId, client.clientSecret) },
  );
}

async function accessToken(url: string, client: Credentials): Promise<string> {
  const result = await token(url, client);
  assert.equal(result.status, 200, result.text);
  return (result.body as { access_token: string }).access_token;
}

describe('several instances on one PostgreSQL', { skip }, () => {
  let schema: TestSchema;
  let dataDir: string;
  let kek: string;
  let a: TesseraProcess;
  let b: TesseraProcess;
  let store: PostgresStore;
  let registry: ClientRegistry;
  let admin: Credentials;
  let introspector: Credentials;

  before(async () => {
    schema = await createTestSchema('instances');
    dataDir = await mkdtemp(join(tmpdir(), 'tessera-instances-'));
    kek = newKek();
    const env = (name: string) => ({
      TESSERA_KEK: kek,
      TESSERA_ISSUER: issuer,
      TESSERA_DATA_DIR: join(dataDir, name),
      // Two worker processes per instance (whatever the machine's core count): four processes
      // share the database, each with its own caches to keep fresh.
      TESSERA_WORKERS: '2',
    });
    // Started together: migrations, the pepper and the first key must converge on one.
    [a, b] = await Promise.all([
      startTesseraProcess(schema.url, env('a')),
      startTesseraProcess(schema.url, env('b')),
    ]);
    store = new PostgresStore(schema.url);
    const hasher = await SecretHasher.load(store, loadKek(kek, join(dataDir, 'unused.key')));
    registry = new ClientRegistry(store, hasher);
    const created = async (scope: string) => {
      const { client, clientSecret } = await registry.create({ name: scope, scope });
      return { clientId: client.clientId, clientSecret };
    };
    admin = await created('tessera:admin');
    introspector = await created('tessera:introspect');
  });

  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await store?.close();
    await schema?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const adminCall = async (url: string, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${await accessToken(url, admin)}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };

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
    const introspect = async () =>
      (
        await postForm(
          `${b.url}/oauth/introspect`,
          { token: issued },
          { authorization: basicAuthorization(introspector.clientId, introspector.clientSecret) },
        )
      ).body as { active: boolean; jti?: string };
    const before = await introspect();
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
          !(await introspect()).active &&
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
    const active = (await store.listKeys()).filter((k) => k.state === 'active');
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
    const stored = await store.getClient(created.body.client_id as string);
    assert.equal(stored?.name, 'acknowledged');
    // A serves the client B registered, with its secret.
    await accessToken(a.url, {
      clientId: created.body.client_id as string,
      clientSecret: created.body.client_secret as string,
    });
  });
});
