/**
 * One state across instances on one PostgreSQL (issue 16): failure counts and the jti replay
 * caches (DPoP proofs, client assertions) are shared by every instance, so N instances do not
 * give N times the attempts and a proof used at one is refused at another. Instance A runs two
 * workers (its primary consults PostgreSQL for them), B a single process.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  PostgresDeployment,
  oneTimeProofs,
  workersListening,
  type Credentials,
} from './support/deployment.js';
import { startTesseraProcess, within, type TesseraProcess } from './support/instances.js';
import { postgresSkipReason } from './support/postgres.js';
import { postFrom, tokenFrom } from './support/source-address.js';

const skip = await postgresSkipReason();
const victimAddress = '127.0.0.1';
const attackerAddress = '127.0.0.2';
const perClient = 6;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('state shared by instances on one PostgreSQL', { skip }, () => {
  let deployment: PostgresDeployment;
  let a: TesseraProcess;
  let b: TesseraProcess;
  let client: Credentials;
  let proofs: Awaited<ReturnType<typeof oneTimeProofs>>;

  before(async () => {
    deployment = await PostgresDeployment.create('shared_state');
    const env = (name: string, workers: number) =>
      deployment.env(name, {
        TESSERA_WORKERS: String(workers),
        TESSERA_AUTH_MAX_FAILURES_PER_CLIENT: String(perClient),
        TESSERA_AUTH_MAX_FAILURES_PER_ADDRESS: '1000',
      });
    [a, b] = await Promise.all([
      startTesseraProcess(deployment.schema.url, env('a', 2)),
      startTesseraProcess(deployment.schema.url, env('b', 1)),
    ]);
    await workersListening(a, 2);
    client = await deployment.createClient({ name: 'victim' });
    proofs = await oneTimeProofs(await deployment.registry(), 'shared');
  });

  after(() => deployment?.close(a, b));

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
    // A learns of the lock with its next failure from that address (the documented one more):
    // its primary counts it in PostgreSQL, finds the lock and sends it to both workers. The
    // poll guesses wrong: a right secret answered before the lock arrived would clear the
    // count (a success clears its own failures), and the test would race with itself.
    assert.equal((await wrong(a)).status, 401);
    assert.ok(
      await within(5_000, async () => (await wrong(a)).status === 429),
      'A locks the attacking address too',
    );
    // Once locked, the right secret from that address waits too, at either worker.
    await pause(200);
    for (let i = 0; i < 2; i += 1) {
      const locked = await tokenFrom(attackerAddress, a.url, client.clientId, client.clientSecret);
      assert.equal(locked.status, 429, 'the lock holds for the right secret from that address');
    }
  });

  it('refuses at B a DPoP proof used at A', async () => {
    const proof = await proofs.dpopProof();
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
    const form = await proofs.assertionForm();
    const first = await postFrom(victimAddress, `${b.url}/oauth/token`, form);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const replay = await postFrom(victimAddress, `${a.url}/oauth/token`, form);
    assert.equal(replay.status, 401);
    assert.equal((replay.body as { error: string }).error, 'invalid_client');
  });
});
