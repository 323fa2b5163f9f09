/**
 * `serve --workers N` counts failed client authentications across its workers: an attacker
 * whose attempts are spread over the workers gets the configured allowance once, not N times.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from './support/cli.js';
import { startTesseraProcess, within, type TesseraProcess } from './support/instances.js';
import { basicAuthorization } from './support/tessera.js';

/** One token request on a new connection, so the primary hands it to the next worker. */
function tokenStatus(url: string, clientId: string, secret: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      `${url}/oauth/token`,
      {
        method: 'POST',
        agent: false,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: basicAuthorization(clientId, secret),
        },
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      },
    );
    outgoing.on('error', reject);
    outgoing.end('grant_type=client_credentials');
  });
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('brute-force limits across workers', () => {
  let dataDir: string;
  let server: TesseraProcess;
  let client: { client_id: string; client_secret: string };
  const perClient = 6;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tessera-workers-limits-'));
    const env = { TESSERA_DATA_DIR: dataDir };
    const created = await runCli(['clients', 'create', '--name', 'target', '--json'], env);
    assert.equal(created.status, 0, created.stderr);
    client = JSON.parse(created.stdout) as typeof client;
    server = await startTesseraProcess(`sqlite:${join(dataDir, 'tessera.db')}`, {
      ...env,
      TESSERA_WORKERS: '2',
      TESSERA_AUTH_MAX_FAILURES_PER_CLIENT: String(perClient),
      TESSERA_AUTH_MAX_FAILURES_PER_ADDRESS: '1000',
    });
    // Both workers listening, so connections alternate between them.
    const listening = () => server.output().split('tessera listening').length - 1;
    assert.ok(await within(20_000, async () => listening() >= 2), server.output());
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
});
