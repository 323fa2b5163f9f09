/**
 * One state across instances on one PostgreSQL (issue 16): failure counts and the jti replay
 * caches (DPoP proofs, client assertions) are shared by every instance, so N instances do not
 * give N times the attempts and a proof used at one is refused at another. Instance A runs two
 * workers (its primary consults PostgreSQL for them), B a single process.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { loadKek } from '../src/lib/kek.js';
import { ClientRegistry } from '../src/registry/client-registry.js';
import { SecretHasher } from '../src/secrets/client-secret.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import { newKek, startTesseraProcess, within, type TesseraProcess } from './support/instances.js';
import { postgresSkipReason } from './support/postgres.js';
import { createTestSchema, type TestSchema } from './support/postgres-schema.js';
import { postFrom, tokenFrom } from './support/source-address.js';

const skip = await postgresSkipReason();
const issuer = 'http://tessera.test';
const victimAddress = '127.0.0.1';
const attackerAddress = '127.0.0.2';
const perClient = 6;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const now = () => Math.floor(Date.now() / 1000);

describe('state shared by instances on one PostgreSQL', { skip }, () => {
  let schema: TestSchema;
  let dataDir: string;
  let a: TesseraProcess;
  let b: TesseraProcess;
  let store: PostgresStore;
  let client: { clientId: string; clientSecret: string };
  let assertionClient: string;
  let assertionKey: CryptoKey;
  let dpopKey: { privateKey: CryptoKey; publicJwk: JWK };

  before(async () => {
    schema = await createTestSchema('shared_state');
    dataDir = await mkdtemp(join(tmpdir(), 'tessera-shared-state-'));
    const kek = newKek();
    const env = (name: string, workers: number) => ({
      TESSERA_KEK: kek,
      TESSERA_ISSUER: issuer,
      TESSERA_DATA_DIR: join(dataDir, name),
      TESSERA_WORKERS: String(workers),
      TESSERA_AUTH_MAX_FAILURES_PER_CLIENT: String(perClient),
      TESSERA_AUTH_MAX_FAILURES_PER_ADDRESS: '1000',
    });
    [a, b] = await Promise.all([
      startTesseraProcess(schema.url, env('a', 2)),
      startTesseraProcess(schema.url, env('b', 1)),
    ]);
    const listening = () => a.output().split('tessera listening').length - 1;
    assert.ok(await within(20_000, async () => listening() >= 2), a.output());
    store = new PostgresStore(schema.url);
    const hasher = await SecretHasher.load(store, loadKek(kek, join(dataDir, 'unused.key')));
    const registry = new ClientRegistry(store, hasher);
    const created = await registry.create({ name: 'victim' });
    client = { clientId: created.client.clientId, clientSecret: created.clientSecret };
    const pair = await generateKeyPair('ES256', { extractable: true });
    assertionKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'shared', alg: 'ES256' };
    assertionClient = (
      await registry.create({
        name: 'assertions',
        authMethod: 'private_key_jwt',
        jwks: { keys: [jwk] },
      })
    ).client.clientId;
    const dpop = await generateKeyPair('ES256', { extractable: true });
    dpopKey = { privateKey: dpop.privateKey, publicJwk: await exportJWK(dpop.publicKey) };
  });

  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await store?.close();
    await schema?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('counts failures at instance A at instance B, and never locks out the victim', async () => {
    const wrong = (instance: TesseraProcess) =>
      tokenFrom(attackerAddress, instance.url, client.clientId, 'guess');
    for (let i = 0; i < perClient - 2; i += 1) assert.equal((await wrong(a)).status, 401);
    // A's workers tell its primary, which counts in PostgreSQL: give that a moment.
    await pause(300);
    assert.equal((await wrong(b)).status, 401);
    assert.equal((await wrong(b)).status, 401, `failure ${perClient}, the first five elsewhere`);
    const atB = await tokenFrom(attackerAddress, b.url, client.clientId, client.clientSecret);
    assert.equal(atB.status, 429, 'B had seen two failures only: the count is shared');
    for (const instance of [a, b]) {
      const victim = await tokenFrom(
        victimAddress,
        instance.url,
        client.clientId,
        client.clientSecret,
      );
      assert.equal(victim.status, 200, 'the correct secret from another address always works');
    }
    // A learns of the lock with its next failure from that address (the documented one more).
    assert.equal((await wrong(a)).status, 401);
    assert.ok(
      await within(5_000, async () => {
        const answer = await tokenFrom(
          attackerAddress,
          a.url,
          client.clientId,
          client.clientSecret,
        );
        return answer.status === 429;
      }),
      'A locks the attacking address too',
    );
  });

  it('refuses at B a DPoP proof used at A', async () => {
    const proof = await new SignJWT({
      jti: randomUUID(),
      htm: 'POST',
      htu: `${issuer}/oauth/token`,
      iat: now(),
    })
      .setProtectedHeader({
        alg: 'ES256',
        typ: 'dpop+jwt',
        jwk: {
          kty: dpopKey.publicJwk.kty!,
          crv: dpopKey.publicJwk.crv!,
          x: dpopKey.publicJwk.x!,
          y: dpopKey.publicJwk.y!,
        },
      })
      .sign(dpopKey.privateKey);
    const first = await tokenFrom(victimAddress, a.url, client.clientId, client.clientSecret, {
      dpop: proof,
    });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal((first.body as { token_type: string }).token_type, 'DPoP');
    const replay = await tokenFrom(victimAddress, b.url, client.clientId, client.clientSecret, {
      dpop: proof,
    });
    assert.equal(replay.status, 400);
    assert.deepEqual(replay.body, {
      error: 'invalid_dpop_proof',
      error_description: 'The DPoP proof is invalid',
    });
  });

  it('refuses at A a client assertion used at B', async () => {
    const assertion = await new SignJWT({ jti: randomUUID() })
      .setProtectedHeader({ alg: 'ES256', kid: 'shared' })
      .setIssuer(assertionClient)
      .setSubject(assertionClient)
      .setAudience(issuer)
      .setIssuedAt()
      .setExpirationTime('60s')
      .sign(assertionKey);
    const form = {
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    };
    const first = await postFrom(victimAddress, `${b.url}/oauth/token`, form);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const replay = await postFrom(victimAddress, `${a.url}/oauth/token`, form);
    assert.equal(replay.status, 401);
    assert.equal((replay.body as { error: string }).error, 'invalid_client');
  });
});
