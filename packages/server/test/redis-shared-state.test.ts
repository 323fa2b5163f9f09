/**
 * One state across instances through Redis (`--shared-state redis://…`, issue 16): two
 * instances that share nothing else of this state (here two servers on one SQLite file, whose
 * default would be per-process memory) count failures and remember jtis together.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { issuer, oneTimeProofs, workersListening } from './support/deployment.js';
import { startTesseraProcess, type TesseraProcess } from './support/instances.js';
import { redisSkipReason, redisUrl } from './support/redis.js';
import { postFrom, tokenFrom } from './support/source-address.js';
import { startTessera, type TestTessera } from './support/tessera.js';

const skip = await redisSkipReason();
const victimAddress = '127.0.0.1';
const attackerAddress = '127.0.0.2';

describe('state shared by instances through Redis', { skip }, () => {
  let a: TestTessera;
  let b: TestTessera;
  /** `tessera serve --workers 2`: its primary consults Redis for its workers. */
  let c: TesseraProcess;
  let client: { clientId: string; clientSecret: string };
  let proofs: Awaited<ReturnType<typeof oneTimeProofs>>;
  const perClient = 4;

  before(async () => {
    const settings = {
      sharedState: redisUrl,
      authFailureLimits: { perClient, perAddress: 1000, windowSeconds: 3600, lockSeconds: 60 },
    };
    a = await startTessera(settings);
    b = await startTessera({ ...settings, dataDir: a.dataDir });
    for (const instance of [a, b]) instance.server.context.config.issuer = issuer;
    c = await startTesseraProcess(a.database, {
      TESSERA_DATA_DIR: a.dataDir,
      TESSERA_ISSUER: issuer,
      TESSERA_WORKERS: '2',
      TESSERA_SHARED_STATE_URL: redisUrl,
    });
    await workersListening(c, 2);
    assert.equal(a.server.context.authenticator.failures.shared?.kind, 'redis');
    client = await a.createClient();
    proofs = await oneTimeProofs(a.registry, 'redis');
  });

  after(async () => {
    await c?.stop();
    await b?.close();
    await a?.close();
  });

  const proof = () => proofs.dpopProof();

  it('refuses at B a DPoP proof used at A', async () => {
    const once = await proof();
    const first = await tokenFrom(victimAddress, a.url, client.clientId, client.clientSecret, {
      dpop: once,
    });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const replay = await tokenFrom(victimAddress, b.url, client.clientId, client.clientSecret, {
      dpop: once,
    });
    assert.equal(replay.status, 400);
    assert.deepEqual(replay.body, {
      error: 'invalid_dpop_proof',
      error_description: 'The DPoP proof is invalid',
    });
  });

  it('refuses at A a client assertion used at B', async () => {
    const form = await proofs.assertionForm();
    assert.equal((await postFrom(victimAddress, `${b.url}/oauth/token`, form)).status, 200);
    const replay = await postFrom(victimAddress, `${a.url}/oauth/token`, form);
    assert.equal(replay.status, 401);
    assert.equal((replay.body as { error: string }).error, 'invalid_client');
  });

  it('counts failures at A at B, and never locks out the victim', async () => {
    const wrong = (instance: TestTessera) =>
      tokenFrom(attackerAddress, instance.url, client.clientId, 'guess');
    assert.equal((await wrong(a)).status, 401);
    assert.equal((await wrong(a)).status, 401);
    assert.equal((await wrong(b)).status, 401);
    assert.equal((await wrong(b)).status, 401);
    const atB = await tokenFrom(attackerAddress, b.url, client.clientId, client.clientSecret);
    assert.equal(atB.status, 429, 'B had seen two failures only: the count is shared');
    for (const instance of [a, b]) {
      const victim = await tokenFrom(
        victimAddress,
        instance.url,
        client.clientId,
        client.clientSecret,
      );
      assert.equal(victim.status, 200);
    }
  });

  it('refuses at the workers of another serve a DPoP proof used at A, and the reverse', async () => {
    const once = await proof();
    const token = (url: string, dpop: string) =>
      tokenFrom(victimAddress, url, client.clientId, client.clientSecret, { dpop });
    assert.equal((await token(a.url, once)).status, 200);
    // New connections alternate between c's two workers: both ask the primary, which asks Redis.
    for (let i = 0; i < 2; i += 1) assert.equal((await token(c.url, once)).status, 400);
    const other = await proof();
    assert.equal((await token(c.url, other)).status, 200);
    assert.equal((await token(b.url, other)).status, 400);
  });
});
