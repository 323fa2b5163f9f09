/**
 * What the workers of `serve --workers N` share through the primary: failed client
 * authentications (an attacker spreading attempts over the workers gets the allowance once,
 * not N times) and one-time jtis (an assertion used at one worker is refused at the others).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { runCli } from './support/cli.js';
import { workersListening } from './support/deployment.js';
import { startTesseraProcess, within, type TesseraProcess } from './support/instances.js';
import { postFrom, tokenFrom } from './support/source-address.js';

async function tokenStatus(url: string, clientId: string, secret: string): Promise<number> {
  // A new connection each (postFrom's), so the primary hands it to the next worker.
  return (await tokenFrom('127.0.0.1', url, clientId, secret)).status;
}

const issuer = 'http://tessera.test';
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('state shared by the workers of one serve', () => {
  let dataDir: string;
  let server: TesseraProcess;
  let client: { client_id: string; client_secret: string };
  let assertionClient: { client_id: string };
  let assertionKey: CryptoKey;
  const perClient = 6;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tessera-workers-limits-'));
    const env = { TESSERA_DATA_DIR: dataDir };
    const created = await runCli(['clients', 'create', '--name', 'target', '--json'], env);
    assert.equal(created.status, 0, created.stderr);
    client = JSON.parse(created.stdout) as typeof client;
    const pair = await generateKeyPair('ES256', { extractable: true });
    assertionKey = pair.privateKey;
    const jwksFile = join(dataDir, 'jwks.json');
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'workers', alg: 'ES256' };
    await writeFile(jwksFile, JSON.stringify({ keys: [jwk] }));
    const keyed = await runCli(
      [
        'clients',
        'create',
        '--name',
        'assertions',
        '--auth-method',
        'private_key_jwt',
        '--jwks-file',
        jwksFile,
        '--json',
      ],
      env,
    );
    assert.equal(keyed.status, 0, keyed.stderr);
    assertionClient = JSON.parse(keyed.stdout) as typeof assertionClient;
    server = await startTesseraProcess(`sqlite:${join(dataDir, 'tessera.db')}`, {
      ...env,
      TESSERA_WORKERS: '2',
      TESSERA_ISSUER: issuer,
      TESSERA_AUTH_MAX_FAILURES_PER_CLIENT: String(perClient),
      TESSERA_AUTH_MAX_FAILURES_PER_ADDRESS: '1000',
    });
    // Both workers listening, so connections alternate between them.
    await workersListening(server, 2);
  });
  after(async () => {
    await server?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('locks the client_id after the allowance, whichever workers saw the failures', async () => {
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 3 * perClient && !statuses.includes(429); attempt += 1) {
      statuses.push(await tokenStatus(server.url, client.client_id, 'wrong secret'));
      // Time for a lock decided by the primary to reach every worker (IPC, well under this).
      await pause(30);
    }
    assert.deepEqual(statuses.slice(0, perClient), Array(perClient).fill(401));
    assert.equal(statuses.length, perClient + 1, `statuses: ${statuses.join(' ')}`);
    assert.equal(statuses.at(-1), 429);

    // The failures really were spread over both workers.
    const refusingPids = new Set(
      server
        .output()
        .split('\n')
        .filter((line) => line.includes('secret mismatch'))
        .map((line) => (JSON.parse(line) as { pid: number }).pid),
    );
    assert.equal(refusingPids.size, 2, `failures seen by ${[...refusingPids].join(', ')}`);

    // Locked on every worker, even with the right secret.
    for (let i = 0; i < 4; i += 1)
      assert.equal(await tokenStatus(server.url, client.client_id, client.client_secret), 429);
  });

  it('refuses a client assertion replayed at another worker', async () => {
    const assertion = await new SignJWT({ jti: randomUUID() })
      .setProtectedHeader({ alg: 'ES256', kid: 'workers' })
      .setIssuer(assertionClient.client_id)
      .setSubject(assertionClient.client_id)
      .setAudience(issuer)
      .setIssuedAt()
      .setExpirationTime('60s')
      .sign(assertionKey);
    const form = {
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    };
    const post = (requestId: string) =>
      postFrom('127.0.0.1', `${server.url}/oauth/token`, form, { 'x-request-id': requestId });
    const first = await post('jti-first');
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const replay = await post('jti-replay');
    assert.equal(replay.status, 401, JSON.stringify(replay.body));
    assert.equal((replay.body as { error: string }).error, 'invalid_client');
    // The two went to different workers, so only the shared check could refuse the replay.
    const pidOf = (requestId: string) =>
      server
        .output()
        .split('\n')
        .filter((line) => line.includes(`"reqId":"${requestId}"`))
        .map((line) => (JSON.parse(line) as { pid: number }).pid)[0];
    // Request lines are read from the pipe as they arrive, after the answers.
    await within(
      5_000,
      async () => pidOf('jti-first') !== undefined && pidOf('jti-replay') !== undefined,
    );
    assert.notEqual(pidOf('jti-first'), undefined);
    assert.notEqual(pidOf('jti-first'), pidOf('jti-replay'));
  });
});
