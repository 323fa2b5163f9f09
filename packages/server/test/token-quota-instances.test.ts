/**
 * Token quotas held across processes (issue 22): the two workers of one `tessera serve
 * --workers 2` (leasing from their primary), and two instances on one PostgreSQL (one of them
 * with two workers). A client asking for more than its quota gets at least N tokens and at most
 * N plus one per process. Hourly windows, so a run does not straddle a window's end.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from './support/cli.js';
import { PostgresDeployment, workersListening } from './support/deployment.js';
import { startTesseraProcess, type TesseraProcess } from './support/instances.js';
import { postgresSkipReason } from './support/postgres.js';
import { tokenFrom } from './support/source-address.js';

/** One token request on a new connection (postFrom's), so the primary hands it to the next worker. */
async function tokenStatus(url: string, clientId: string, secret: string): Promise<number> {
  return (await tokenFrom('127.0.0.1', url, clientId, secret)).status;
}

async function issued(urls: string[], clientId: string, secret: string, requests: number) {
  let ok = 0;
  for (let i = 0; i < requests; i++) {
    const status = await tokenStatus(urls[i % urls.length]!, clientId, secret);
    assert.ok(status === 200 || status === 429, `status ${status}`);
    if (status === 200) ok += 1;
  }
  return ok;
}

describe('token quotas across the workers of one serve', () => {
  let dataDir: string;
  let server: TesseraProcess;
  const env = () => ({ TESSERA_DATA_DIR: dataDir });
  const create = async (quota: string) => {
    const created = await runCli(
      ['clients', 'create', '--name', 'q', '--token-quota', quota, '--json'],
      env(),
    );
    assert.equal(created.status, 0, created.stderr);
    return JSON.parse(created.stdout) as { client_id: string; client_secret: string };
  };

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tessera-quota-workers-'));
    await create('1/h'); // migrates the database before the server starts
    server = await startTesseraProcess(`sqlite:${join(dataDir, 'tessera.db')}`, {
      ...env(),
      TESSERA_WORKERS: '2',
    });
    await workersListening(server, 2);
  });

  after(async () => {
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('gives exactly 5 of 8 tokens for 5/h, spread over both workers', async () => {
    const client = await create('5/h');
    assert.equal(await issued([server.url], client.client_id, client.client_secret, 8), 5);
  });

  it('gives 40 to 42 of 60 tokens for 40/h (N, plus at most one per process)', async () => {
    const client = await create('40/h');
    const ok = await issued([server.url], client.client_id, client.client_secret, 60);
    assert.ok(ok >= 40 && ok <= 42, `issued ${ok}`);
  });
});

const skip = await postgresSkipReason();

describe('token quotas across instances on one PostgreSQL', { skip }, () => {
  let deployment: PostgresDeployment;
  let a: TesseraProcess;
  let b: TesseraProcess;

  before(async () => {
    deployment = await PostgresDeployment.create('token_quota');
    const env = (name: string, workers: number) =>
      deployment.env(name, { TESSERA_WORKERS: String(workers) });
    [a, b] = await Promise.all([
      startTesseraProcess(deployment.schema.url, env('a', 2)),
      startTesseraProcess(deployment.schema.url, env('b', 1)),
    ]);
    await workersListening(a, 2);
  });

  after(() => deployment?.close(a, b));

  const create = (quota: string) => deployment.createClient({ name: 'q', tokenQuota: quota });

  it('gives exactly 6 of 10 tokens for 6/h, asked alternately at both instances', async () => {
    const client = await create('6/h');
    assert.equal(await issued([a.url, b.url], client.clientId, client.clientSecret, 10), 6);
  });

  it('gives 60 to 63 of 90 tokens for 60/h over three processes', async () => {
    const client = await create('60/h');
    const ok = await issued([a.url, b.url], client.clientId, client.clientSecret, 90);
    assert.ok(ok >= 60 && ok <= 63, `issued ${ok}`);
  });
});
